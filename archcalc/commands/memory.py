"""``archcalc memory``: will it fit? The memory of inference or of one training step, per batch size, and
the largest batch a device holds. Computing lives in :mod:`archcalc.memory`, rendering in
:mod:`archcalc.report.memory`."""

from __future__ import annotations

import argparse

from .common import add_spec_options, emit, load_from_args

HELP = "will it fit? inference or training-step memory per batch size, and the largest batch a GPU holds"
EPILOG = """\
examples:
  archcalc memory specs/resnet50.yaml                                   # inference, batches 1, 32, 256, H100
  archcalc memory specs/resnet50.yaml --mode training --optimizer adamw --precision bf16-mixed
  archcalc memory specs/vgg16.yaml --batch 1,64 --device-memory a100-40gb
  archcalc memory specs/convnext_tiny.yaml --mode training --device-memory 24GiB --format json

terms: weights (float32, or bfloat16 for --precision bfloat16); bf16-mixed adds autocast's bfloat16
copies of conv/linear weights. Inference: the activations' live peak, the input included (a tensor
is freed after its last use). Training: gradients, optimizer state (sgd none, momentum 1, adam/adamw
2 per parameter), the activations autograd keeps for backward, and the peak over the step's forward,
backward and optimizer step. The largest batch is found by bisection on the model; --context-memory
(default 512MiB) is kept free for the CUDA context. Not counted: cuDNN workspace, allocator rounding.
Devices: a size (80GiB, 24GB, 40960MiB) or h100, h100-80gb, h200, a100-40gb, a100-80gb, l4, t4, rtx4090.
"""


def _batches(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected batch sizes separated by commas, got {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"batch sizes must be positive integers, got {text!r}")
    return values


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ..memory.choices import Mode, Optimizer, Precision
    from ..options import values

    p = sub.add_parser("memory", help=HELP, description=HELP[0].upper() + HELP[1:] + ".", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", help="path to a YAML spec")
    p.add_argument("--batch", type=_batches, default=(1, 32, 256), metavar="N,N,...",
                   help="batch sizes to break down (default 1,32,256)")
    p.add_argument("--mode", default="inference", choices=values(Mode), help="inference (default) or training")
    p.add_argument("--optimizer", default="adamw", choices=values(Optimizer),
                   help="training: the optimizer whose state counts (default adamw)")
    p.add_argument("--precision", default="float32", choices=values(Precision),
                   help="float32 (default), bf16-mixed (autocast, float32 master weights) or bfloat16 (pure)")
    p.add_argument("--device-memory", default="h100", metavar="SIZE|GPU",
                   help="the device to fit: a size (80GiB, 24GB) or a GPU name (default h100); 'none' skips the fit")
    p.add_argument("--context-memory", default="512MiB", metavar="SIZE",
                   help="memory kept free for the CUDA context and allocator slack (default 512MiB)")
    p.add_argument("--format", "-f", default="table", choices=("table", "markdown", "json"),
                   help="output format (default: table)")
    p.add_argument("--raw", action="store_true", help="exact bytes instead of KB/MB/GB")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of stdout")
    p.add_argument("--force", action="store_true", help="replace a write-protected -o FILE")
    add_spec_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import ArchcalcError, Location
    from ..fileio import check_output
    from ..memory.devices import device_memory, parse_size
    from ..memory.study import memory_study
    from ..report.memory import render_memory

    output = {"output": args.output, "force": args.force, "inputs": [args.spec]}
    if args.output is not None:
        check_output(args.output, force=args.force, inputs=[args.spec])  # fail before any work
    device = None if args.device_memory.strip().lower() == "none" else device_memory(args.device_memory)
    context = parse_size(args.context_memory)
    if context is None:
        raise ArchcalcError(f"--context-memory: {args.context_memory!r} is not a size (512MiB, 1GiB, 0)",
                            Location(file="--context-memory"))
    spec = load_from_args(args.spec, args)
    study = memory_study(spec, batch_sizes=args.batch, mode=args.mode, optimizer=args.optimizer,
                         precision=args.precision, device=device, context_bytes=context)
    emit(render_memory(study, fmt=args.format, raw=args.raw), **output)
    return 0
