"""``archcalc sweep``: the costs of a whole design space -- a grid or a random sample of a spec's variants.

The work is :mod:`archcalc.sweep`'s; this module reads the arguments, checks all of them before
anything is written, draws the progress bar (on a terminal only) and prints the summary to stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import TYPE_CHECKING

from ..analysis import DTYPE_BYTES
from .common import int_at_least, positive_int

if TYPE_CHECKING:  # pragma: no cover
    from ..sweep import SpecTemplate, SweepDefinition
    from ..sweep.store import ResultStore

HELP = "costs of a design space: a grid or random sample of a spec's params/scale, to Parquet or CSV"
EPILOG = """\
examples:
  # a grid: every combination (2 x 4 = 8 points), the rows as CSV on stdout
  archcalc sweep specs/resnet50.yaml --grid stride_on_3x3=true,false --scale-grid resolution=160..256:32
  # RegNet-style: stage depths and widths by list element, kept when under a budget, to Parquet
  archcalc sweep specs/regnet_x_400mf.yaml --grid 'depths[2]=1..8' --grid 'depths[3]=1..12' \\
      --grid 'widths[3]=256..512:16' --where "macs < 400e6 and params < 5e6" -o regnet.parquet
  # a random sample of 10,000 points (reproducible by --seed), on 2 processes
  archcalc sweep specs/regnet_x_400mf.yaml --sample 10000 --seed 1 --range 'depths[3]=1..16' \\
      --range 'widths[3]=128..640:8' --grid 'group_widths[3]=8,16,24' --workers 2 -o sample.parquet
  # compound scaling (EfficientNet), then continue after an interruption
  archcalc sweep specs/efficientnet_b0.yaml --scale-grid width=1.0,1.1,1.2,depth=1.0,1.2,1.4 -o eff.csv
  archcalc sweep specs/efficientnet_b0.yaml --scale-grid width=1.0,1.1,1.2,depth=1.0,1.2,1.4 -o eff.csv --resume
  # on a Dask cluster (its workers need archcalc installed), or a local one started for the sweep
  archcalc sweep specs/regnet_x_400mf.yaml --sample 1000000 --range 'depths[3]=1..16' \\
      --scheduler tcp://10.0.0.5:8786 -o million.parquet
  archcalc plot sweep regnet.parquet -o regnet.png          # MACs against params, the Pareto front

axes: NAME is a spec parameter (its `params:`), NAME[I] one element of a list parameter, or
scale_width, scale_depth, scale_resolution (--scale-grid is a shorthand for these). Values are YAML
scalars or lists ([32,64]); LO..HI:STEP includes HI when the steps reach it. --grid takes every
combination; with --sample N, each point draws every --grid axis from its values and every --range
axis uniformly (integers, or floats when a bound has a decimal point).

rows: point (the index: a grid's last axis varies fastest), one column per axis, error (empty when
the point analyzed; otherwise why it did not -- an invalid combination never stops the sweep),
params, macs, ops, pooling_ops, activation_bytes (output memory), peak_activation_bytes (live
peak), saved_bytes (kept for backward), receptive_field (the largest, in input pixels),
output_elements. --where keeps the points whose row satisfies it, in the spec language's
expressions (columns bare or as $name; no code is ever run); error rows are always kept.

