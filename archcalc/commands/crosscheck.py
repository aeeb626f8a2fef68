"""``archcalc crosscheck``: build each spec in torch, run it, count it with fvcore, compare every row."""

from __future__ import annotations

import argparse
import json

from ..errors import ArchcalcError
from .common import add_spec_options, emit, param_overrides, scale_overrides, spec_paths

HELP = "build the torch model of each spec and check shapes, params and MACs against a forward pass and fvcore"
EPILOG = """\
examples:
  archcalc crosscheck specs/resnet50.yaml
  archcalc crosscheck specs/ --resolution auto           # whole zoo, reduced inputs where allowed
  archcalc crosscheck specs/efficientnet_b0.yaml --format json -o check.json

For every analyzer row: the output shape of a real forward pass (CPU, batch 1, eval mode), the
module's parameter count, and fvcore's FlopCountAnalysis count. fvcore's conventions (batch norm,
adaptive average pooling and upsampling count; pooling, activations and additions are unsupported)
are reconciled by named rules; any difference no rule explains fails. When the spec names a
reference_model (torchvision.models.resnet50) and torchvision/timm is installed, its parameter
count and stage output shapes are compared too.

--resolution auto reduces spatial axes to 64 where the spec allows it (same output shape and
parameter count: the network ends in global pooling); --resolution N forces N.
Before torch is imported every spec is loaded and analyzed; a network whose predicted peak memory
(parameters + the activations alive at the peak, input included, + the largest convolution's
workspace, batch 1, float32) exceeds this machine's available memory is refused (--allow-large tries anyway).
Exit status: 0 everything agrees, 1 a disagreement, 2 an error (or torch/fvcore missing).
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("crosscheck", help=HELP, description=HELP.capitalize() + ".", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("specs", nargs="+", metavar="SPEC|DIR", help="spec files, or directories of *.yaml specs")
    p.add_argument("--format", "-f", default="table", choices=("table", "json"), help="output format (default: table)")
    p.add_argument("--resolution", default=None, metavar="N|auto", type=_resolution,
                   help="input resolution override: N for every spatial axis, or 'auto' (reduce to 64 where "
                        "the spec's output shape and parameters stay the same); default: the spec's own input")
    p.add_argument("--no-reference", action="store_true", help="skip the reference_model comparison")
    p.add_argument("--allow-large", action="store_true",
                   help="run even when the predicted memory (parameters + activations) exceeds this machine's")
    p.add_argument("--verbose", "-v", action="store_true", help="show every row's MAC comparison, not only failures")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of stdout")
    add_spec_options(p)
    p.set_defaults(run=run)


def _resolution(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer or 'auto', got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    from ..analysis import analyze
    from ..memory import check_fits
    from ..spec import load_spec
    from ..torch.crosscheck import INSTALL_HINT, fast_resolution, missing_dependencies

    resolution = args.resolution
    params = param_overrides(args) or {}
    scale = scale_overrides(args) or {}
    if "resolution" in scale and resolution is not None:
        raise ArchcalcError("give the resolution either in --scale or with --resolution, not both")
    # every spec is loaded, analyzed and sized first (static, no torch): a bad spec or a network
    # this machine cannot hold is reported in milliseconds, before torch is imported
    todo = []
    for path in spec_paths(args.specs):
        res = fast_resolution(path, params=params or None) if resolution == "auto" else resolution
        note = None
        if res is not None:
            note = f"input resolution {res}, not the spec's own (--resolution {args.resolution})"
        spec_scale = {**scale, "resolution": res} if res is not None else scale
        spec = load_spec(path, params=params or None, scale=spec_scale or None)
        analysis = analyze(spec, batch_size=1)
        if not args.allow_large:
            check_fits(analysis, device="cpu", path=str(path))
        todo.append((spec, analysis, note))
    missing = missing_dependencies()
    if missing:
        raise ArchcalcError(f"crosscheck needs {' and '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} "
                            f"not installed; install with: {INSTALL_HINT}")
    from ..report.crosscheck import render_table, to_dict
    from ..torch.crosscheck import crosscheck

    checks = [crosscheck(spec, analysis=analysis, reference=not args.no_reference, resolution_note=note,
                         allow_large=args.allow_large) for spec, analysis, note in todo]
    if args.format == "json":
        docs = [to_dict(c) for c in checks]
        text = json.dumps(docs[0] if len(docs) == 1 else docs, indent=2) + "\n"
    else:
        text = "\n".join(render_table(c, verbose=args.verbose) for c in checks)
        if len(checks) > 1:
            failed = [c.name for c in checks if not c.ok]
            text += f"\n{len(checks) - len(failed)}/{len(checks)} specs agree" + (
                f"; failed: {', '.join(failed)}\n" if failed else "\n")
    emit(text, args.output)
    return 0 if all(c.ok for c in checks) else 1
