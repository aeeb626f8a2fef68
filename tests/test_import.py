"""``archcalc import``: PyTorch models -> readable specs, exact by construction.

* The whole zoo round-trips: ``import(build_model(spec))`` analyzes identically to ``spec``, row by row
  (shapes, parameters, MACs, ops), and every imported row is checked against the node it came from.
  The models are built on the meta device (no weights), so this covers archcalc's own container
  classes through tracing and costs about a second per spec.
* Hand-written models in the styles real code uses (``tests/import_models.py``: torchvision's ResNet,
  MobileNetV2, DenseNet, ShuffleNetV2, GoogLeNet's inception, ConvNeXt, a functional squeeze-excite,
  U-Nets, an auxiliary head, a plain Sequential) import with the full verification, fvcore included,
  and the torchvision transcriptions give their zoo spec's totals.
* Bad targets and models the spec language cannot say are clean errors (exit status 2) that write
  nothing; a spec that disagrees with its model is refused.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from archcalc import analyze, load_spec, parse_spec
from archcalc.cli import main

from conftest import ROOT, has_module, zoo_analysis, zoo_spec, zoo_specs

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

import import_models as M  # noqa: E402 - after the torch skip

from archcalc.importer import ImportModelError, UnmappedError, VerificationError, import_spec  # noqa: E402
from archcalc.importer.core import structure_of  # noqa: E402
from archcalc.importer.verify import verify  # noqa: E402
from archcalc.torch.build import build_model  # noqa: E402

MODELS = Path(M.__file__)
needs_fvcore = pytest.mark.skipif(not has_module("fvcore"), reason="fvcore is not installed")


def rows(analysis: Any) -> list[tuple]:
    """Every leaf row's numbers (a global average pool is the same row whether written as an adaptive one)."""
    def kind(t: str) -> str:
        return "global_avgpool" if t == "adaptive_avgpool" else t
    return [(kind(r.type), r.input_shape, r.output_shape, r.params, r.macs, r.ops) for r in analysis.layers]


def doc(text: str) -> dict[str, Any]:
    return yaml.safe_load(text)


def uses(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in entries}


# --------------------------------------------------------------------------- the zoo, round trip


DETECTION_KINDS = {"tap", "fpn", "levels", "per_proposal", "proposals", "detections", "roi_align", "roi_pool",
                   "frozen_batchnorm"}
"""Kinds the importer has no mapping for (detection networks: named tensors, RoI ops, per-proposal sections)."""


@pytest.mark.parametrize("path", zoo_specs(), ids=lambda p: p.stem)
def test_zoo_round_trip(path: Path) -> None:
    # load_spec(path) and analyze() of it, shared with the other zoo tests of this process (only read here)
    spec, original = zoo_spec(path), zoo_analysis(path)
    if any(r.type in DETECTION_KINDS for r in (*original.layers, *original.groups)):
        pytest.skip("the importer maps no detection kinds (named tensors, RoI ops, per-proposal sections)")
    model = build_model(spec, analysis=original, device="meta")
    found = structure_of(model, input_shape=spec.input_shape, name=spec.name)
    imported = analyze(parse_spec(found.text))
    assert rows(imported) == rows(original)
    assert (imported.totals.params, imported.totals.macs, imported.totals.ops) == (
        original.totals.params, original.totals.macs, original.totals.ops)
    # and every row against the node of the built model it came from (kind, shape, parameters)
    checked = verify(found.text, top=found.top, mapping=found.mapping, model=model,
                     input_shape=tuple(spec.input_shape), analysis=imported, count_macs=False)
    assert checked.params == original.totals.params


# --------------------------------------------------------------------------- hand-written models, fully verified


def imported(model: Any, shape: tuple[int, ...], name: str = "t") -> Any:
    return import_spec(model, input_shape=shape, name=name)


def assert_zoo_totals(text: str, zoo: str) -> None:
    mine = analyze(parse_spec(text))
    theirs = zoo_analysis(ROOT / "specs" / f"{zoo}.yaml")  # analyze(load_spec(...)), once per process
    assert (mine.totals.params, mine.totals.macs) == (theirs.totals.params, theirs.totals.macs)
    assert mine.output_shape == theirs.output_shape


