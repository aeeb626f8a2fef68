"""Moved: reading results files is :mod:`archcalc.bench.records` (``load_runs`` is
:func:`~archcalc.bench.records.read_runs`), the summary is :func:`archcalc.report.bench.render_summary`.
Re-exported until every caller has switched."""

from ..report.bench import render_summary
from .records import latest_runs
from .records import read_runs as load_runs

__all__ = ["load_runs", "latest_runs", "render_summary"]
