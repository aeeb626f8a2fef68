"""Detection networks: named tensors, the feature pyramid, a head shared over levels, per-proposal sections,
RoIAlign / RoI pooling; the zoo's detectors against torchvision's published parameter counts, and the built
modules' values against torchvision's definitions."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from archcalc import analyze, load_spec, parse_spec
from archcalc.cli import main
from archcalc.errors import AnalysisError

from conftest import SPECS


def spec_of(input_shape: list[int], layers: list[dict[str, Any]]) -> Any:
    return parse_spec(yaml.safe_dump({"name": "t", "input": input_shape, "layers": layers}, sort_keys=False))


TWO_LEVELS = [{"name": "c1", "type": "tap", "tensor": "c1"}, {"name": "pool", "type": "maxpool", "kernel": 2},
              {"name": "c2", "type": "tap", "tensor": "c2"},
              {"name": "fpn", "type": "fpn", "inputs": ["c1", "c2"], "outputs": ["p1", "p2", "p3"], "out": 2},
              {"name": "head", "type": "levels", "inputs": ["p1", "p2", "p3"], "outputs": ["o1", "o2", "o3"],
               "layers": [{"name": "conv", "type": "conv", "out": 3, "kernel": 1}]}]
"""Input [4, 4, 4]; c2 is its 2x2 max pool [4, 2, 2]; a two-level pyramid of 2 channels with the extra level."""


# --------------------------------------------------------------------------- the analyzer


def test_two_level_pyramid_closed_form() -> None:
    """p2 (coarsest first): lateral 1x1 4 -> 2 on 2x2 (10 params, 2*2*2 * 4 = 32 MACs), output 3x3 (38 params,
    2*2*2 * 18 = 144 MACs); p1: lateral on 4x4 (10, 2*4*4 * 4 = 128), nearest upsampling of p2's sum to 4x4 (no ops),
    add (2*4*4 = 32 ops), output 3x3 (38, 2*4*4 * 18 = 576); p3 = p2's output max-pooled k1 s2: [2, 1, 1], 2 reads.
    The shared head (1x1 2 -> 3: 2*3 + 3 = 9 params, once) on p1, p2, p3: 3 * (16 + 4 + 1) * 2 = 126 MACs."""
    a = analyze(spec_of([4, 4, 4], TWO_LEVELS))
    rows = {r.name: r for r in a.layers}
    assert [r.name for r in a.layers if r.name.startswith("fpn")] == [
        "fpn.p2.lateral", "fpn.p2.output", "fpn.p1.lateral", "fpn.p1.upsample", "fpn.p1.add", "fpn.p1.output", "fpn.p3"]
    assert rows["fpn.p1.upsample"].input_shape == (2, 2, 2) and rows["fpn.p1.upsample"].output_shape == (2, 4, 4)
    assert rows["fpn.p3"].output_shape == (2, 1, 1)
    fpn = a.row("fpn")
    assert (fpn.params, fpn.macs, fpn.ops) == (10 + 38 + 10 + 38, 32 + 144 + 128 + 576, 32 + 2)
    head = a.row("head")
    assert (head.params, head.macs) == (9, 126)
    assert rows["head.p1.conv"].params == 9 and "shared" not in rows["head.p1.conv"].attrs
    assert rows["head.p2.conv"].params == rows["head.p3.conv"].params == 0
    assert rows["head.p2.conv"].attrs["shared"] and rows["head.p3.conv"].macs == 3 * 2  # 3 outputs x 2 inputs
    assert a.output_shape == (4, 2, 2)  # the main path goes on with c2


def test_per_proposal_rows_are_multiplied_by_the_boxes() -> None:
    """5 boxes; per box: RoIAlign of the [4, 4, 4] map to 2x2 (4*2*2 * 2*2 * 4 = 256 MACs), flatten, linear 16 -> 3
    (48 MACs, 51 params once): 5 * (256 + 48) = 1,520 MACs; activations x 5; the output is [5, 3]."""
    layers = [{"name": "c", "type": "tap", "tensor": "c"}, {"name": "boxes", "type": "proposals", "count": 5},
              {"name": "head", "type": "per_proposal", "layers": [
                  {"name": "roi", "type": "roi_align", "features": ["c"], "output_size": 2},
                  {"name": "flat", "type": "flatten"}, {"name": "fc", "type": "linear", "out": 3}]}]
    a = analyze(spec_of([4, 4, 4], layers), batch_size=2)
    rows = {r.name: r for r in a.layers}
    assert rows["boxes"].output_shape == (5, 4) and rows["boxes"].macs == 0
    assert rows["head.roi"].input_shape == (4,) and rows["head.roi"].output_shape == (4, 2, 2)
    assert rows["head.roi"].instances == 5 and rows["head.roi"].macs == 2 * 5 * 256  # batch 2
    assert rows["head.fc"].params == 51 and rows["head.fc"].macs == 2 * 5 * 48
    assert rows["head.roi"].activation_bytes == 2 * 5 * 16 * 4
    assert a.row("head").output_shape == (5, 3) and a.output_shape == (5, 3)
    assert a.totals.macs == 2 * 1_520


def test_named_tensor_errors_say_what_is_known() -> None:
    with pytest.raises(AnalysisError, match=r"no tensor named 'c9' .*named tensors: c1, c2"):
        analyze(spec_of([4, 4, 4], [*TWO_LEVELS[:3], {"type": "fpn", "inputs": ["c1", "c9"], "outputs": ["a", "b"],
                                                       "extra": "none"}]))
    with pytest.raises(AnalysisError, match="the tensor name 'c1' is given twice"):
        analyze(spec_of([4, 4, 4], [TWO_LEVELS[0], {"type": "tap", "tensor": "c1"}]))
    with pytest.raises(AnalysisError, match=r"per_proposal needs a \[K, \.\.\.\] input"):
        analyze(spec_of([4], [{"type": "per_proposal", "layers": [{"type": "linear", "out": 2}]}]))
    with pytest.raises(AnalysisError, match=r"reads a box \[4\]"):
        analyze(spec_of([4, 4, 4], [TWO_LEVELS[0], {"type": "roi_align", "features": ["c1"], "output_size": 2}]))


def test_fpn_output_count_is_validated(capsys: pytest.CaptureFixture, tmp_path: Any) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"name": "bad", "input": [4, 4, 4], "layers": [
        {"type": "fpn", "outputs": ["p1"], "out": 2}]}))
    assert main(["report", str(path)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml:" in err and "need 2 output names, got 1" in err and "Traceback" not in err


ZOO = {  # torchvision's published num_params (weights metadata of torchvision.models.detection)
    "fasterrcnn_resnet50_fpn": 41_755_286,
    "maskrcnn_resnet50_fpn": 44_401_393,
    "fasterrcnn_mobilenet_v3_large_fpn": 19_386_354,
}


@pytest.mark.parametrize("name", sorted(ZOO))
def test_detectors_have_torchvisions_parameter_counts(name: str) -> None:
    assert analyze(load_spec(SPECS / f"{name}.yaml")).totals.params == ZOO[name]


def test_faster_rcnn_resnet50_fpn_subtotals() -> None:
    """ResNet-50 without its fc and batch-norm parameters: 25,557,032 - 2,049,000 - 53,120 = 23,454,912.
    FPN: laterals (256 + 512 + 1,024 + 2,048) * 256 + 4*256 = 984,064; outputs 4 * (256*256*9 + 256) = 2,360,320.
    RPN head once: 590,080 + (256*3 + 3) + (256*12 + 12) = 593,935. Box head: fc6 256*7*7*1,024 + 1,024 = 12,846,080,
    fc7 1,049,600, cls_score 1,024*91 + 91 = 93,275, bbox_pred 1,024*364 + 364 = 373,100."""
    a = analyze(load_spec(SPECS / "fasterrcnn_resnet50_fpn.yaml"))
    assert a.row("backbone").params == 23_454_912
    assert a.row("fpn").params == 984_064 + 2_360_320
    assert a.row("rpn").params == 593_935
    assert a.row("roi_heads").params == 12_846_080 + 1_049_600 + 93_275 + 373_100
    # per proposal: RoIAlign 256*7*7 * 4 * 4 = 200,704 + fc6 12,845,056 + fc7 1,048,576 + 93,184 + 372,736 = 14,560,256
    assert a.row("roi_heads.box_head").macs == 1_000 * 14_560_256
    # torchvision's 134.38 GFLOPS: everything but RoIAlign
    assert a.totals.macs - 1_000 * 200_704 == 134_379_721_216


def test_param_proposals_moves_the_total(capsys: pytest.CaptureFixture) -> None:
    path = str(SPECS / "fasterrcnn_resnet50_fpn.yaml")
    full = analyze(load_spec(path))
    fewer = analyze(load_spec(path, params={"proposals": 300}))
    assert fewer.totals.params == full.totals.params
    assert full.totals.macs - fewer.totals.macs == 700 * 14_560_256  # 700 fewer boxes
    assert main(["report", path, "--param", "proposals=300", "--depth", "1", "--raw"]) == 0
    out = capsys.readouterr().out
    assert "roi_heads.box_head x 300 boxes: 4,368,076,800 MACs" in out and "--param proposals=N" in out
    assert main(["report", path, "--param", "proposals=300", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["totals"]["macs"] == fewer.totals.macs


# --------------------------------------------------------------------------- the built modules

torch_only = pytest.mark.torch


@torch_only
def test_shared_head_calls_the_first_levels_weights() -> None:
    torch = pytest.importorskip("torch")
    from archcalc.torch.build import build_model
    from archcalc.torch.detection import Shared

    spec = spec_of([4, 4, 4], TWO_LEVELS)
    model = build_model(spec).eval()
    first, other = model.get_submodule("head.p1.conv"), model.get_submodule("head.p2.conv")
    assert isinstance(other, Shared) and other.target is first
    assert sum(p.numel() for p in model.get_submodule("head").parameters()) == 9
    x = torch.randn(1, 4, 4, 4)
    with torch.no_grad():
        out, *named = model(x)
    names = ["c1", "c2", "p2", "p1", "p3", "o1", "o2", "o3"]  # in the order they were named
    values = dict(zip(names, named))
    torch.testing.assert_close(values["o2"], first(values["p2"]))
    torch.testing.assert_close(out, values["c2"])  # the main path goes on with c2


@torch_only
def test_roi_align_reproduces_a_linear_map() -> None:
    """Bilinear interpolation is exact on a linear function, and a bin's mean of 2x2 samples at its sub-cell
    centres is the function at the bin's centre: f(y, x) = 3y + 2x + 1 on a 16x16 map, box (x1, y1, x2, y2) =
    (2, 4, 10, 12) at scale 1 -> bins of 2x2 pixels, bin (i, j) centred at (5 + 2i, 3 + 2j)."""
    torch = pytest.importorskip("torch")
    from archcalc.torch.detection import roi_align

    ys, xs = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    fmap = (3 * ys + 2 * xs + 1).expand(1, 2, 16, 16).contiguous()
    out = roi_align([fmap], torch.tensor([[2.0, 4.0, 10.0, 12.0]]), (4, 4), 2, (16, 16))
    centre_y = 5 + 2 * torch.arange(4.0)
    centre_x = 3 + 2 * torch.arange(4.0)
    expected = 3 * centre_y[:, None] + 2 * centre_x[None, :] + 1
    torch.testing.assert_close(out[0, 0], expected)
    torch.testing.assert_close(out[0, 1], expected)


@torch_only
def test_roi_pool_is_the_maximum_of_each_bin() -> None:
    """A 7x9 box (rounded corners (1, 2) .. (7, 8), inclusive) on a random map, 2x3 bins: bin bounds as
    torchvision's roi_pool (floor of the start, ceil of the end, of ph * 7/2 and pw * 9/3)."""
    torch = pytest.importorskip("torch")
    from archcalc.torch.detection import roi_pool

    fmap = torch.randn(1, 3, 12, 12)
    out = roi_pool([fmap], torch.tensor([[2.2, 0.8, 9.6, 7.4]]), (2, 3), (12, 12))
    region = fmap[0, :, 1:8, 2:11]  # rows 1..7, columns 2..10
    for i, (top, bottom) in enumerate([(0, 4), (3, 7)]):  # floor(0), ceil(3.5); floor(3.5), ceil(7)
        for j, (left, right) in enumerate([(0, 3), (3, 6), (6, 9)]):
            torch.testing.assert_close(out[0, :, i, j], region[:, top:bottom, left:right].amax(dim=(1, 2)))