@needs_fvcore
def test_resnet50_reads_as_stem_four_stages_and_head() -> None:
    result = imported(M.resnet50(), (3, 224, 224), "ResNet-50")
    assert result.method == "torch.fx"
    assert result.lines < 60  # torchvision's ResNet-50 has 175 rows
    spec = doc(result.text)
    assert list(spec["blocks"]) == ["bottleneck"]
    block = spec["blocks"]["bottleneck"]["layers"][0]
    assert (block["type"], block["shortcut"], block["activation"]) == ("residual", "projection", "relu")
    assert [b["name"] for b in block["body"]] == ["conv1", "bn1", "relu", "conv2", "bn2", "relu_2", "conv3", "bn3"]
    stages = uses(spec["layers"])
    assert [stages[f"layer{i}"]["repeat"] for i in (1, 2, 3, 4)] == [3, 4, 6, 3]
    assert [e["name"] for e in spec["layers"]][:4] == ["conv1", "bn1", "relu", "maxpool"]
    assert_zoo_totals(result.text, "resnet50")
    v = result.verification
    assert v.params == 25_557_032 and v.output_shapes == ((1000,),)
    assert v.fvcore_input == (3, 32, 32) and set(v.rules) == {"batchnorm_eval", "adaptive_avg_pool2d"}
    header = " ".join(line[2:] for line in result.text.splitlines() if line.startswith("# "))
    assert header.startswith("ResNet-50: imported from an instance of ResNet by `archcalc import` (torch.fx")
    assert "25,557,032 parameters (all of them), output [1000], 175 rows" in header
    assert "fvcore 85,914,624 = the spec's 85,458,944 MACs + the named rules" in header  # at 32x32


@needs_fvcore
@pytest.mark.parametrize("factory, zoo, shape", [
    (M.resnet18, "resnet18", (3, 224, 224)),
    (M.resnext50_32x4d, "resnext50_32x4d", (3, 224, 224)),
    (M.mobilenet_v2, "mobilenet_v2", (3, 224, 224)),
    (M.densenet121, "densenet121", (3, 224, 224)),
    (M.shufflenet_v2_x1_0, "shufflenet_v2_x1_0", (3, 224, 224)),
    (M.convnext_tiny, "convnext_tiny", (3, 224, 224)),
], ids=lambda x: x if isinstance(x, str) else None)
def test_torchvision_transcriptions_give_their_zoo_totals(factory: Any, zoo: str, shape: tuple[int, ...]) -> None:
    result = imported(factory(), shape, zoo)
    assert_zoo_totals(result.text, zoo)
    assert result.lines < 100


def test_mobilenet_v2_folds_use_res_connect_into_optional_shortcuts() -> None:
    spec = doc(structure_of(M.mobilenet_v2(), input_shape=(3, 64, 64)).text)
    block = spec["blocks"]["inverted_residual"]["layers"][0]
    assert block["shortcut"] == "optional"  # stride-2 and widening blocks have no addition; the others add
    runs = [e for e in spec["layers"][0]["layers"] if e.get("use") == "inverted_residual"]
    assert [(e["name"], e.get("repeat")) for e in runs][:3] == [("_2-3", 2), ("_4-6", 3), ("_7-10", 4)]


@needs_fvcore
def test_densenet_concatenation_of_a_feature_list() -> None:
    spec = doc(imported(M.densenet_small(drop_rate=0.1), (3, 32, 32)).text)
    layer = spec["blocks"]["dense_layer"]["layers"][0]
    assert layer["type"] == "concat" and layer["branches"][0] == []  # the identity: the features so far
    assert [b["name"] for b in layer["branches"][1]["layers"]][-1] == "dropout"  # F.dropout in the forward
    found = uses(spec["layers"][0]["layers"])
    assert (found["denseblock1"]["repeat"], found["denseblock2"]["repeat"]) == (2, 3)


@needs_fvcore
def test_inception_module_is_a_concat_of_four_named_branches() -> None:
    spec = doc(imported(M.InceptionNet(), (3, 64, 64)).text)
    block = spec["blocks"]["inception"]["layers"][0]
    assert block["type"] == "concat"
    assert [b["name"] for b in block["branches"]] == ["branch1", "branch2", "branch3", "branch4"]


@needs_fvcore
def test_functional_squeeze_excite_is_a_multiplicative_join() -> None:
    spec = doc(imported(M.SENet(), (3, 32, 32)).text)
    block = next(iter(spec["blocks"].values()))["layers"][0]
    assert (block["type"], block["activation"]) == ("residual", "relu")
    gate = block["body"][-1]
    assert (gate["type"], gate["join"]) == ("residual", "multiply")
    assert [b["type"] for b in gate["body"]] == ["global_avgpool", "conv", "relu", "conv", "sigmoid"]


