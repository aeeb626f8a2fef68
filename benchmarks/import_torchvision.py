"""Import every torchvision classification builder and compare it with its zoo spec.

For each builder of ``torchvision.models`` (``list_models(module=torchvision.models)``): build it without
weights, run ``archcalc.importer.import_spec`` (trace, fold, verify against the module and fvcore),
and compare the imported spec's parameters and MACs with those of the zoo spec whose
``reference_model`` is that builder, at the zoo spec's input. Builders the spec language cannot
express (the transformers: attention is a matrix product) are listed with the importer's reason.

    python benchmarks/import_torchvision.py                    # all builders, CPU
    python benchmarks/import_torchvision.py --device cuda      # the GPU machine
    python benchmarks/import_torchvision.py --only resnet50,densenet201 --no-save
    python benchmarks/import_torchvision.py --unpacked-wheel /tmp/tv   # a CPU machine (see below)

On a machine whose torch is older than any torchvision wheel's (the CPU machines: torch 2.13,
torchvision 0.29 needs 2.14), ``--unpacked-wheel DIR`` imports torchvision from a downloaded wheel
unzipped in DIR (``pip download torchvision --no-deps -d W && unzip W/*.whl -d DIR``): the package
as released, except that ``torchvision._meta_registrations`` is not run. That module registers shape
functions for the compiled detection operators (nms, roi_align, ...), which this torch cannot load;
no classification builder calls them.

Writes ``reports/import/torchvision.md`` (the table) and ``reports/import/torchvision.json`` (every
figure, exact integers) unless ``--no-save``; prints the table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archcalc import analyze, load_spec, parse_spec  # noqa: E402
from archcalc.errors import ArchcalcError  # noqa: E402
from archcalc.fileio import write_atomic  # noqa: E402

# Builders whose default arguments add training-only parts: built the way their weights are.
BUILDER_ARGS: dict[str, dict[str, Any]] = {
    "googlenet": {"aux_logits": False, "init_weights": False},
    "inception_v3": {"aux_logits": False, "init_weights": False},
}


def use_unpacked_wheel(folder: Path) -> None:
    """Import torchvision from ``folder`` (an unzipped wheel), skipping ``torchvision._meta_registrations``."""
    import types

    if not (folder / "torchvision" / "__init__.py").is_file():
        raise SystemExit(f"{folder}: no torchvision/__init__.py (unzip the wheel there)")
    sys.path.insert(0, str(folder))
    sys.modules["torchvision._meta_registrations"] = types.ModuleType("torchvision._meta_registrations")


def zoo_by_reference() -> dict[str, Path]:
    """``resnet50`` -> ``specs/resnet50.yaml`` (the spec named like the builder wins over another
    spec with the same reference_model)."""
    found: dict[str, Path] = {}
    for path in sorted((ROOT / "specs").glob("*.yaml")):
        try:
            ref = load_spec(path).reference_model
        except ArchcalcError:
            continue
        if ref and ref.startswith("torchvision.models."):
            name = ref.rsplit(".", 1)[-1]
            if name not in found or path.stem == name:
                found[name] = path
    return found


def run_one(name: str, spec_path: Path | None, device: str) -> dict[str, Any]:
    import torch
    import torchvision
    import torchvision.models  # noqa: F401

    from archcalc.importer import import_spec

    row: dict[str, Any] = {"builder": name, "spec": spec_path.name if spec_path else None}
    shape = tuple(load_spec(spec_path).input_shape) if spec_path else (3, 224, 224)
    row["input"] = list(shape)
    try:
        model = torchvision.models.get_model(name, weights=None, **BUILDER_ARGS.get(name, {})).to(device)
    except Exception as exc:  # noqa: BLE001 - a builder that fails is a row of the table
        row.update(status="build failed", reason=f"{type(exc).__name__}: {exc}")
        return row
    t0 = time.perf_counter()
    try:
        result = import_spec(model, input_shape=shape, name=name, target=f"torchvision.models:{name}")
    except ArchcalcError as exc:
        row.update(status="not imported", seconds=time.perf_counter() - t0, reason=exc.message[:300])
        return row
    row["seconds"] = time.perf_counter() - t0
    mine = analyze(parse_spec(result.text))
    row.update(status="imported", method=result.method, lines=result.lines, rows=len(mine.layers),
               params=mine.totals.params, macs=mine.totals.macs, fvcore_input=list(result.verification.fvcore_input))
    if spec_path is not None:
        zoo = analyze(load_spec(spec_path))
        row.update(zoo_params=zoo.totals.params, zoo_macs=zoo.totals.macs,
                   agrees=(zoo.totals.params, zoo.totals.macs) == (mine.totals.params, mine.totals.macs))
    del model
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return row


def table(rows: list[dict[str, Any]], header: str) -> str:
    lines = [header, "",
             "| builder | zoo spec | input | status | tracer | lines | rows | params | MACs | zoo agrees | import s |",
             "|---|---|---|---|---|---:|---:|---:|---:|---|---:|"]
    for r in rows:
        shape = "x".join(map(str, r["input"]))
        if r["status"] == "imported":
            agrees = "-" if r.get("agrees") is None else ("yes" if r["agrees"] else
                                                           f"**no** (zoo {r['zoo_params']:,} / {r['zoo_macs']:,})")
            lines.append(f"| {r['builder']} | {r['spec'] or '-'} | {shape} | imported | {r['method']} | {r['lines']} | "
                         f"{r['rows']} | {r['params']:,} | {r['macs']:,} | {agrees} | {r['seconds']:.2f} |")
        else:
            reason = r.get("reason", "").replace("|", "/")
            lines.append(f"| {r['builder']} | {r['spec'] or '-'} | {shape} | {r['status']}: {reason} | | | | | | | |")
    imported = [r for r in rows if r["status"] == "imported"]
    compared = [r for r in imported if r.get("agrees") is not None]
    lines += ["", f"{len(imported)}/{len(rows)} builders imported and verified; {sum(r['agrees'] for r in compared)}/"
                  f"{len(compared)} of those with a zoo spec have its exact parameters and MACs."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="where the models are built and run (cpu, cuda)")
    parser.add_argument("--only", help="comma-separated builders")
    parser.add_argument("--no-save", action="store_true", help="print only")
    parser.add_argument("--out", default=str(ROOT / "reports" / "import"), help="folder for torchvision.md/.json")
    parser.add_argument("--note", default="", help="a sentence for the report's header (how torchvision was installed)")
    parser.add_argument("--unpacked-wheel", metavar="DIR",
                        help="import torchvision from this unzipped wheel, without its meta registrations of the "
                             "compiled operators (for a torch older than the wheel needs)")
    args = parser.parse_args(argv)
    if args.unpacked_wheel:
        use_unpacked_wheel(Path(args.unpacked_wheel))

    import torch
    import torchvision
    import torchvision.models  # noqa: F401 - the package may not import its subpackages itself

    names = sorted(torchvision.models.list_models(module=torchvision.models))
    if args.only:
        wanted = set(args.only.split(","))
        names = [n for n in names if n in wanted]
    zoo = zoo_by_reference()
    rows = []
    for name in names:
        row = run_one(name, zoo.get(name), args.device)
        rows.append(row)
        print(f"{name}: {row['status']}" + (f" ({row.get('reason', '')[:120]})" if row["status"] != "imported" else
                                            f", agrees with the zoo: {row.get('agrees')}"), file=sys.stderr, flush=True)
    device = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU"
    header = (f"# torchvision builders imported by `archcalc import`\n\ntorchvision {torchvision.__version__}, "
              f"torch {torch.__version__}, models built and counted on {device}. Each import is verified against "
              "its module (parameters, output shape, every module's MACs against fvcore); the zoo spec is the one "
              "whose `reference_model` is the builder, compared at its own input."
              + (f" {args.note}" if args.note else ""))
    text = table(rows, header)
    print(text)
    if not args.no_save:
        out = Path(args.out)
        write_atomic(out / "torchvision.md", text)
        write_atomic(out / "torchvision.json", json.dumps({"torchvision": torchvision.__version__,
                                                           "torch": torch.__version__, "device": device,
                                                           "rows": rows}, indent=2) + "\n")
    return 0 if all(r.get("agrees", True) for r in rows if r["status"] == "imported") else 1


if __name__ == "__main__":
    sys.exit(main())
