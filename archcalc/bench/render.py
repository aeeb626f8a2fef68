"""Moved to :mod:`archcalc.report.bench`; re-exported until every caller has switched."""

from ..report.bench import BENCH_FORMATS, CSV_COLUMNS, bench_rows, ms_text, render_bench

__all__ = ["BENCH_FORMATS", "render_bench", "bench_rows", "CSV_COLUMNS", "ms_text"]