@needs_fvcore
def test_convnext_block_permute_layernorm_linear_layer_scale() -> None:
    spec = doc(imported(M.convnext_small_test(), (3, 64, 64)).text)
    block = spec["blocks"]["cn_block"]["layers"][0]
    kinds = [(b["type"], b.get("per_position")) for b in block["body"][0]["layers"]]
    assert kinds == [("conv", None), ("layernorm", None), ("linear", True), ("gelu", None), ("linear", True)]
    assert block["body"][0]["layers"][0]["groups"] == "depthwise"
    assert block["body"][1] == {"name": "layer_scale", "type": "layer_scale"}  # init 1e-6, the default


@needs_fvcore
@pytest.mark.parametrize("bilinear", [False, True])
def test_unet_skip_concatenations(bilinear: bool) -> None:
    result = imported(M.UNet(bilinear=bilinear), (3, 64, 64))
    assert result.verification.output_shapes == ((2, 64, 64),)
    assert result.text.count("type: concat") == 3  # one per decoder stage, each nested in the previous
    assert ("type: upsample" in result.text) == bilinear
    assert ("type: conv_transpose" in result.text) != bilinear


@needs_fvcore
def test_auxiliary_head_is_a_side_output() -> None:
    result = imported(M.AuxHeadNet(), (3, 32, 32))
    spec = doc(result.text)
    side = uses(spec["layers"])["aux"]
    assert side["type"] == "side" and [e["type"] for e in side["layers"]] == ["global_avgpool", "flatten", "linear"]
    assert [e["name"] for e in spec["layers"]].index("aux") == 2  # after stage2, where it leaves the main path
    assert sorted(result.verification.output_shapes) == [(10,), (10,)]


@needs_fvcore
def test_plain_sequential_keeps_its_numbered_children() -> None:
    spec = doc(imported(M.plain_sequential(), (3, 32, 32)).text)
    assert [e["name"] for e in spec["layers"]] == [f"_{i}" for i in range(9)]
    assert [e["type"] for e in spec["layers"]] == ["conv", "relu", "maxpool", "conv", "relu", "maxpool", "flatten",
                                                   "dropout", "linear"]


@needs_fvcore
def test_padding_and_reshape_patterns() -> None:
    spec = doc(imported(M.Patterns(), (3, 16, 16)).text)
    layers = uses(spec["layers"])
    assert layers["conv1"]["padding"] == [[0, 1], [0, 1]]  # F.pad before it
    assert layers["conv2"]["padding"] == [[0, 1], [0, 1]]  # nn.ZeroPad2d before it
    assert [e["type"] for e in spec["layers"]][-3:] == ["maxpool", "flatten", "linear"]  # x.view(x.size(0), -1)


@needs_fvcore
def test_output_is_deterministic() -> None:
    first = imported(M.resnet18(num_classes=10), (3, 32, 32)).text
    torch.manual_seed(1)
    model = M.resnet18(num_classes=10)  # other weights, same bytes
    assert first == imported(model, (3, 32, 32)).text
    assert first.endswith(structure_of(model, input_shape=(3, 32, 32), name="t").text)  # the header comes first


@needs_fvcore
def test_fx_failure_falls_back_to_torch_export() -> None:
    result = imported(M.ShapeDependent(), (3, 32, 32))
    assert result.method == "torch.export"
    header = " ".join(line[2:] for line in result.text.splitlines() if line.startswith("# "))
    assert "(torch.export (torch.fx could not trace it))" in header
    assert "could not trace" in result.notes[0] and "import_models.py" in result.notes[0]  # fx's reason, with the line
    assert [e["type"] for e in doc(result.text)["layers"]] == ["conv", "relu", "maxpool", "flatten"]


TORCHVISION = ["resnet50", "mobilenet_v3_large", "efficientnet_b0", "densenet121", "googlenet", "inception_v3",
               "convnext_tiny", "regnet_y_400mf", "shufflenet_v2_x1_0", "squeezenet1_0", "vgg11_bn", "mnasnet1_0"]


