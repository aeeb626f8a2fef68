"""``archcalc plot graph``: the network diagram as SVG (archcalc's own writer), PNG or PDF (matplotlib).

No system binary is involved (no Graphviz): the layout follows the spec's structure
(:mod:`archcalc.diagram`).
"""

from __future__ import annotations

__all__ = ["add_graph_options", "run_graph", "HELP"]

import argparse
import sys

from .common import add_spec_options, emit, load_from_args, positive_int

HELP = "the network as a diagram: a box per layer or folded block, coloured by cost"
PNG_DPI = 150


def add_graph_options(c: argparse.ArgumentParser) -> None:
    c.add_argument("spec", help="path to a YAML spec")
    c.add_argument("--depth", type=positive_int, metavar="N",
                   help="fold blocks nested deeper than N levels into one box each, as `report --depth N` "
                        "(default: the deepest nesting whose drawing fits a report page)")
    c.add_argument("--unfold-all", action="store_true", help="unfold every block (the whole network, layer by layer)")
    c.add_argument("--color", choices=("macs", "params", "memory", "none"), default="macs",
                   help="colour each box by its multiply-adds (default), parameters, output memory (the bytes of "
                        "its outputs), or not")
    c.add_argument("--dtype", default="float32", help="activation element type, for --color memory (default float32)")
    c.add_argument("--batch", type=positive_int, default=1, metavar="N", help="batch size (default 1)")
    add_spec_options(c)


def run_graph(args: argparse.Namespace) -> int:
    from ..analysis import DTYPE_BYTES, analyze
    from ..diagram import network_diagram, render_svg
    from ..errors import ArchcalcError, Location
    from ..fileio import check_output
    from ..plots.style import figure_format

    fmt = figure_format(args.output)  # fail before any work on a bad extension or an unwritable -o
    check_output(args.output, force=args.force, inputs=[args.spec])
    if args.dtype not in DTYPE_BYTES:
        raise ArchcalcError(f"unknown dtype {args.dtype!r}; choose one of {', '.join(DTYPE_BYTES)}",
                            Location(file="--dtype"))
    spec = load_from_args(args.spec, args)
    analysis = analyze(spec, batch_size=args.batch, dtype=args.dtype)
    depth = None if args.unfold_all else args.depth if args.depth is not None else "auto"
    d = network_diagram(spec, analysis=analysis, depth=depth, color_by=args.color,
                        title="" if args.title is None else args.title)
    if fmt == "svg":
        from ..site.pages import standalone

        data: bytes = standalone(render_svg(d)).encode("utf-8")
    else:
        from ..diagram.figure import MAX_PIXELS, draw_diagram, png_dpi
        from ..plots.style import figure_bytes

        dpi = png_dpi(d, dpi=PNG_DPI) if fmt == "png" else PNG_DPI
        data = figure_bytes(draw_diagram(d), fmt, dpi=dpi)
        if dpi < PNG_DPI:
            print(f"archcalc plot graph: note: the diagram is {d.width} x {d.height} points, so the PNG is drawn at "
                  f"{dpi} dpi to stay within {MAX_PIXELS:,} pixels; an .svg or .pdf (or a smaller --depth) stays sharp",
                  file=sys.stderr)
    emit(data, args.output, force=args.force, inputs=[args.spec])
    return 0
