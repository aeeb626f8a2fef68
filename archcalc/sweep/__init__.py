"""Design-space sweeps: the costs of thousands to millions of variants of one spec (``archcalc sweep``).

>>> from archcalc.sweep import SweepDefinition, load_template, parse_grid, run_sweep
>>> template = load_template("specs/regnet_x_400mf.yaml")
>>> definition = SweepDefinition(spec_sha256=template.sha256, axes=(parse_grid("depths[2]=1..7"),))
>>> run = run_sweep(template=template, definition=definition, workers=0)
>>> [row["macs"] for row in run.rows]

* :mod:`.points`: axes, the definition, point ``i`` (grid or random sample, pure functions of the index);
* :mod:`.evaluate`: the spec read once, one row per point (an invalid point is a row with its error);
* :mod:`.where`: ``--where`` in the whitelisted expression language;
* :mod:`.execute`: in this process, a local process pool, or Dask's distributed scheduler;
* :mod:`.store`: chunks on disk, ``--resume``, the final Parquet or CSV file;
* :mod:`.run`, :mod:`.summary`: one sweep end to end, and its summary.

Nothing here imports pyarrow or dask until Parquet or a Dask scheduler is asked for.
"""

from __future__ import annotations

__all__ = ["Axis", "SweepDefinition", "parse_grid", "parse_range", "parse_scale_grid", "SpecTemplate",
           "load_template", "check_axes", "evaluate_points", "compile_where", "open_store", "read_results",
           "run_sweep", "SweepRun", "summarize", "render_summary", "column_kinds", "TOTALS"]

from .columns import TOTALS, column_kinds
from .evaluate import SpecTemplate, check_axes, evaluate_points, load_template
from .points import Axis, SweepDefinition, parse_grid, parse_range, parse_scale_grid
from .run import SweepRun, run_sweep
from .store import open_store, read_results
from .summary import render_summary, summarize
from .where import compile_where
