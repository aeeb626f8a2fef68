"""``archcalc import`` against one fvcore analysis, same module, same run.

    python benchmarks/bench_import.py [--repeat N] [--threads T] [--device cpu|cuda]

For ResNet-50 and DenseNet-201 (torchvision's builders where torchvision imports, else the
transcriptions of them in ``tests/import_models.py``), at 3x224x224, batch 1, prints the median time of

* the whole import, ``archcalc.importer.import_spec(model, input_shape=...)``: trace (torch.fx, shapes on
  the meta device), map, rebuild the structure, fold, write the YAML, and verify it against the module
  (parameters, output shape, every row, every module's MACs against fvcore's count at a reduced input);
  and its two halves: the spec text (``structure_of``) and the verification (run as the import runs it,
  with the cyclic garbage collector paused, so that the halves add up to the whole);
* fvcore's ``FlopCountAnalysis(model, x).by_module()`` at the full input (the model built once,
  outside every timing), which is what the import's verification is compared with.

Goal (issue 12): the import, verification included, no slower than one fvcore analysis.
Exit status 1 if the goal is missed.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

SHAPE = (3, 224, 224)


def median_times(fns: list[Callable[[], Any]], repeat: int) -> list[float]:
    """The median time of each function, their runs interleaved (a busy machine slows them alike)."""
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, out in zip(fns, samples):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return [statistics.median(s) for s in samples]


def models() -> tuple[str, dict[str, Callable[[], Any]]]:
    try:
        import torchvision.models as tv

        return f"torchvision {__import__('torchvision').__version__}", {
            "resnet50": tv.resnet50, "densenet201": tv.densenet201}
    except ImportError:
        import import_models as M

        return "tests/import_models.py (torchvision's code, transcribed)", {
            "resnet50": M.resnet50, "densenet201": M.densenet201}


def fvcore_by_module(model: Any, x: Any) -> Any:
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(model, x)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    analysis.tracer_warnings("none")
    return analysis.by_module()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each (the median is printed)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--device", default="cpu", help="where the model lives (cpu, cuda)")
    args = parser.parse_args()

    warnings.filterwarnings("ignore", category=DeprecationWarning)  # torch.jit deprecation inside fvcore
    logging.getLogger("fvcore").setLevel(logging.ERROR)
    import torch

    from archcalc.gcpause import collection_paused
    from archcalc.importer import import_spec
    from archcalc.importer.core import structure_of
    from archcalc.importer.verify import verify

    if args.threads:
        torch.set_num_threads(args.threads)
    source, builders = models()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {args.device}, batch 1, input "
          f"{'x'.join(map(str, SHAPE))}; models from {source}; medians of {args.repeat} interleaved runs "
          "(one warm-up run of each first)\n")
    header = (f"{'model':12} {'rows':>5} {'lines':>6} {'import s':>9} {'= spec s':>9} {'+ verify s':>11} "
              f"{'fvcore s':>9} {'import/fvcore':>14}")
    print(header)
    print("-" * len(header))
    ok = True
    for name, build in builders.items():
        model = build().to(args.device).eval()
        x = torch.zeros((1, *SHAPE), device=args.device)
        result = import_spec(model, input_shape=SHAPE, name=name)  # warm-up (imports, caches)
        fvcore_by_module(model, x)
        found = structure_of(model, input_shape=SHAPE, name=name)

        def verification() -> Any:
            with collection_paused():  # as import_spec runs it
                return verify(found.text, top=found.top, mapping=found.mapping, model=model, input_shape=SHAPE)

        t_import, t_spec, t_verify, t_fvcore = median_times([
            lambda: import_spec(model, input_shape=SHAPE, name=name),
            lambda: structure_of(model, input_shape=SHAPE, name=name),
            verification,
            lambda: fvcore_by_module(model, x)], args.repeat)
        ratio = t_import / t_fvcore
        ok = ok and ratio <= 1.0
        print(f"{name:12} {result.verification.rows:>5} {result.lines:>6} {t_import:>9.3f} {t_spec:>9.3f} "
              f"{t_verify:>11.3f} {t_fvcore:>9.3f} {ratio:>13.2f}x")
    print(f"\ngoal: the import (trace, fold, verify, write) no slower than one fvcore analysis: "
          f"{'met' if ok else 'missed'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
