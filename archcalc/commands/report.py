"""``archcalc report``: the per-layer table of one spec."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..analysis import DTYPE_BYTES
from ..conventions import Convention
from .common import add_spec_options, emit, load_from_args, positive_int

HELP = "per-layer shapes, params, multiply-adds, other ops, activation memory and receptive field"
EPILOG = """\
examples:
  archcalc report specs/vgg16.yaml
  archcalc report specs/alexnet.yaml --style seed          # the lecture's AlexNet columns
  archcalc report specs/resnet50.yaml --depth 1            # one row per stage
  archcalc report specs/resnet50.yaml --format json -o resnet50.json
  archcalc report specs/efficientnet_b0.yaml --scale width=1.1,depth=1.2,resolution=240
  archcalc report specs/resnet50.yaml --format html -o resnet50.html   # one page, charts inline
  archcalc report --all specs/ -o reports/                  # regenerate the committed reports/

conventions (--convention): macs = multiply-accumulates (default); flops = 2 * macs;
seed = macs + pooling window reads, as the lecture tables print "Flops (M)".
Shapes exclude the batch axis; MACs, ops and memory are for the whole batch.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help=HELP, description=HELP.capitalize() + ".", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", nargs="?", help="path to a YAML spec (omit with --all)")
    p.add_argument("--all", metavar="DIR", dest="all_specs",
                   help="regenerate the reports tree for every spec in DIR (into -o, default reports/): "
                        "per-spec HTML and Markdown pages, the zoo summary and the charts")
    p.add_argument("--format", "-f", default="table",
                   choices=("table", "markdown", "csv", "json", "latex", "html"), help="output format (default: table)")
    p.add_argument("--style", default="default", choices=("default", "seed"),
                   help="column layout: default, or seed (Layer, C_in, H/W, Filters, K, S, P, C_out, H'/W', "
                        "Mem (KB), Param (k), Flops (M))")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write to FILE instead of stdout ('-': stdout); a regular file is replaced atomically "
                        "and keeps its mode; the folder must exist")
    p.add_argument("--force", action="store_true",
                   help="replace a write-protected -o FILE; with --all, replace or remove files in the reports "
                        "folder that archcalc did not write or that changed since")
    p.add_argument("--rebuild", action="store_true",
                   help="with --all, build every spec again (by default a spec is rebuilt only when it, its "
                        "extends: chain or archcalc changed since the last run)")
    p.add_argument("--depth", type=positive_int, metavar="N",
                   help="show N levels of nesting; deeper blocks collapse into subtotal rows")
    p.add_argument("--dtype", default="float32", choices=tuple(DTYPE_BYTES), help="activation element type (default float32)")
    p.add_argument("--batch", type=positive_int, default=1, metavar="N", help="batch size (default 1)")
    p.add_argument("--convention", default="macs", choices=[c.value for c in Convention],
                   help="headline cost: macs (default), flops (2*MACs) or seed (MACs + pooling)")
    p.add_argument("--raw", action="store_true", help="exact integers instead of K/M/G and KB/MB")
    p.add_argument("--no-cache", action="store_true",
                   help="compute the report even if the cache holds it (an output made before from the same spec "
                        "bytes, options and archcalc; ARCHCALC_CACHE=off turns the cache off, ARCHCALC_CACHE_DIR "
                        "moves it from ~/.cache/archcalc)")
    add_spec_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import ArchcalcError
    from ..fileio import check_output

    if args.all_specs:
        from .report_all import run_all

        return run_all(args)
    if not args.spec:
        raise ArchcalcError("give a spec to report on, or --all DIR for the whole reports tree")
    output = {"output": args.output, "force": args.force, "inputs": [args.spec]}
    if args.output is not None:
        check_output(args.output, force=args.force, inputs=[args.spec])  # fail before any work
    key = _cache_key(args)
    if key is not None:
        from .. import cache

        text = cache.lookup(key)
        if text is not None:
            emit(text, **output)
            return 0
        inputs = _inputs(args.spec)  # read before the spec is: a file changed meanwhile is a miss next time
    spec = load_from_args(args.spec, args)
    if args.format == "html":  # a self-contained page with the charts
        from ..site import single_page

        emit(single_page(spec, batch_size=args.batch, dtype=args.dtype, depth=args.depth, style=args.style,
                         convention=args.convention, raw=args.raw), **output)
        return 0
    from ..analysis import analyze
    from ..report import render_report

    analysis = analyze(spec, batch_size=args.batch, dtype=args.dtype)
    text = render_report(analysis, fmt=args.format, style=args.style, convention=args.convention,
                         depth=args.depth, raw=args.raw)
    if key is not None:
        cache.store(key, inputs, text)
    emit(text, **output)
    return 0


_NOT_IN_KEY = frozenset({"run", "command", "output", "force", "debug", "rebuild", "all_specs", "no_cache"})
"""Options that do not change the report's text."""


def _cache_key(args: argparse.Namespace) -> str | None:
    """The cache key of this report (see :mod:`archcalc.cache`), or None when it is not cached: the
    cache is off, or the format is html (its charts need matplotlib anyway)."""
    from .. import cache

    if args.format == "html" or not cache.enabled(args.no_cache):
        return None
    options = {k: v for k, v in vars(args).items() if k not in _NOT_IN_KEY}
    options["spec_resolved"] = os.path.abspath(args.spec)
    return cache.command_key("report", options)


def _inputs(spec: str) -> dict[str, str] | None:
    """The digests of the spec and its ``extends:`` chain; None when the chain cannot be read (loading says why)."""
    from ..cache import input_digests
    from ..errors import ArchcalcError
    from ..spec.extends import extends_files

    try:
        return input_digests(extends_files(Path(spec)))
    except (ArchcalcError, OSError, RecursionError, ValueError):
        return None
