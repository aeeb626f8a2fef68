"""``archcalc crosscheck``: every zoo spec agrees with its torch model and fvcore; disagreements,
unknown conventions and missing dependencies are reported, never hidden."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from archcalc import analyze, load_spec, parse_spec
from archcalc.cli import main

from conftest import SPECS, has_module, zoo_doc, zoo_resolution, zoo_specs, zoo_torch_spec

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

from archcalc.kinds import KINDS  # noqa: E402
from archcalc.report.crosscheck import render_table  # noqa: E402
from archcalc.torch import crosscheck as cc  # noqa: E402
from archcalc.torch import fvcore as fv  # noqa: E402

RESNET18 = str(SPECS / "resnet18.yaml")

# The zoo runs at the smallest input (of ZOO_TARGETS) at which the spec still analyzes with exactly
# the same rows (every layer, block and branch still exercised, each with a spatial extent >= 1;
# conftest.zoo_resolution, shared with tests/test_memory.py); specs that allow no smaller input (fixed
# crops, a final 7x7 pooling) run at their own. A few run at full resolution too (ZOO_FULL), so that the
# input each paper chose is checked as well.
ZOO_FULL = ("alexnet", "efficientnet_b0", "mobilenet_v2")

# The two networks of a thousand layers repeat one block hundreds of times, and each is a shallower zoo
# spec with a larger depth parameter and nothing else changed (checked below): cifar_resnet1202 is
# cifar_resnet20.yaml with n = 200, as cifar_resnet110 is with n = 18; preact_resnet1001 is
# preact_resnet164.yaml with n = 111. Every row of the sibling goes through the same builders, the same
# fvcore trace and the same rules in full here. For the deep one every row's output shape and parameter
# count is still compared (the whole model runs once), but fvcore, whose trace costs ~2 ms per row (15 s
# of CPU for these two, the longest of the zoo's tests), counts a representative sample of its modules
# (DEEP_SAMPLE; 2-3 % of their rows): everything outside the stages, and in each stage its first two
# blocks (the one that changes the shape, with its shortcut, and a plain one) and its last. Each sampled
# module is traced alone, on the input it received in the whole model, and every row in it must agree
# as in the full check.
DEEP = {"cifar_resnet1202": "cifar_resnet110", "preact_resnet1001": "preact_resnet164"}
DEEP_SAMPLE = (0, 1, -1)  # the blocks of each stage that fvcore counts


def spec_of(input_shape: list[int], layers: list[dict[str, Any]]) -> Any:
    return parse_spec(yaml.safe_dump({"name": "t", "input": input_shape, "layers": layers}, sort_keys=False))


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _under(name: str, roots: Any) -> bool:
    return any(name == r or name.startswith(r + ".") for r in roots)


def _assert_zoo_agrees(spec: Any, analysis: Any = None, *, counted: tuple[str, ...] | None = None) -> Any:
    """Shapes and parameters of every row; MACs of every row, or (``counted``) of every row in those
    modules' subtrees, whose MACs alone fvcore counted."""
    check = cc.crosscheck(spec, analysis=analysis, reference=False)
    assert check.shapes_ok, [r for r in check.shapes if not r.ok][:5]
    assert check.params_ok, [r for r in check.params if not r.ok][:5]
    if counted is None:
        assert check.flops_ok, render_table(check)
        flops = check.flops
    else:
        flops = tuple(r for r in check.flops if _under(r.name, counted))
        assert all(r.ok for r in flops), [r for r in flops if not r.ok][:5]
        assert not check.fvcore_outside_rows and not check.unsupported_outside_rows, \
            (check.fvcore_outside_rows, check.unsupported_outside_rows)
    # conv and linear rows agree with fvcore exactly: a rule may only name operators that do no arithmetic
    for row in flops:
        if row.type in ("conv", "conv_transpose", "linear"):
            assert row.fvcore == row.analyzer_macs and set(row.rules) <= {"explicit_padding", "channels_last"}, row
    return check, flops