files: -o FILE.parquet (needs pyarrow: pip install 'archcalc[sweep]') or FILE.csv; without -o, CSV
on stdout at the end. Chunks go to FILE.partial/ as they finish, so an interrupted sweep loses only
the chunks in flight; --resume computes the rest and refuses a different sweep. At the end the
chunks are joined into FILE (atomically) and FILE.partial/ is removed.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help=HELP, description=HELP[0].upper() + HELP[1:] + ".", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", help="path to a YAML spec")
    p.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2,...|LO..HI:STEP",
                   help="an axis and its values (repeatable)")
    p.add_argument("--scale-grid", action="append", default=[], metavar="width=...,depth=...,resolution=...",
                   help="compound-scaling axes: width and depth multipliers, input resolutions")
    p.add_argument("--sample", type=positive_int, metavar="N", help="N random points instead of the whole grid")
    p.add_argument("--seed", type=int, metavar="S", help="the random sample's seed (default 0)")
    p.add_argument("--range", action="append", default=[], metavar="NAME=LO..HI[:STEP]",
                   help="with --sample: an axis drawn uniformly from LO..HI (repeatable)")
    p.add_argument("--where", metavar="CONDITION", help='keep only the points that satisfy it, e.g. '
                   '"macs < 400e6 and params < 5e6"')
    p.add_argument("--workers", type=int_at_least(0), metavar="N",
                   help="processes (default: one per CPU; 0: in this process; with --scheduler local: Dask workers)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT|local",
                   help="run on a Dask distributed scheduler, or on a local Dask cluster started for the sweep")
    p.add_argument("--chunk-size", type=positive_int, metavar="N",
                   help="points per chunk and per task (default: about 16 tasks per worker, 16 to 1000 points)")
    p.add_argument("-o", "--output", metavar="FILE", help="results: FILE.parquet or FILE.csv (default: CSV on stdout)")
    p.add_argument("--resume", action="store_true", help="continue the interrupted sweep of -o FILE")
    p.add_argument("--batch", type=positive_int, default=1, metavar="N", help="batch size (default 1)")
    p.add_argument("--dtype", default="float32", choices=tuple(DTYPE_BYTES), help="activation element type "
                   "(default float32)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import Location, UsageError
    from ..sweep import SweepDefinition, check_axes, compile_where, load_template, parse_grid, parse_range
    from ..sweep import parse_scale_grid
    from ..sweep.evaluate import where_columns
    from ..sweep.points import MAX_POINTS
    from ..sweep.run import default_chunk_size
    from ..sweep.store import open_store, output_format

    def usage(option: str, message: str, hint: str | None = None) -> UsageError:
        return UsageError(message, Location(file=option), hint=hint)

    # every argument is checked before anything is read or written
    axes = [parse_grid(text) for text in args.grid]
    for text in args.scale_grid:
        axes.extend(parse_scale_grid(text))
    if args.range and args.sample is None:
        raise usage("--range", "draws random values: it needs --sample N", hint="or give the values with --grid")
    if args.seed is not None and args.sample is None:
        raise usage("--seed", "seeds a random sample: it needs --sample N")
    axes.extend(parse_range(text) for text in args.range)
    if not axes:
        raise usage("sweep", "nothing to sweep: give at least one --grid, --range or --scale-grid axis")
    if args.resume and not args.output:
        raise usage("--resume", "continues the sweep of -o FILE: give the same -o as before")
    if args.scheduler and args.scheduler != "local" and args.workers is not None:
        raise usage("--workers", "sizes the local pool (or --scheduler local); a remote scheduler has its own workers")
    if args.scheduler is not None and not args.scheduler.strip():
        raise usage("--scheduler", "is empty: give tcp://HOST:PORT or local")
    if args.output:
        output_format(args.output)  # the extension, and pyarrow for Parquet
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    template = load_template(args.spec)
    check_axes(template, axes)
    definition = SweepDefinition(spec_sha256=template.sha256, axes=tuple(axes), samples=args.sample,
                                 seed=args.seed or 0, where=args.where, batch_size=args.batch, dtype=args.dtype,
                                 spec=args.spec)
    if definition.size > MAX_POINTS:
        raise usage("--grid", f"{definition.size:,} points, more than the {MAX_POINTS:,} a sweep may have",
                    hint="sample the space with --sample N instead")
    if args.where is not None:
        compile_where(args.where, columns=where_columns(template, definition))
    chunk = args.chunk_size or default_chunk_size(definition.size, workers)
    store = None
    if args.output:
        store = open_store(args.output, definition=definition, chunk_size=chunk, resume=args.resume,
                           inputs=[args.spec])
    return _sweep(args, template, definition, store, chunk, workers)


def _sweep(args: argparse.Namespace, template: "SpecTemplate", definition: "SweepDefinition",
           store: "ResultStore | None", chunk: int, workers: int) -> int:
    from ..bench.progress import ProgressBar
    from ..sweep import read_results, render_summary, run_sweep, summarize
    from ..sweep.columns import column_kinds
    from ..sweep.store import encode_rows
    from .common import emit

    bar = ProgressBar(sys.stderr)
    started = time.monotonic()
    first: list[int] = []

    def progress(done: int, total: int) -> None:
        if not first:
            first.append(done)
        elapsed = time.monotonic() - started
        rate = (done - first[0]) / elapsed if elapsed > 0 else 0.0
        eta = f"ETA {_clock((total - done) / rate)}" if rate > 0 else "ETA -"
        bar(done, total, f"{rate:,.0f} points/s, {eta}")

    try:
        result = run_sweep(template=template, definition=definition, store=store, chunk_size=chunk,
                           workers=workers, scheduler=args.scheduler, progress=progress)
    except KeyboardInterrupt:
        bar.close()
        if store is not None:
            print(f"archcalc: sweep: the finished chunks are kept in {store.folder}/; continue with the same "
                  "command and --resume", file=sys.stderr)
        raise
    finally:
        bar.close()
    kinds = column_kinds(definition)
    if store is None:
        rows = result.rows or []
        emit(encode_rows(rows, kinds, "csv"), None)
        columns = {name: [row.get(name) for row in rows] for name in kinds}
    else:
        columns = read_results(args.output)
    where = ("Dask at " + args.scheduler) if args.scheduler and args.scheduler != "local" else \
        (f"local Dask cluster, {workers} workers" if args.scheduler else
         ("in this process" if workers == 0 else f"{workers} worker process{'es' if workers != 1 else ''}"))
    summary = summarize(columns, points=definition.size, axes=[a.name for a in definition.axes])
    text = render_summary(summary, seconds=result.seconds, computed=result.points, workers=where)
    if args.output:
        text += f"-> {args.output}\n"
    sys.stderr.write("".join(f"archcalc: sweep: {line}\n" if i == 0 else f"{line}\n"
                             for i, line in enumerate(text.splitlines())))
    return 0


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"