@torch_only
def test_level_mapper_and_fixed_boxes() -> None:
    torch = pytest.importorskip("torch")
    from archcalc.torch.detection import _levels, fixed_boxes

    # floor(4 + log2(s / 224)): 112 -> 3, 224 -> 4, 448 -> 5, 1000 -> 6 clamped to 5; minus k_min = 2
    boxes = torch.tensor([[0.0, 0.0, s, s] for s in (112.0, 224.0, 448.0, 1000.0, 20.0)])
    assert _levels(boxes, [1 / 4, 1 / 8, 1 / 16, 1 / 32]).tolist() == [1, 2, 3, 3, 0]
    got = fixed_boxes(100, (600, 800))
    assert got == fixed_boxes(100, (600, 800)) and len(got) == 100
    assert all(0 <= x1 < x2 <= 800 and 0 <= y1 < y2 <= 600 for x1, y1, x2, y2 in got)


@torch_only
@pytest.mark.slow
def test_faster_rcnn_at_320_uses_several_levels_and_agrees() -> None:
    """fasterrcnn_resnet50_fpn at 320x320 with 24 proposals (boxes from 16 to 320 pixels: pyramid levels p2..p4):
    every row's shape, parameters and MACs against torch and fvcore; saved bytes exactly and the inference peak
    within 2 % measured (batch 2)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from archcalc.torch.crosscheck import crosscheck
    from archcalc.torch.detection import _levels, fixed_boxes

    import test_memory

    spec = load_spec(SPECS / "fasterrcnn_resnet50_fpn.yaml", scale={"resolution": 320},
                     params={"proposals": 24, "detections": 4})
    levels = _levels(torch.tensor(fixed_boxes(24, (320, 320))), [1 / 4, 1 / 8, 1 / 16, 1 / 32])
    assert set(levels.tolist()) == {0, 1, 2}
    check = crosscheck(spec, reference=False)
    assert check.ok, [r for r in check.flops if not r.ok][:3]
    assert check.rules_applied()["roi_not_counted"] == (1, -24 * 200_704)
    test_memory._assert_measured(*test_memory._measure(spec))