def deep_sample(analysis: Any) -> tuple[str, ...]:
    """The modules fvcore counts in a deep network: each top-level row and group, except that a group of more
    than three blocks (a stage) gives its own leaf rows and the blocks DEEP_SAMPLE picks."""
    top = [r.name for r in (*analysis.layers, *analysis.groups) if "." not in r.name]
    roots: list[str] = []
    for name in top:
        blocks = [g.name for g in analysis.groups if g.name.startswith(name + ".") and "." not in g.name[len(name) + 1:]]
        if len(blocks) <= 3:
            roots.append(name)
            continue
        roots += [r.name for r in analysis.layers if r.name.startswith(name + ".") and "." not in r.name[len(name) + 1:]]
        roots += [blocks[i] for i in DEEP_SAMPLE]
    return tuple(dict.fromkeys(roots))


def sampled_counts(roots: tuple[str, ...]) -> Any:
    """fvcore's count_by_module for only the subtrees at ``roots``: each traced alone, on the input it gets in
    a forward pass of the whole model; the model's own count ("") is their sum."""
    count = fv.count_by_module

    def counts_of(model: Any, x: Any, names: list[str]) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
        inputs: dict[str, Any] = {}
        hooks = [model.get_submodule(r).register_forward_pre_hook(lambda m, args, r=r: inputs.setdefault(r, args[0]))
                 for r in roots]
        try:
            with torch.no_grad():
                model(x)
        finally:
            for h in hooks:
                h.remove()
        counts: dict[str, int] = {"": 0}
        unsupported: dict[str, dict[str, int]] = {"": {}}
        for root in roots:
            inner = [n[len(root) + 1:] for n in names if n.startswith(root + ".")]
            sub_counts, sub_unsupported = count(model.get_submodule(root), inputs[root], inner)
            counts.update({f"{root}.{k}" if k else root: v for k, v in sub_counts.items()})
            unsupported.update({f"{root}.{k}" if k else root: v for k, v in sub_unsupported.items()})
            counts[""] += sub_counts.get("", 0)
            for op, k in sub_unsupported.get("", {}).items():
                unsupported[""][op] = unsupported[""].get(op, 0) + k
        return counts, unsupported

    return counts_of


@pytest.mark.parametrize("example", [pytest.param(ex, id=f"{tag}-{i}" if i else tag) for tag in sorted(KINDS)
                                     for i, ex in enumerate(KINDS[tag].examples)])
def test_every_kind_example_agrees_with_torch_and_fvcore(example) -> None:
    """Each registered kind's examples, built, run and counted (a new kind is covered here at once)."""
    _assert_zoo_agrees(spec_of(list(example.input), [dict(example.entry)]))