@needs_fvcore
@pytest.mark.skipif(not has_module("torchvision"), reason="torchvision is not installed")
@pytest.mark.parametrize("builder", TORCHVISION)
def test_torchvision_builders_give_their_zoo_totals(builder: str) -> None:
    # every builder: python benchmarks/import_torchvision.py (the table in reports/import/)
    import torchvision.models as tv

    extra = {"aux_logits": False, "init_weights": False} if builder in ("googlenet", "inception_v3") else {}
    spec = load_spec(ROOT / "specs" / f"{'googlenet_torchvision' if builder == 'googlenet' else builder}.yaml")
    assert spec.reference_model == f"torchvision.models.{builder}"
    result = import_spec(tv.get_model(builder, weights=None, **extra), input_shape=spec.input_shape, name=builder)
    mine, theirs = analyze(parse_spec(result.text)), analyze(spec)
    assert (mine.totals.params, mine.totals.macs) == (theirs.totals.params, theirs.totals.macs)


def test_training_flags_are_restored() -> None:
    model = M.resnet18()
    model.layer1.train(False)
    structure_of(model, input_shape=(3, 32, 32))
    assert model.training and not model.layer1.training and model.layer2.training


# --------------------------------------------------------------------------- arguments and expressions


def test_relations_between_a_fields_values_and_an_arguments() -> None:
    from archcalc.importer.arguments import relation

    mid = [64, 64, 128, 256, 512]
    assert relation([64, 64, 128, 256, 512], mid, "mid") == "$mid"
    assert relation([256, 256, 512, 1024, 2048], mid, "mid") == "4 * $mid"  # a bottleneck's expansion
    assert relation([16, 16, 32, 64, 128], mid, "mid") == "$mid // 4"
    assert relation([96, 144, 192], [16, 24, 32], "in_channels") == "$in_channels * 6"  # MobileNetV2 expansion
    assert relation([0, 1, 3], [1, 3, 7], "kernel", key="padding", ref_key="kernel") == "($kernel - 1) // 2"
    assert relation([32, 64], [64, 128], "out") is None  # two values: a ratio of 2 may be chance
    assert relation([32, 64, 128], [64, 128, 300], "out") is None
    assert relation([1.0, 2.0, 3.0], [1, 2, 3], "x") is None  # floats are arguments, never ratios


def test_repeat_copies_growing_by_a_step() -> None:
    from archcalc.importer.arguments import linear_in_index

    assert linear_in_index([2, 5, 8, 11]) == "2 + 3 * $repeat_index"
    assert linear_in_index([0.0, 0.1 / 17, 0.2 / 17, 0.1 * 3 / 17]) == "0.00588235294118 * $repeat_index"
    assert linear_in_index([1, 2, 4]) is None and linear_in_index([3, 3, 3]) is None and linear_in_index([1, 2]) is None


def test_argument_types_and_defaults() -> None:
    from archcalc.importer.arguments import arg_type, default_of

    assert [arg_type("out", [1, 2]), arg_type("stride", [1, 2]), arg_type("p", [0.1, 0.2]),
            arg_type("groups", [1, "depthwise"])] == ["channels", "int", "float", "any"]
    assert default_of([1, 1, 1, 2]) == (True, 1)
    assert default_of([64, 128, 256, 64]) == (False, None)  # no value most uses share


# --------------------------------------------------------------------------- refusals


@needs_fvcore
def test_unused_parameters_are_a_disagreement_that_names_the_module() -> None:
    with pytest.raises(VerificationError, match=r"the spec has 314 parameters, the model 404.*never reads: aux \(90\)"):
        imported(M.UnusedHead(), (3, 16, 16))


def test_a_spec_that_disagrees_with_its_model_is_refused() -> None:
    model = M.resnet18(num_classes=10)
    found = structure_of(model, input_shape=(3, 32, 32))
    bad_kernel = found.text.replace("kernel: 7", "kernel: 5")
    with pytest.raises(VerificationError, match=r"row conv1 gives \[64, 17, 17\]"):
        verify(bad_kernel, top=found.top, mapping=found.mapping, model=model, input_shape=(3, 32, 32), count_macs=False)
    bad_bias = found.text.replace("{name: fc, type: linear, out: 10}", "{name: fc, type: linear, out: 10, bias: false}")
    with pytest.raises(VerificationError, match=r"row fc has 5,120 parameters"):
        verify(bad_bias, top=found.top, mapping=found.mapping, model=model, input_shape=(3, 32, 32), count_macs=False)


