"""Every layer kind against closed-form formulas.

``CASES`` must have an entry for every kind in ``LAYER_KINDS``: a kind added to the spec language
without a case here fails ``test_every_kind_has_a_case``.
"""

from __future__ import annotations

import pytest

import archcalc
from archcalc.analysis import RULES
from archcalc.spec import LAYER_KINDS, parse_spec
from archcalc.spec.layers import ACTIVATION_KINDS

# kind -> (layer entry, input shape, expected output shape, params, macs, ops)
CASES: dict[str, tuple[dict, list[int], tuple[int, ...], int, int, int]] = {
    # 8 -> 16 channels, 3x3, pad 1 on 10x10: params 16*8*9 + 16 = 1,168; MACs 16*10*10 * 8*9 = 115,200
    "conv": ({"type": "conv", "out": 16, "kernel": 3, "padding": 1}, [8, 10, 10], (16, 10, 10), 1_168, 115_200, 0),
    # 8 -> 4, k2 s2 on 5x5: out (5-1)*2 + 2 = 10; params 8*4*4 + 4 = 132; MACs 8*5*5 * 4*4 = 3,200
    "conv_transpose": ({"type": "conv_transpose", "out": 4, "kernel": 2, "stride": 2}, [8, 5, 5], (4, 10, 10), 132, 3_200, 0),
    # 3x3/2 on 4x9x9 -> 4x4x4; ops 4*4*4 * 9 = 576
    "maxpool": ({"type": "maxpool", "kernel": 3, "stride": 2}, [4, 9, 9], (4, 4, 4), 0, 0, 576),
    # 2x2/2 on 4x8x8 -> 4x4x4; ops 64 * 4 = 256
    "avgpool": ({"type": "avgpool", "kernel": 2}, [4, 8, 8], (4, 4, 4), 0, 0, 256),
    # 4x6x6 -> 4x3x3, windows 2 per axis: 4 * (3*2) * (3*2) = 144
    "adaptive_avgpool": ({"type": "adaptive_avgpool", "output_size": 3}, [4, 6, 6], (4, 3, 3), 0, 0, 144),
    "adaptive_maxpool": ({"type": "adaptive_maxpool", "output_size": [3, 2]}, [4, 6, 6], (4, 3, 2), 0, 0, 144),
    # reads every element once: 4*6*6 = 144
    "global_avgpool": ({"type": "global_avgpool"}, [4, 6, 6], (4, 1, 1), 0, 0, 144),
    # 12*10 + 10 = 130 params, 120 MACs
    "linear": ({"type": "linear", "out": 10}, [12], (10,), 130, 120, 0),
    "flatten": ({"type": "flatten"}, [4, 3, 3], (36,), 0, 0, 0),
    # 2*4 = 8 params; 2 ops per element: 2*4*3*3 = 72
    "batchnorm": ({"type": "batchnorm"}, [4, 3, 3], (4, 3, 3), 8, 0, 72),
    # (size + 3) per element: 36 * (5 + 3) = 288
    "lrn": ({"type": "lrn", "size": 5}, [4, 3, 3], (4, 3, 3), 0, 0, 288),
    "dropout": ({"type": "dropout", "p": 0.5}, [4, 3, 3], (4, 3, 3), 0, 0, 0),
    "softmax": ({"type": "softmax"}, [10], (10,), 0, 0, 30),  # 3 * 10
    # bilinear x2 on 2x3x3 -> 2x6x6: 72 outputs * 4 taps = 288
    "upsample": ({"type": "upsample", "scale": 2, "mode": "bilinear"}, [2, 3, 3], (2, 6, 6), 0, 0, 288),
    # SE 8 -> 2 -> 8: params 2*8*2 + 2 + 8 = 42; MACs 2*8*2 = 32; ops 2*8*16 + 2 + 8 = 266
    "se": ({"type": "se", "reduction": 4}, [8, 4, 4], (8, 4, 4), 42, 32, 266),
    "channel_shuffle": ({"type": "channel_shuffle", "groups": 2}, [8, 4, 4], (8, 4, 4), 0, 0, 0),
    # keep chunk 1 of 2: 8 -> 4 channels, no arithmetic
    "channel_split": ({"type": "channel_split", "parts": 2, "index": 1}, [8, 4, 4], (4, 4, 4), 0, 0, 0),
    # centre crop 6x6 -> 4x4
    "crop": ({"type": "crop", "size": 4}, [2, 6, 6], (2, 4, 4), 0, 0, 0),
    # side head: pool (4*3*3 = 36 reads), flatten, linear 4 -> 2 (4*2 + 2 = 10 params, 8 MACs);
    # the main path's output is the side's input, unchanged
    "side": ({"type": "side", "layers": [{"type": "global_avgpool"}, {"type": "flatten"},
                                         {"type": "linear", "out": 2}]}, [4, 3, 3], (4, 3, 3), 10, 8, 36),
    # composites: sequential of conv 1x1 (4->2: 2*4 + 2 = 10 params, 2*3*3*4 = 72 MACs) + relu (18 ops)
    "sequential": ({"type": "sequential", "layers": [{"type": "conv", "out": 2, "kernel": 1}, {"type": "relu"}]},
                   [4, 3, 3], (2, 3, 3), 10, 72, 18),
    # concat of identity (4 ch) and conv 1x1 4->2 (10 params, 72 MACs): 6 channels, no ops
    "concat": ({"type": "concat", "branches": [[], [{"type": "conv", "out": 2, "kernel": 1}]]},
               [4, 3, 3], (6, 3, 3), 10, 72, 0),
    # residual conv 3x3 4->4 pad 1 without bias: 4*4*9 = 144 params, 4*3*3 * 4*9 = 1,296 MACs; add 36 ops
    "residual": ({"type": "residual", "body": [{"type": "conv", "out": 4, "kernel": 3, "padding": 1, "bias": False}]},
                 [4, 3, 3], (4, 3, 3), 144, 1_296, 36),
}
for _act in ACTIVATION_KINDS:  # one op per element: 4*3*3 = 36
    CASES[_act] = ({"type": _act}, [4, 3, 3], (4, 3, 3), 0, 0, 36)