@pytest.mark.parametrize("path", zoo_specs(), ids=lambda p: p.stem)
def test_zoo_crosscheck(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every zoo spec agrees with torch and fvcore, row by row: shapes, params, MACs.

    Reduced dimension: the input resolution is the smallest of ZOO_TARGETS at which the spec keeps
    every row (see :func:`conftest.zoo_resolution`); for networks ending in global pooling that leaves
    the parameters unchanged, for the others (VGG, AlexNet: flattened features) the first linear layer
    is smaller. Every layer's output shape, parameter count and MAC count is still compared (for the
    two networks of DEEP, the MACs of a representative sample of their repeated blocks: see above)."""
    spec, analysis = zoo_torch_spec(path)
    if path.stem not in DEEP:
        _assert_zoo_agrees(spec, analysis)
        return
    sibling = SPECS / f"{DEEP[path.stem]}.yaml"  # checked in full by this test
    doc, sibling_doc = zoo_doc(path), zoo_doc(sibling)
    assert sibling in zoo_specs() and set(doc.get("params") or {}) == {"n"} and not {"set", "scale", "input"} & set(doc)
    assert doc["extends"] in (sibling.name, sibling_doc.get("extends"))  # the sibling's definition, another depth
    roots = deep_sample(analysis)
    monkeypatch.setattr(fv, "count_by_module", sampled_counts(roots))
    check, counted = _assert_zoo_agrees(spec, analysis, counted=roots)
    assert {r.type for r in counted} == {r.type for r in check.flops}  # every kind of row is counted somewhere


@pytest.mark.parametrize("name", ZOO_FULL)
def test_zoo_crosscheck_full_resolution(name: str) -> None:
    """A few specs at the input their papers chose (asymmetric TensorFlow padding, ceil-mode and
    overlapping pooling at their real sizes); ResNet-18 is checked at full size with numbers below."""
    path = SPECS / f"{name}.yaml"
    assert zoo_resolution(path) is not None  # the zoo test ran it reduced: this one is not redundant
    _assert_zoo_agrees(load_spec(path))


def test_every_rule_is_named_and_explained() -> None:
    names = [r.name for r in fv.RULES]
    assert len(names) == len(set(names))
    assert all(r.explanation and "\n" not in r.explanation for r in fv.RULES)


def test_resnet18_full_resolution_numbers() -> None:
    spec = load_spec(RESNET18)
    check = cc.crosscheck(spec, reference=False)
    assert check.ok
    analysis = analyze(spec)
    assert check.params_total.torch == analysis.totals.params == 11_689_512
    # fvcore = MACs + eval batch norm (2 per element of every BN input) + adaptive_avg_pool2d (512*7*7 reads)
    bn = sum(2 * r.output_shape[0] * r.output_shape[1] * r.output_shape[2] for r in analysis.layers if r.type == "batchnorm")
    assert check.fvcore_total == analysis.totals.macs + bn + 512 * 7 * 7
    rules = check.rules_applied()
    assert rules["batchnorm_eval"] == (20, bn)
    assert rules["adaptive_avg_pool2d"] == (1, 25_088)  # 512*7*7


# --------------------------------------------------------------------------- failures are found and shown


def _fake_relu(layer: Any, ctx: Any) -> Any:
    """A 'relu' that is really a depthwise 1x1 convolution: C params and C*H*W MACs too many."""
    c = ctx.shape[0]
    return torch.nn.Conv2d(c, c, 1, groups=c, bias=False)


def test_a_wrong_module_fails_with_a_per_layer_diff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(KINDS["relu"], "build", _fake_relu)
    spec = spec_of([3, 6, 6], [{"name": "conv", "type": "conv", "out": 4, "kernel": 3}, {"name": "act", "type": "relu"}])
    check = cc.crosscheck(spec, reference=False)
    assert check.shapes_ok and not check.params_ok and not check.flops_ok and not check.ok
    bad = [r for r in check.flops if not r.ok]
    assert [(r.name, r.fvcore, r.expected) for r in bad] == [("act", 4 * 4 * 4, 0)]  # 4 channels * 4*4 positions
    text = render_table(check)
    assert "FAILED" in text and "act" in text and "+64" in text


def test_a_model_that_does_not_run_is_a_failure_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(KINDS["relu"], "build", lambda layer, ctx: torch.nn.Linear(5, 5))  # wants W = 5
    spec = spec_of([3, 6, 6], [{"name": "conv", "type": "conv", "out": 4, "kernel": 3}, {"name": "act", "type": "relu"}])
    check = cc.crosscheck(spec, reference=False)
    assert not check.ok and check.error.startswith("the forward pass failed in layer act: ")
    assert [r.name for r in check.shapes if not r.ok] == ["act"]  # conv ran and agreed
    assert "MACs     not compared" in render_table(check)


def test_an_unsupported_operator_no_rule_expects_fails() -> None:
    row = analyze(spec_of([3, 4, 4], [{"name": "c", "type": "conv", "out": 2, "kernel": 1}])).layers[0]
    flop = fv.flop_row(row, row.macs, {"aten::mysterious_op": 1})
    assert not flop.ok and flop.unexplained_ops == ("aten::mysterious_op",)
    assert fv.flop_row(row, row.macs, {"aten::pad": 1}).rules == ("explicit_padding",)


def test_batchnorm_without_affine_counts_one_per_element() -> None:
    spec = spec_of([2, 3, 3], [{"name": "bn", "type": "batchnorm", "affine": False}])
    check = cc.crosscheck(spec, reference=False)
    assert check.ok and check.fvcore_total == 2 * 3 * 3


# --------------------------------------------------------------------------- reference model


@pytest.fixture
def fakevision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A stand-in reference package whose factories return archcalc-built models (and variants)."""
    pkg = tmp_path / "fakevision"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "models.py").write_text(textwrap.dedent(f"""
        import torch
        import archcalc

        def _build(name):
            return archcalc.build_model(archcalc.load_spec({str(SPECS)!r} + "/" + name + ".yaml"))

        def resnet18(weights=None):
            assert weights is None
            return _build("resnet18")

        class WithAux(torch.nn.Module):
            def __init__(self, net):
                super().__init__()
                self.net = net
                self.aux = torch.nn.Linear(512, 10)  # a training-only head: never runs in eval

            def forward(self, x):
                return self.net(x)

        def resnet18_aux(weights=None):
            return WithAux(_build("resnet18"))

        def resnet34(weights=None):
            return _build("resnet34")
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    return "fakevision.models"


def test_reference_agrees(fakevision: str) -> None:
    analysis = analyze(load_spec(RESNET18))
    ref = cc.reference_check(f"{fakevision}.resnet18", analysis)
    assert ref.status == "ok", ref.reason
    assert ref.params == ref.params_total == 11_689_512
    assert ref.output_shape == (1000,)
    shapes = [s for _, s, _ in ref.stages]
    assert (64, 112, 112) in shapes and (512, 7, 7) in shapes and all(found for _, _, found in ref.stages)


def test_reference_unused_heads_are_not_compared(fakevision: str) -> None:
    ref = cc.reference_check(f"{fakevision}.resnet18_aux", analyze(load_spec(RESNET18)))
    assert ref.status == "ok" and ref.params_total == ref.params + 512 * 10 + 10


def test_reference_disagreement_is_a_failure(fakevision: str) -> None:
    ref = cc.reference_check(f"{fakevision}.resnet34", analyze(load_spec(RESNET18)))
    assert ref.status == "failed" and "params 21,797,672" in ref.reason


@pytest.mark.skipif(has_module("torchvision"), reason="torchvision is installed")
def test_reference_skipped_without_torchvision() -> None:
    ref = cc.reference_check("torchvision.models.resnet18", analyze(load_spec(RESNET18)))
    assert ref.status == "skipped" and ref.ok and "torchvision" in ref.reason


REFERENCED = [p for p in zoo_specs() if zoo_doc(p).get("reference_model")]


@pytest.mark.skipif(not has_module("torchvision"), reason="torchvision is not installed")
@pytest.mark.parametrize("path", REFERENCED, ids=lambda p: p.stem)
def test_zoo_matches_its_reference_model(path: Path) -> None:  # pragma: no cover - needs torchvision
    spec = load_spec(path)
    if spec.reference_model.split(".")[0] not in ("torchvision", "timm") or not has_module(spec.reference_model.split(".")[0]):
        pytest.skip(f"{spec.reference_model} is not importable")
    if ".detection." in spec.reference_model:
        pytest.skip("detection models are compared through the spec's references (num_params)")
    ref = cc.reference_check(spec.reference_model, analyze(spec))
    assert ref.status == "ok", ref.reason


# --------------------------------------------------------------------------- the command


def test_cli_table_and_exit_status(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(capsys, "crosscheck", RESNET18, "--resolution", "auto")
    assert code == 0
    assert out.startswith("ResNet-18 (") and ": OK" in out.splitlines()[0]
    assert "input resolution [64, 64]" in out and "batchnorm_eval" in out


def test_cli_json_and_output_file(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    target = tmp_path / "check.json"
    code, out, _ = run(capsys, "crosscheck", RESNET18, "--resolution", "32", "--format", "json", "-o", str(target))
    assert code == 0 and out == ""
    doc = json.loads(target.read_text())
    assert doc["ok"] and doc["input_shape"] == [3, 32, 32]
    assert doc["params"]["analyzer"] == doc["params"]["torch"] == 11_689_512
    assert doc["macs"]["fvcore"] == doc["macs"]["analyzer"] + sum(r["flops"] for r in doc["macs"]["rules"].values())


def test_cli_disagreement_exits_1(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(KINDS["relu"], "build", _fake_relu)
    path = tmp_path / "tiny.yaml"
    path.write_text("name: tiny\ninput: [3, 6, 6]\nlayers:\n  - {type: conv, out: 4, kernel: 3}\n  - {type: relu}\n")
    code, out, _ = run(capsys, "crosscheck", str(path))
    assert code == 1 and "FAILED" in out and "relu1" in out


def test_cli_without_torch_says_how_to_install(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cc, "missing_dependencies", lambda: ["fvcore"])
    code, out, err = run(capsys, "crosscheck", RESNET18)
    assert code == 2 and out == ""
    assert "fvcore" in err and "pip install 'archcalc[torch]'" in err and "Traceback" not in err


def test_cli_rejects_a_bad_resolution(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["crosscheck", RESNET18, "--resolution", "big"])
    assert exc.value.code == 2
    assert "positive integer or 'auto'" in capsys.readouterr().err


def test_fast_resolution_only_where_the_definition_is_unchanged() -> None:
    assert cc.fast_resolution(SPECS / "resnet50.yaml") == [64, 64]
    assert cc.fast_resolution(SPECS / "alexnet.yaml") is None  # fc6 reads 256*6*6: params depend on the input


# --------------------------------------------------------------------------- memory: refused up front, failures clean


# [3, 20000, 20000] -> one 3x3 conv to 4 channels -> global pool (the input of issue #9)
HUGE_LAYERS = [{"name": "conv", "type": "conv", "out": 4, "kernel": 3}, {"type": "global_avgpool"},
               {"type": "flatten"}]
# float32: params (4*3*3*3 + 4) * 4 = 448 B; input 3*20000*20000 * 4 = 4,800,000,000 B;
# activations at their live peak, while the pooling runs: the input (held to the end), conv's output
# 4*19998*19998 * 4 = 6,398,720,064 B (the pooling's input) and the pooled 4 * 4 = 16 B (flatten is a view);
# conv workspace (unfolded input) 3*3*3 * 19998*19998 * 4 = 43,191,360,432 B
HUGE_PEAK_BYTES = 448 + 4_800_000_000 + 6_398_720_064 + 16 + 43_191_360_432  # = 54,390,080,960
# 54,390,080,976 / 1024**3 = 50.65 GiB


@pytest.fixture
def small_machine(monkeypatch: pytest.MonkeyPatch) -> int:
    """The memory probe says this machine has 8 GiB available (nothing is allocated by the tests)."""
    from archcalc import memory

    size = 8 * 1024 ** 3
    monkeypatch.setattr(memory, "available_memory_bytes", lambda device="cpu": size)
    return size


def test_predicted_peak_of_a_huge_input() -> None:
    from archcalc.memory import conv_workspace_bytes, predicted_peak_bytes

    analysis = analyze(spec_of([3, 20000, 20000], HUGE_LAYERS))
    assert conv_workspace_bytes(analysis) == 43_191_360_432  # 27 * 19998**2 * 4
    assert predicted_peak_bytes(analysis) == HUGE_PEAK_BYTES


def test_a_network_too_large_for_the_machine_is_refused(small_machine: int) -> None:
    from archcalc.memory import MemoryLimitError

    with pytest.raises(MemoryLimitError, match=r"predicted peak 50\.65 GiB \(parameters \+ activations.*, batch 1\) "
                                               r"exceeds this machine's available memory 8\.00 GiB; --allow-large"):
        cc.crosscheck(spec_of([3, 20000, 20000], HUGE_LAYERS), reference=False)


def test_cli_refuses_before_torch_work_and_allow_large_gives_a_clean_error(
        capsys: pytest.CaptureFixture, tmp_path: Path, small_machine: int) -> None:
    """Refused with the prediction (exit 2); with --allow-large the real allocation is tried and its
    failure is a clean error too. The allowed input is [3, 2**22, 2**22] (211 TB of float32, beyond any
    address space), so the allocation fails at once and the test allocates nothing."""
    huge = tmp_path / "huge.yaml"
    huge.write_text(yaml.safe_dump({"name": "huge", "input": [3, 20000, 20000], "layers": HUGE_LAYERS}))
    code, out, err = run(capsys, "crosscheck", str(huge))
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.startswith(f"archcalc: error: {huge}: predicted peak 50.65 GiB") and "--allow-large" in err

    huger = tmp_path / "huger.yaml"
    huger.write_text(yaml.safe_dump({"name": "huger", "input": [3, 2 ** 22, 2 ** 22], "layers": HUGE_LAYERS}))
    code, out, err = run(capsys, "crosscheck", str(huger), "--allow-large")
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.startswith(f"archcalc: error: {huger}: building the torch model and its input ran out of memory: ")
    assert "can't allocate memory" in err and "predicted peak" in err


def test_running_out_of_memory_in_the_forward_pass_is_a_clean_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class Greedy(torch.nn.Module):
        def forward(self, x):
            raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 99 bytes")

    monkeypatch.setattr(KINDS["relu"], "build", lambda layer, ctx: Greedy())
    spec = spec_of([3, 6, 6], [{"name": "conv", "type": "conv", "out": 4, "kernel": 3}, {"name": "act", "type": "relu"}])
    with pytest.raises(cc.CrossCheckError, match="the forward pass ran out of memory: DefaultCPUAllocator"):
        cc.crosscheck(spec, reference=False)
