"""``archcalc import``: a readable spec from a PyTorch model, verified against the live module."""

from __future__ import annotations

import argparse
import sys

from ..errors import ArchcalcError, escape_controls
from .common import emit, parse_assignments

HELP = "write the spec of a PyTorch model (traced, folded into blocks, checked against the live module)"
EPILOG = """\
examples:
  archcalc import torchvision.models:resnet50 -o resnet50_imported.yaml
  archcalc import mypkg.nets:Net --arg num_classes=10 --input 3,32,32
  archcalc import nets/unet.py:UNet --arg bilinear=true --input 1,256,256 --name "U-Net"

TARGET is package.module:callable or path/to/file.py:callable; the callable (a class or a factory)
is called with the --arg values (YAML scalars) and must return a torch.nn.Module. Importing TARGET
runs its code: import only code you trust.

The model is traced in eval mode with torch.fx (torch.export where fx fails), every operation is
mapped to a spec kind, residuals, concatenations and side heads are rebuilt from the graph, repeated
structure is folded into blocks with arguments and repeat:, and module paths become layer names.
Before anything is written the spec is analyzed and compared with the model: its parameter count,
its output shape, every row's shape and parameters, and every module's MACs against fvcore's count
(at a reduced input where the spec allows). An operation with no spec kind, or any disagreement, is
an error (exit status 2) and nothing is written. Needs the torch extra (torch and fvcore).
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help=HELP, description=HELP[0].upper() + HELP[1:] + ".", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("target", metavar="TARGET", help="package.module:callable or path/to/file.py:callable")
    p.add_argument("--input", default="3,224,224", type=_shape, metavar="C,H,W",
                   help="the input shape without the batch axis (default: 3,224,224; also C,L or C,D,H,W)")
    p.add_argument("--arg", action="append", default=[], metavar="NAME=VALUE[,...]",
                   help="keyword argument for the callable (repeatable), e.g. --arg num_classes=10")
    p.add_argument("--name", help="the spec's name (default: the callable's name)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of stdout")
    p.add_argument("--force", action="store_true", help="replace a write-protected output file")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    p.set_defaults(run=run)


def _shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(part) for part in text.replace("x", ",").split(","))
    except ValueError:
        shape = ()
    if not 1 <= len(shape) <= 4 or any(d < 1 for d in shape):
        raise argparse.ArgumentTypeError(f"expected 1 to 4 positive integers such as 3,224,224, got {text!r}")
    return shape


def run(args: argparse.Namespace) -> int:
    import importlib.util

    from ..fileio import check_output

    if args.output not in (None, "-"):
        check_output(args.output, force=args.force)  # fail before the (slow) import
    missing = [m for m in ("torch", "fvcore") if importlib.util.find_spec(m) is None]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise ArchcalcError(f"archcalc import needs {' and '.join(missing)}, which {verb} "
                            "not installed; install with: pip install 'archcalc[torch]'")
    from ..importer import import_spec, load_target

    kwargs: dict = {}
    for item in args.arg:
        kwargs.update(parse_assignments(item, "--arg"))
    model = load_target(args.target, kwargs)
    name = args.name or args.target.rpartition(":")[2]
    result = import_spec(model, input_shape=args.input, name=name, target=_described(args.target, kwargs))
    emit(result.text, args.output, force=args.force)
    if not args.quiet:
        v = result.verification
        where = "stdout" if args.output in (None, "-") else args.output
        print(escape_controls(
            f"archcalc import: {name} -> {where}: {result.lines} lines, {v.rows} rows ({result.method}); checked "
            f"{v.params:,} parameters, output {list(v.output_shapes[0])}, every module's MACs against fvcore at "
            f"{'x'.join(map(str, v.fvcore_input))}"), file=sys.stderr)
        for note in result.notes:
            print(escape_controls(f"archcalc import: note: {note}"), file=sys.stderr)
    return 0


def _described(target: str, kwargs: dict) -> str:
    if not kwargs:
        return target
    return f"{target}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"
