"""The torch builder: one module per analyzer row, for every layer kind and every spec in the zoo.

Each test builds a model, runs a real forward pass (CPU, batch 1, eval) and compares every row's
output shape and parameter count with the analyzer's. Value tests check the modules that are not
plain torch layers (asymmetric-padding pools, the zero-padding shortcut, empty concat branches)
against torch's own definition.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from archcalc import analyze, load_spec, parse_spec
from archcalc.kinds import ACTIVATION_KINDS, KINDS, LAYER_KINDS

from conftest import zoo_analysis, zoo_spec, zoo_specs

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")
nn = torch.nn

from archcalc.torch.build import BuildError, build_model, iter_row_modules  # noqa: E402 - after the torch skip
from archcalc.torch.modules import ACTIVATIONS, WindowAvgPool, WindowMaxPool, ZeroPadShortcut  # noqa: E402


def spec_of(input_shape: list[int], layers: list[dict[str, Any]], name: str = "t") -> Any:
    return parse_spec(yaml.safe_dump({"name": name, "input": input_shape, "layers": layers}, sort_keys=False))


def run_rows(spec: Any) -> tuple[Any, Any, dict[str, tuple[int, ...]]]:
    """Build, run once, and return (analysis, model, row name -> actual output shape)."""
    analysis = analyze(spec)
    model = build_model(spec, analysis=analysis).eval()
    seen: dict[str, tuple[int, ...]] = {}
    for name, module in iter_row_modules(model, analysis):
        module.register_forward_hook(lambda m, i, o, name=name: seen.__setitem__(name, tuple(o.shape[1:])))
    with torch.no_grad():
        out = model(torch.randn(1, *spec.input_shape))
    if isinstance(out, tuple):  # (output, *side heads, *named tensors)
        heads = [g for g in analysis.groups if g.type == "side"]
        assert [tuple(h.shape[1:]) for h in out[1:1 + len(heads)]] == [g.output_shape for g in heads]
        out = out[0]
    assert tuple(out.shape[1:]) == analysis.output_shape
    return analysis, model, seen


def assert_agrees(spec: Any) -> Any:
    analysis, model, seen = run_rows(spec)
    modules = dict(iter_row_modules(model, analysis))
    for row in (*analysis.layers, *analysis.groups):
        assert seen.get(row.name) == row.output_shape, f"{row.name}: torch {seen.get(row.name)} vs {row.output_shape}"
        actual = sum(p.numel() for p in modules[row.name].parameters())
        assert actual == row.params, f"{row.name}: torch {actual:,} params vs analyzer {row.params:,}"
    assert sum(p.numel() for p in model.parameters()) == analysis.totals.params
    return analysis, model


# --------------------------------------------------------------------------- every kind

# More examples per kind beyond its registered one: (input, layers). Together they cover the options of every kind.
EXTRA: dict[str, list[tuple[list[int], list[dict[str, Any]]]]] = {
    "conv": [
        ([3, 9, 9], [{"type": "conv", "out": 4, "kernel": 3, "stride": 2, "padding": 1}]),
        ([3, 9, 7], [{"type": "conv", "out": 4, "kernel": [3, 1], "padding": [1, 0], "bias": False}]),
        ([3, 9, 9], [{"type": "conv", "out": 4, "kernel": 3, "padding": [[0, 2], [1, 0]]}]),
        ([3, 10, 9], [{"type": "conv", "out": 4, "kernel": 3, "stride": 2, "padding": "same"}]),
        ([3, 10, 10], [{"type": "conv", "out": 4, "kernel": 3, "dilation": 2, "padding": "same"}]),
        ([4, 8, 8], [{"type": "conv", "groups": "depthwise", "kernel": 3, "padding": 1}]),
        ([4, 8, 8], [{"type": "conv", "out": 6, "groups": 2, "kernel": 3}]),
        ([4, 8, 8], [{"type": "conv", "out_ratio": 0.5, "kernel": 1}]),
        ([2, 11], [{"type": "conv", "out": 3, "kernel": 3, "stride": 2, "padding": "same"}]),
        ([2, 5, 6, 7], [{"type": "conv", "out": 3, "kernel": 3, "padding": [1, 0, [0, 1]]}]),
    ],
    "conv_transpose": [
        ([4, 5, 5], [{"type": "conv_transpose", "out": 3, "kernel": 3, "stride": 2, "padding": 1, "output_padding": 1}]),
        ([4, 6], [{"type": "conv_transpose", "out": 2, "kernel": 4, "stride": 2, "groups": 2}]),
        ([2, 3, 4, 4], [{"type": "conv_transpose", "out": 2, "kernel": 2, "stride": 2, "bias": False}]),
    ],
    "maxpool": [
        ([3, 13, 13], [{"type": "maxpool", "kernel": 3, "stride": 2, "ceil_mode": True}]),
        ([3, 10, 10], [{"type": "maxpool", "kernel": 3, "stride": 2, "padding": 1}]),
        ([3, 10, 9], [{"type": "maxpool", "kernel": 3, "stride": 2, "padding": "same"}]),
        ([3, 10, 9], [{"type": "maxpool", "kernel": 3, "stride": 2, "padding": [[0, 1], [1, 0]], "ceil_mode": True}]),
        ([3, 12, 12], [{"type": "maxpool", "kernel": 2, "dilation": 2}]),
        ([2, 9], [{"type": "maxpool", "kernel": 2}]),
        ([2, 4, 6, 6], [{"type": "maxpool", "kernel": [1, 2, 2]}]),
    ],
    "avgpool": [
        ([3, 13, 13], [{"type": "avgpool", "kernel": 3, "stride": 2, "ceil_mode": True, "count_include_pad": False}]),
        ([3, 10, 10], [{"type": "avgpool", "kernel": 3, "stride": 1, "padding": 1}]),
        ([3, 10, 9], [{"type": "avgpool", "kernel": 3, "stride": 2, "padding": "same", "count_include_pad": False}]),
        ([3, 9, 9], [{"type": "avgpool", "kernel": 2, "stride": 2, "padding": [[1, 0], [0, 1]], "ceil_mode": True}]),
        ([2, 9], [{"type": "avgpool", "kernel": 3, "stride": 2, "padding": [[0, 1]]}]),
        ([2, 4, 6, 6], [{"type": "avgpool", "kernel": 2}]),
        # torch's avg_pool3d refuses inputs smaller than the kernel even when padded: 2 + 1 + 1 >= 3
        ([2, 2, 3, 3], [{"type": "avgpool", "kernel": 3, "padding": 1, "count_include_pad": False}]),
    ],
    "adaptive_avgpool": [([3, 9, 9], [{"type": "adaptive_avgpool", "output_size": [2, 3]}]),
                         ([3, 9], [{"type": "adaptive_avgpool", "output_size": 4}])],
    "adaptive_maxpool": [([3, 9, 9], [{"type": "adaptive_maxpool", "output_size": 2}]),
                         ([3, 4, 5, 5], [{"type": "adaptive_maxpool", "output_size": [1, 2, 2]}])],
    "global_avgpool": [([3, 7, 7], [{"type": "global_avgpool"}]), ([3, 7], [{"type": "global_avgpool"}]),
                       ([3, 3, 4, 4], [{"type": "global_avgpool"}])],
    "linear": [([3, 4, 4], [{"type": "flatten"}, {"type": "linear", "out": 5}, {"type": "linear", "out": 2, "bias": False}])],
    "flatten": [([3, 4, 4], [{"type": "flatten"}])],
    "batchnorm": [([3, 4, 4], [{"type": "batchnorm"}]), ([3, 4], [{"type": "batchnorm", "affine": False}]),
                  ([3, 2, 4, 4], [{"type": "batchnorm"}]), ([3, 4, 4], [{"type": "flatten"}, {"type": "batchnorm"}])],
    "lrn": [([6, 5, 5], [{"type": "lrn", "size": 5, "alpha": 2e-4, "beta": 0.75, "k": 2.0}]), ([6, 5], [{"type": "lrn", "size": 3}])],
    "dropout": [([3, 4, 4], [{"type": "dropout", "p": 0.2}])],
    "softmax": [([3, 4, 4], [{"type": "softmax"}]), ([3, 4, 4], [{"type": "flatten"}, {"type": "softmax"}])],
    "upsample": [([3, 4, 4], [{"type": "upsample", "scale": 2}]), ([3, 4, 4], [{"type": "upsample", "size": [5, 7], "mode": "bilinear"}]),
                 ([3, 4], [{"type": "upsample", "scale": 3, "mode": "linear"}]),
                 ([2, 2, 3, 3], [{"type": "upsample", "scale": [1, 2, 2], "mode": "trilinear"}])],
    "se": [([8, 5, 5], [{"type": "se", "reduction": 4}]),
           ([8, 5], [{"type": "se", "mid": 3, "activation": "silu", "gate": "hardsigmoid", "bias": False}]),
           ([8, 2, 3, 3], [{"type": "se", "mid": 2, "activation": "hardswish"}])],
    "channel_shuffle": [([6, 4, 4], [{"type": "channel_shuffle", "groups": 3}])],
    "channel_split": [([6, 4, 4], [{"type": "channel_split", "parts": 3, "index": 2}]),
                      ([6, 4, 4], [{"type": "concat", "branches": [
                          {"name": "left", "layers": [{"type": "channel_split", "index": 0}]},
                          {"name": "right", "layers": [{"type": "channel_split", "index": 1},
                                                       {"type": "conv", "out": 3, "kernel": 1}]}]}])],
    "crop": [([3, 9, 8], [{"type": "crop", "size": [5, 4]}]), ([2, 7], [{"type": "crop", "size": 2}])],
    "side": [([4, 8, 8], [{"name": "aux", "type": "side", "layers": [{"type": "global_avgpool"}, {"type": "flatten"},
                                                                      {"type": "linear", "out": 3}]},
                          {"type": "conv", "out": 2, "kernel": 3},
                          {"type": "residual", "body": [{"type": "side", "layers": [{"type": "flatten"}]},
                                                        {"type": "relu"}]}])],
    "sequential": [([3, 8, 8], [{"name": "stem", "type": "sequential", "layers": [
        {"type": "conv", "out": 4, "kernel": 3}, {"type": "relu"},
        {"name": "inner", "type": "sequential", "layers": [{"type": "maxpool", "kernel": 2}]}]}])],
    "concat": [([4, 8, 8], [{"type": "concat", "branches": [
        {"name": "b1", "layers": [{"type": "conv", "out": 2, "kernel": 1}]},
        {"name": "b2", "layers": [{"type": "conv", "out": 3, "kernel": 3, "padding": 1}, {"type": "relu"}]},
        {"name": "pool", "layers": [{"type": "maxpool", "kernel": 3, "stride": 1, "padding": 1}]},
        {"name": "skip", "layers": []}]}])],
    "residual": [
        ([4, 8, 8], [{"type": "residual", "body": [{"type": "conv", "out": 4, "kernel": 3, "padding": 1}], "activation": "relu"}]),
        ([4, 8, 8], [{"type": "residual", "shortcut": "projection", "body": [{"type": "conv", "out": 8, "kernel": 3, "stride": 2, "padding": 1}]}]),
        ([4, 8, 8], [{"type": "residual", "shortcut": "projection", "projection_bn": False,
                      "body": [{"type": "conv", "out": 4, "kernel": 3, "padding": 1}]}]),
        ([4, 8, 8], [{"type": "residual", "shortcut": "zeropad", "activation": "relu6",
                      "body": [{"type": "conv", "out": 8, "kernel": 3, "stride": 2, "padding": 1}]}]),
        ([4, 8, 8], [{"type": "residual", "shortcut": "optional", "body": [{"type": "conv", "out": 6, "kernel": 1}]}]),
        ([4, 8, 8], [{"type": "residual", "shortcut": "optional", "body": [{"type": "conv", "out": 4, "kernel": 1}]}]),
        ([4, 8, 8], [{"type": "residual", "shortcut": [{"type": "conv", "out": 6, "kernel": 1, "stride": 2}, {"type": "batchnorm"}],
                      "body": [{"type": "conv", "out": 6, "kernel": 3, "stride": 2, "padding": 1}], "activation": "silu"}]),
    ],
}
EXTRA["leaky_relu"] = [([3, 4, 4], [{"type": "leaky_relu", "negative_slope": 0.2}])]


def test_every_kind_has_a_builder() -> None:
    assert all(KINDS[kind].build is not None for kind in LAYER_KINDS)
    assert sorted(ACTIVATIONS) == sorted(ACTIVATION_KINDS)


@pytest.mark.parametrize("kind", sorted(LAYER_KINDS))
def test_kind_builds_and_agrees(kind: str) -> None:
    """Each kind's registered example, and the variants above where a kind has them."""
    examples = [(list(ex.input), [dict(ex.entry)]) for ex in KINDS[kind].examples]
    for input_shape, layers in [*examples, *EXTRA.get(kind, [])]:
        spec = spec_of(input_shape, layers)
        analysis, _ = assert_agrees(spec)
        assert any(r.type == kind for r in (*analysis.layers, *analysis.groups)), f"example of {kind} does not use it"


