"""``archcalc plot``: charts as PNG, SVG or PDF (format from the output file's extension)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .common import add_param_option, add_spec_options, emit, load_from_args, param_overrides, positive_int, spec_paths
from .graph import HELP as GRAPH_HELP
from .graph import add_graph_options, run_graph

HELP = ("charts: per-layer profile, accuracy vs cost, scaling, roofline, throughput, network diagram, live memory, "
        "design-space sweep (PNG/SVG/PDF)")
EPILOG = """\
examples:
  archcalc plot layers specs/alexnet.yaml -o alexnet.png         # memory, params, MACs per layer
  archcalc plot layers specs/resnet152.yaml --weights-only -o r152.svg
  archcalc plot accuracy specs/ -o accuracy.svg                  # top-1 vs MACs, the whole zoo
  archcalc plot accuracy specs/ --x params --family ResNet --family EfficientNet -o acc.pdf
  archcalc plot accuracy specs/ --recipe improved -o acc_v2.png   # torchvision's newer recipes (V2 weights)
  archcalc plot scaling specs/efficientnet_b0.yaml -o scaling.png
  archcalc plot roofline specs/resnet50.yaml --device h100 --dtype bfloat16 --bench reports/bench/ -o roof.png
  archcalc plot throughput reports/bench/ -o throughput.png
  archcalc plot memory specs/resnet50.yaml --mode training --batch 32 -o mem.png   # live bytes, fwd + bwd
  archcalc plot graph specs/googlenet.yaml -o googlenet.svg      # the network, boxes coloured by MACs
  archcalc plot graph specs/resnet50.yaml --depth 3 --color memory -o r50.pdf
  archcalc plot sweep regnet.parquet -o regnet.png               # archcalc sweep results: MACs vs params, Pareto front
  archcalc plot sweep regnet.csv --y peak_activation_bytes --front lower --color 'depths[3]' -o live.svg