def _spec(entry: dict, shape: list[int]) -> archcalc.Spec:
    import json
    return parse_spec(json.dumps({"name": "case", "input": shape, "layers": [entry]}))


def test_every_kind_has_a_case_and_a_rule():
    assert set(CASES) == set(LAYER_KINDS)
    leaf = {k for k, m in LAYER_KINDS.items() if k not in ("sequential", "side", "concat", "residual")}
    assert set(RULES) == leaf


@pytest.mark.parametrize("kind", sorted(CASES))
def test_kind_closed_form(kind: str):
    entry, shape, out_shape, params, macs, ops = CASES[kind]
    result = archcalc.analyze(_spec(entry, shape))
    assert result.output_shape == out_shape
    assert (result.totals.params, result.totals.macs, result.totals.ops) == (params, macs, ops)
    # activation memory is every row's output, float32
    from archcalc.formulas import prod
    assert result.totals.activation_bytes == sum(prod(r.output_shape) * 4 for r in result.layers)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_kind_scales_with_batch(kind: str):
    entry, shape, *_ = CASES[kind]
    one = archcalc.analyze(_spec(entry, shape))
    eight = archcalc.analyze(_spec(entry, shape), batch_size=8, dtype="bfloat16")
    assert eight.totals.params == one.totals.params
    assert eight.totals.macs == 8 * one.totals.macs
    assert eight.totals.ops == 8 * one.totals.ops
    assert eight.totals.activation_bytes == 8 * one.totals.activation_bytes // 2  # bf16: 2 bytes


def test_conv_1d_and_3d():
    # 1-D: 2 -> 4, k5 on length 20: out 16; params 4*2*5 + 4 = 44; MACs 4*16 * 2*5 = 640
    r = archcalc.analyze(_spec({"type": "conv", "out": 4, "kernel": 5}, [2, 20]))
    assert (r.output_shape, r.totals.params, r.totals.macs) == ((4, 16), 44, 640)
    # 3-D: 3 -> 2, k (3,7,7) on 7x60x40: out 5x54x34; params 2*3*3*7*7 + 2 = 884;
    # MACs 2*5*54*34 * 3*3*7*7 = 18,360 * 441 = 8,096,760
    r = archcalc.analyze(_spec({"type": "conv", "out": 2, "kernel": [3, 7, 7]}, [3, 7, 60, 40]))
    assert (r.output_shape, r.totals.params, r.totals.macs) == ((2, 5, 54, 34), 884, 8_096_760)


def test_conv_nonsquare_per_axis_and_same_padding():
    # kernel (1,7) pad (0,3) on 8x17x17 -> 16x17x17 (Inception-v3 factorized conv)
    r = archcalc.analyze(_spec({"type": "conv", "out": 16, "kernel": [1, 7], "padding": [0, 3], "bias": False},
                               [8, 17, 17]))
    assert r.output_shape == (16, 17, 17)
    assert r.totals.params == 16 * 8 * 7  # 896
    # SAME, stride 2 on 15x16: ceil(15/2) = 8, ceil(16/2) = 8
    r = archcalc.analyze(_spec({"type": "conv", "out": 4, "kernel": 3, "stride": 2, "padding": "same"}, [3, 15, 16]))
    assert r.output_shape == (4, 8, 8)
    # asymmetric [lo, hi] padding: (10 + 0 + 1 - 2)/1 + 1 = 10
    r = archcalc.analyze(_spec({"type": "conv", "out": 1, "kernel": 2, "padding": [[0, 1], [0, 1]]}, [1, 10, 10]))
    assert r.output_shape == (1, 10, 10)