def test_missing_builder_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(KINDS["relu"], "build", None)
    with pytest.raises(BuildError, match="no torch builder for layer kind 'relu'"):
        build_model(spec_of([3, 4, 4], [{"type": "relu"}]))


# --------------------------------------------------------------------------- module names


def test_module_paths_are_row_names() -> None:
    spec = load_spec("specs/resnet50.yaml")
    model = build_model(spec, device="meta")
    analysis = analyze(spec)
    assert set(dict(model.named_modules())) >= {r.name for r in (*analysis.layers, *analysis.groups)}
    conv = model.get_submodule("conv2_x.block1.conv1.conv1")
    assert isinstance(conv, nn.Conv2d) and conv.out_channels == 64
    short = model.get_submodule("conv3_x.block1.shortcut.conv")
    assert short.stride == (2, 2) and short.in_channels == 256 and short.out_channels == 512
    assert isinstance(model.get_submodule("conv3_x.block1.add"), nn.Module)
    # a projection only where the shape changes: block2 keeps its shape and has no shortcut
    assert "shortcut" not in dict(model.get_submodule("conv3_x.block2").named_children())


def test_layer_names_that_clash_with_module_attributes() -> None:
    spec = spec_of([3, 4, 4], [{"name": "type", "type": "relu"}, {"name": "forward", "type": "conv", "out": 2, "kernel": 1}])
    analysis, model = assert_agrees(spec)
    assert [n for n, _ in model.named_children()] == ["type", "forward"]