The image format follows the extension of -o (.png, .svg, .pdf). Charts have a white background.
Costs are archcalc's static counts; 1 MAC = 1 multiply-accumulate = 2 FLOPs.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot", help=HELP, description=HELP.capitalize() + ".", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    kinds = p.add_subparsers(dest="chart", metavar="CHART", required=True)

    def chart(name: str, help_text: str) -> argparse.ArgumentParser:
        c = kinds.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        c.add_argument("-o", "--output", metavar="FILE", required=True,
                       help="image file: .png, .svg or .pdf (replaced atomically, keeping its mode; the folder "
                            "must exist)")
        c.add_argument("--force", action="store_true", help="replace a write-protected -o FILE")
        c.add_argument("--title", help="replace the chart's title")
        c.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show Python tracebacks")
        return c

    c = chart("layers", "activation memory, parameters and multiply-adds per layer, side by side")
    c.add_argument("spec", help="path to a YAML spec")
    c.add_argument("--depth", type=positive_int, metavar="N", help="one bar per block at nesting level N")
    c.add_argument("--weights-only", action="store_true", help="only layers with multiply-adds (conv, linear)")
    c.add_argument("--max-rows", type=positive_int, default=40, metavar="N",
                   help="collapse deeper networks to at most N bars (default 40)")
    c.add_argument("--dtype", default="float32", help="activation element type (default float32)")
    c.add_argument("--batch", type=positive_int, default=1, metavar="N", help="batch size (default 1)")
    add_spec_options(c)

    c = chart("accuracy", "ImageNet accuracy against multiply-adds or parameters across specs")
    c.add_argument("specs", nargs="*", default=["specs"], metavar="SPEC|DIR", help="specs or directories (default specs/)")
    c.add_argument("--x", choices=("macs", "params"), default="macs", help="x axis (log scale; default macs)")
    c.add_argument("--y", choices=("top1", "top5"), default="top1", help="accuracy metric (default top1)")
    c.add_argument("--family", action="append", default=[], metavar="NAME",
                   help="only specs whose family: is NAME (repeatable, case-insensitive)")
    c.add_argument("--recipe", choices=("original", "improved"), default="original",
                   help="which training recipe's figure to plot where a spec records several: original (default: "
                        "the paper's figure or torchvision's IMAGENET1K_V1 weights) or improved (torchvision's newer "
                        "recipe, IMAGENET1K_V2 weights, where recorded); single-crop figures come first either way")
    c.add_argument("--labels", choices=("auto", "key", "all"), default="auto",
                   help="which points are named: key (the Pareto frontier and one label per family), all (every "
                        "name that fits without overlap), auto (default: all up to 40 points, else key)")

    c = chart("scaling", "multiply-adds and parameters under width, depth and resolution multipliers")
    c.add_argument("spec", help="path to a YAML spec")
    c.add_argument("--multipliers", metavar="M,M,...", type=_floats, default=None,
                   help="multipliers to evaluate (default 0.5,0.75,1,1.25,1.5,2,2.5,3)")
    add_param_option(c)

    c = chart("roofline", "each layer's arithmetic intensity against a GPU's compute and bandwidth ceilings")
    c.add_argument("spec", help="path to a YAML spec")
    c.add_argument("--device", default=None, help="h100 (default), h200 or a100; datasheet figures")
    c.add_argument("--dtype", default=None,
                   help="element type for bytes and the compute ceiling (default: the bench results' precision, "
                        "else float32)")
    c.add_argument("--batch", type=positive_int, default=1, metavar="N", help="batch size of the layer points (default 1)")
    c.add_argument("--bench", action="append", default=[], metavar="RESULTS",
                   help="archcalc bench JSON results (file or directory; repeatable): measured whole-model points")
    add_spec_options(c)

    c = chart("throughput", "measured images/s against batch size, per model and precision (bench results)")
    c.add_argument("results", nargs="+", metavar="RESULTS", help="archcalc bench JSON files or directories")

    c = chart("memory", "activation bytes alive at every layer: an inference pass, or a training step's forward "
                        "and backward")
    c.add_argument("spec", help="path to a YAML spec")
    c.add_argument("--batch", type=positive_int, default=1, metavar="N", help="batch size (default 1)")
    c.add_argument("--mode", choices=("inference", "training"), default="inference", help="default inference")
    c.add_argument("--optimizer", choices=("sgd", "momentum", "adam", "adamw"), default="adamw",
                   help="training: the optimizer whose state the subtitle counts (default adamw)")
    c.add_argument("--precision", choices=("float32", "bf16-mixed", "bfloat16"), default="float32",
                   help="float32 (default), bf16-mixed or bfloat16")
    add_spec_options(c)

    add_graph_options(chart("graph", GRAPH_HELP))

    c = chart("sweep", "archcalc sweep results: one cost against another, coloured by an axis, with the Pareto front")
    c.add_argument("results", metavar="RESULTS", help="a sweep's results file (.parquet or .csv)")
    c.add_argument("--x", default="macs", metavar="COLUMN", help="x axis, minimized by the front (default macs)")
    c.add_argument("--y", default="params", metavar="COLUMN", help="y axis (default params)")
    c.add_argument("--front", choices=("upper", "lower", "none"), default="upper",
                   help="upper (default): the most y for each x budget; lower: the least y; none")
    c.add_argument("--color", metavar="COLUMN", help="colour the points by this column (default: the first axis)")
    p.set_defaults(run=run)