def test_depthwise_and_out_ratio():
    r = archcalc.analyze(_spec({"type": "conv", "groups": "depthwise", "kernel": 3, "padding": 1, "bias": False},
                               [32, 8, 8]))
    assert r.output_shape == (32, 8, 8)
    assert r.totals.params == 32 * 9  # 288
    r = archcalc.analyze(_spec({"type": "conv", "out_ratio": 0.5, "kernel": 1}, [256, 4, 4]))
    assert r.output_shape == (128, 4, 4)


def test_residual_shortcuts():
    body = [{"type": "conv", "out": 8, "kernel": 3, "stride": 2, "padding": 1, "bias": False}]
    # projection: 1x1 stride 2 conv 4 -> 8 (32 weights) + BN (16) on top of the body (8*4*9 = 288)
    r = archcalc.analyze(_spec({"type": "residual", "body": body, "shortcut": "projection"}, [4, 8, 8]))
    assert r.output_shape == (8, 4, 4)
    assert r.totals.params == 288 + 32 + 16
    names = [row.name for row in r.layers]
    assert names == ["residual1.conv1", "residual1.shortcut.conv", "residual1.shortcut.batchnorm", "residual1.add"]
    # option A: no parameters in the shortcut
    r = archcalc.analyze(_spec({"type": "residual", "body": body, "shortcut": "zeropad", "activation": "relu"}, [4, 8, 8]))
    assert r.totals.params == 288
    assert [row.type for row in r.layers] == ["conv", "zeropad", "add", "relu"]
    # optional: no addition when the shape changes
    r = archcalc.analyze(_spec({"type": "residual", "body": body, "shortcut": "optional"}, [4, 8, 8]))
    assert [row.type for row in r.layers] == ["conv"]


def test_side_output_leaves_main_path_unchanged():
    result = archcalc.analyze(_spec({"type": "sequential", "layers": [
        {"name": "aux", "type": "side", "layers": [{"type": "flatten"}, {"name": "fc", "type": "linear", "out": 3}]},
        {"name": "conv", "type": "conv", "out": 2, "kernel": 1}]}, [4, 2, 2]))
    rows = {r.name: r for r in result.layers}
    assert rows["sequential1.aux.fc"].output_shape == (3,)
    assert rows["sequential1.conv"].input_shape == (4, 2, 2)  # the main path skips the side head
    assert result.output_shape == (2, 2, 2)


def test_crop_and_split_errors():
    from archcalc.errors import AnalysisError
    with pytest.raises(AnalysisError, match="cannot crop 6 to 8"):
        archcalc.analyze(_spec({"type": "crop", "size": 8}, [2, 6, 6]))
    with pytest.raises(AnalysisError, match="do not split"):
        archcalc.analyze(_spec({"type": "channel_split", "parts": 3}, [8, 6, 6]))


def test_concat_row_input_shows_the_joined_branches():
    from archcalc.render.table import render_report

    entry = {"type": "concat", "branches": [[], [{"type": "conv", "out": 2, "kernel": 1}],
                                            [{"type": "conv", "out": 8, "kernel": 3, "padding": 1}]]}
    analysis = archcalc.analyze(_spec(entry, [4, 3, 3]))
    row = analysis.layers[-1]
    assert row.type == "concat" and row.attrs["branches"] == [4, 2, 8]
    assert row.output_shape == (14, 3, 3)  # 4 + 2 + 8 channels
    line = next(line for line in render_report(analysis).splitlines() if ".concat" in line)
    assert "(4+2+8)x3x3" in line.split()


def test_conv_pool_chains_keep_the_classic_receptive_field_recurrence():
    """Convolutions and pools: every output's field has the same size, and archcalc's (size, jump,
    start) is Araujo et al.'s recurrence r += d(k-1)*j, start += (d(k-1)/2 - pad)*j, j *= s."""
    import json
    import random

    rng = random.Random(7)
    for _ in range(60):
        layers, r, j, start = [], 1, 1, 0.5
        for _ in range(rng.randint(1, 5)):
            k, s, d = rng.randint(1, 5), rng.randint(1, 3), rng.randint(1, 2)
            if rng.random() < 0.5:
                p = rng.randint(0, k)
                layers.append({"type": "conv", "out": 1, "kernel": k, "stride": s, "padding": p, "dilation": d})
            else:
                d, p = 1, rng.randint(0, k // 2)
                layers.append({"type": rng.choice(["maxpool", "avgpool"]), "kernel": k, "stride": s, "padding": p})
            r, start, j = r + d * (k - 1) * j, start + (d * (k - 1) / 2 - p) * j, j * s
        try:
            analysis = archcalc.analyze(parse_spec(json.dumps({"name": "c", "input": [1, 400], "layers": layers})))
        except archcalc.AnalysisError:
            continue
        row = analysis.layers[-1]
        assert row.rf == ((r, j, start),), layers
        assert row.fields[0].period == 1  # one field shape for every output position