# --------------------------------------------------------------------------- values of the non-torch modules


@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize("count_include_pad", [False, True])
def test_window_avgpool_matches_torch(ceil_mode: bool, count_include_pad: bool) -> None:
    x = torch.randn(1, 2, 10, 11)
    ref = nn.AvgPool2d(3, 2, padding=1, ceil_mode=ceil_mode, count_include_pad=count_include_pad)(x)
    out = tuple(ref.shape[2:])
    mine = WindowAvgPool((10, 11), (3, 3), (2, 2), ((1, 1), (1, 1)), out, count_include_pad)(x)
    torch.testing.assert_close(mine, ref)


def test_window_maxpool_matches_torch() -> None:
    x = torch.randn(1, 2, 10, 11)
    ref = nn.MaxPool2d(3, 2, padding=1, ceil_mode=True)(x)
    mine = WindowMaxPool((10, 11), (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1), tuple(ref.shape[2:]))(x)
    torch.testing.assert_close(mine, ref)


def test_same_padding_conv_is_tensorflow_same() -> None:
    # TF SAME, input 10, kernel 3, stride 2: out ceil(10/2) = 5, total pad (5-1)*2 + 3 - 10 = 1 -> (0, 1)
    spec = spec_of([1, 10], [{"name": "c", "type": "conv", "out": 1, "kernel": 3, "stride": 2, "padding": "same"}])
    model = build_model(spec).eval()
    conv = model.get_submodule("c")
    x = torch.randn(1, 1, 10)
    expected = torch.nn.functional.conv1d(torch.nn.functional.pad(x, [0, 1]), conv.weight, conv.bias, stride=2)
    torch.testing.assert_close(model(x), expected)
    assert model(x).shape[-1] == 5