@needs_fvcore
def test_fvcore_disagreement_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import archcalc.importer.verify as V

    monkeypatch.setattr(V, "_rules_for", lambda row, op: ())  # forget batch norm's reconciliation
    with pytest.raises(VerificationError, match=r"fvcore's count differs .* layer1.0.bn1: fvcore 8,192, spec 0"):
        imported(M.resnet18(num_classes=10), (3, 32, 32))


def test_unmapped_operations_are_all_listed() -> None:
    with pytest.raises(UnmappedError) as info:
        structure_of(M.Unmapped(), input_shape=(3, 16, 16))
    assert len(info.value.unmapped) == 2
    norm, matmul = info.value.unmapped
    assert norm.startswith("norm (GroupNorm) at tests/import_models.py:") and "no spec kind for torch.nn" in norm
    assert matmul.startswith("matmul in <model> at tests/import_models.py:") and "torch.matmul(x" in matmul


def test_bad_arguments() -> None:
    import archcalc

    with pytest.raises(TypeError):
        archcalc.import_model(M.plain_sequential(), (3, 32, 32))  # type: ignore[misc]  # keyword-only
    with pytest.raises(archcalc.UsageError, match="input_shape"):
        archcalc.import_model(M.plain_sequential(), input_shape=(3, 0, 32))
    with pytest.raises(ImportModelError, match="expected a torch.nn.Module, got builtins.dict"):
        archcalc.import_model({"conv": 3}, input_shape=(3, 32, 32))


def test_import_archcalc_stays_torch_free() -> None:
    code = "import sys, archcalc, archcalc.importer, archcalc.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- the command


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["import", *args])
    out, err = capsys.readouterr()
    return code, out, err


@needs_fvcore
def test_cli_writes_a_spec_that_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r18.yaml"
    code, stdout, err = run_cli([f"{MODELS}:resnet18", "--arg", "num_classes=10", "--input", "3,32,32",
                                 "--name", "ResNet-18 (10 classes)", "-o", str(out)], capsys)
    assert code == 0 and stdout == ""
    assert f"-> {out}" in err and "11,181,642 parameters" in err
    text = out.read_text()
    assert doc(text)["name"] == "ResNet-18 (10 classes)"
    assert "resnet18(num_classes=10)" in text
    assert main(["validate", str(out)]) == 0
    capsys.readouterr()
    code, stdout, _ = run_cli([f"{MODELS}:resnet18", "--arg", "num_classes=10", "--input", "3,32,32",
                               "--name", "ResNet-18 (10 classes)", "-q"], capsys)
    assert code == 0 and stdout == text  # stdout by default, the same bytes


@pytest.mark.parametrize("target, message", [
    ("no_such_package.nets:Net", "cannot import module 'no_such_package.nets': No module named 'no_such_package'"),
    ("tests/no_such_file.py:Net", "cannot import tests/no_such_file.py: no such file"),
    (f"{MODELS}:resnet_fifty", "has no 'resnet_fifty'"),
    (f"{MODELS}:raises", "raises() raised RuntimeError: this factory always fails"),
    (f"{MODELS}:not_a_module", "not_a_module() returned a builtins.dict, not a torch.nn.Module"),
    (f"{MODELS}:DataDependent", "cannot trace the model: torch.fx: TraceError"),
    (f"{MODELS}:Unmapped", "2 operations of the model have no spec kind, so nothing was written: norm (GroupNorm)"),
    ("resnet50", "should be package.module:callable"),
], ids=["module", "file", "name", "raises", "not-a-module", "untraceable", "unmapped", "no-colon"])
def test_cli_bad_targets_are_clean_errors(target: str, message: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "spec.yaml"
    code, stdout, err = run_cli([target, "--input", "3,16,16", "-o", str(out)], capsys)
    assert code == 2 and stdout == ""
    assert err.startswith("archcalc: error: ") and message in err
    assert "Traceback" not in err
    assert not out.exists()  # nothing written


def test_cli_untraceable_names_both_tracers(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli([f"{MODELS}:DataDependent", "--input", "3,16,16"], capsys)
    assert code == 2 and "torch.fx: TraceError" in err and "torch.export: " in err


def test_cli_input_shape_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["import", f"{MODELS}:resnet18", "--input", "3,a,32"])
    assert info.value.code == 2
    assert "expected 1 to 4 positive integers" in capsys.readouterr().err