def _floats(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError("multipliers must be positive")
    return values


def run(args: argparse.Namespace) -> int:
    if args.chart == "graph":
        return run_graph(args)
    from ..plots.style import figure_bytes, figure_format

    from ..fileio import check_output

    fmt = figure_format(args.output)  # fail before any work on a bad extension or an unwritable -o
    inputs = _inputs(args)
    check_output(args.output, force=args.force, inputs=inputs)
    fig = _CHARTS[args.chart](args)
    emit(figure_bytes(fig, fmt), args.output, force=args.force, inputs=inputs)
    return 0


def _inputs(args: argparse.Namespace) -> list[str]:
    """The files named on the command line (never written over); the specs and results in a directory."""
    named: list[str] = []
    for attr in ("spec", "specs", "results", "bench"):
        value = getattr(args, attr, None)
        named.extend([value] if isinstance(value, str) else value or [])
    out: list[str] = []
    for item in named:
        p = Path(item)
        if p.is_dir():
            out.extend(str(q) for q in sorted(p.iterdir()) if q.suffix in (".yaml", ".yml", ".json"))
        else:
            out.append(item)
    return out


def _layers(args: argparse.Namespace) -> Any:
    from ..analysis import DTYPE_BYTES, analyze
    from ..errors import ArchcalcError, Location
    from ..plots.layers import draw_layer_profile, layer_profile

    if args.dtype not in DTYPE_BYTES:
        raise ArchcalcError(f"unknown dtype {args.dtype!r}; choose one of {', '.join(DTYPE_BYTES)}",
                            Location(file="--dtype"))
    analysis = analyze(load_from_args(args.spec, args), batch_size=args.batch, dtype=args.dtype)
    profile = layer_profile(analysis, depth=args.depth, weights_only=args.weights_only, max_rows=args.max_rows)
    return draw_layer_profile(profile, title=args.title)


def _accuracy(args: argparse.Namespace) -> Any:
    from ..errors import ArchcalcError, Location
    from ..plots.accuracy import accuracy_chart, draw_accuracy
    from ..spec import load_spec

    specs = [load_spec(p) for p in spec_paths(args.specs)]
    chart = accuracy_chart(specs, x=args.x, y=args.y, families=args.family or None, recipe=args.recipe)
    if not chart.points:
        known = sorted({s.family for s in specs if s.family})
        raise ArchcalcError("no spec to plot: none has an ImageNet accuracy figure"
                            + (f" in family {', '.join(args.family)} (families: {', '.join(known)})" if args.family else ""),
                            Location(file=" ".join(args.specs)))
    return draw_accuracy(chart, title=args.title, labels=args.labels)


def _scaling(args: argparse.Namespace) -> Any:
    from ..plots.scaling import DEFAULT_MULTIPLIERS, draw_scaling, scaling_study
    study = scaling_study(args.spec, multipliers=args.multipliers or DEFAULT_MULTIPLIERS,
                          params=param_overrides(args))
    return draw_scaling(study, title=args.title)


def _roofline(args: argparse.Namespace) -> Any:
    from ..analysis import DTYPE_BYTES
    from ..errors import ArchcalcError, Location
    from ..plots.benchdata import load_measurements
    from ..plots.devices import get_device
    from ..plots.roofline import draw_roofline, roofline

    spec = load_from_args(args.spec, args)
    measured = load_measurements(args.bench) if args.bench else []
    mine = [m for m in measured if _same_spec(m, spec)]
    dtype = args.dtype or (mine[0].precision if mine and mine[0].precision in DTYPE_BYTES else "float32")
    if dtype not in DTYPE_BYTES:
        raise ArchcalcError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPE_BYTES)}",
                            Location(file="--dtype"))
    device_key = args.device or _device_key(mine[0].device_name if mine else "") or "h100"
    data = roofline(spec, device=get_device(device_key), dtype=dtype, batch_size=args.batch, measurements=mine)
    return draw_roofline(data, title=args.title)


def _same_spec(m: Any, spec: Any) -> bool:
    if m.spec_path and spec.path and Path(m.spec_path).name == Path(spec.path).name:
        return True
    return m.model == spec.name


def _device_key(name: str) -> str | None:
    for key in ("h200", "h100", "a100"):
        if key in name.lower():
            return key
    return None


def _throughput(args: argparse.Namespace) -> Any:
    from ..errors import ArchcalcError, Location
    from ..plots.benchdata import load_measurements
    from ..plots.throughput import draw_throughput, throughput_series

    series = throughput_series(load_measurements(args.results))
    if not series:
        raise ArchcalcError("no successful measurements (status ok) in these results",
                            Location(file=" ".join(args.results)))
    return draw_throughput(series, title=args.title)


def _memory(args: argparse.Namespace) -> Any:
    from ..analysis import analyze
    from ..memory.training import activation_dtype
    from ..plots.memory import draw_memory, memory_chart

    analysis = analyze(load_from_args(args.spec, args), batch_size=args.batch, dtype=activation_dtype(args.precision))
    chart = memory_chart(analysis, training=args.mode == "training", optimizer=args.optimizer,
                         precision=args.precision)
    return draw_memory(chart, title=args.title)


def _sweep(args: argparse.Namespace) -> Any:
    from ..plots.sweep import draw_sweep, sweep_chart
    from ..sweep.store import read_definition, read_results

    chart = sweep_chart(read_results(args.results), x=args.x, y=args.y, color=args.color, front=args.front,
                        definition=read_definition(args.results))
    return draw_sweep(chart, title=args.title)


_CHARTS = {"layers": _layers, "accuracy": _accuracy, "scaling": _scaling, "roofline": _roofline,
           "throughput": _throughput, "memory": _memory, "sweep": _sweep}