def test_zeropad_shortcut_is_resnet_option_a() -> None:
    x = torch.randn(1, 4, 8, 8)
    y = ZeroPadShortcut((2, 2), 4)(x)
    assert y.shape == (1, 8, 4, 4)
    torch.testing.assert_close(y[:, 2:6], x[:, :, ::2, ::2])
    assert torch.count_nonzero(y[:, :2]) == 0 and torch.count_nonzero(y[:, 6:]) == 0


def test_empty_concat_branch_is_identity_and_optional_residual_adds_only_when_shapes_match() -> None:
    spec = spec_of([2, 3, 3], [
        {"name": "cat", "type": "concat", "branches": [{"name": "skip", "layers": []},
                                                        {"name": "b", "layers": [{"type": "conv", "out": 1, "kernel": 1}]}]},
        {"name": "res", "type": "residual", "shortcut": "optional", "body": [{"type": "conv", "out": 4, "kernel": 1}]},
    ])
    analysis, model = assert_agrees(spec)
    x = torch.randn(1, 2, 3, 3)
    cat = model.get_submodule("cat")
    torch.testing.assert_close(cat(x)[:, :2], x)
    assert "add" not in dict(model.get_submodule("res").named_children())
    assert not any(r.name == "res.add" for r in analysis.layers)


# --------------------------------------------------------------------------- the zoo


@pytest.mark.parametrize("path", zoo_specs(), ids=lambda p: p.stem)
def test_zoo_params_at_full_definition(path: Any) -> None:
    """Parameters do not depend on the input: count them at the spec's real input, on the meta device."""
    spec, analysis = zoo_spec(path), zoo_analysis(path)
    model = build_model(spec, analysis=analysis, device="meta")
    modules = dict(iter_row_modules(model, analysis))
    assert sum(p.numel() for p in model.parameters()) == analysis.totals.params
    for row in analysis.layers:
        assert sum(p.numel() for p in modules[row.name].parameters()) == row.params, row.name
