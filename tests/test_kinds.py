"""Every layer kind against closed-form formulas.

Each kind registers a worked example with its derivation beside the numbers
(:class:`archcalc.kinds.Example`, in the kind's module); these tests check every registered kind,
so a kind added to the registry is covered here without editing this file.
"""

from __future__ import annotations

import pytest

import archcalc
from archcalc.formulas import prod
from archcalc.kinds import KINDS, LAYER_KINDS
from archcalc.spec import parse_spec


def _spec(entry: dict, shape: list[int]) -> archcalc.Spec:
    import json
    return parse_spec(json.dumps({"name": "case", "input": list(shape), "layers": [dict(entry)]}))


def test_every_kind_has_an_example_a_rule_or_walk_and_a_builder():
    assert set(LAYER_KINDS) == set(KINDS)
    for tag, kind in KINDS.items():
        assert kind.example is not None and kind.example.entry["type"] == tag, tag
        assert (kind.rule is None) != (kind.walk is None), tag
        assert kind.build is not None, tag


EXAMPLES = [pytest.param(ex, id=f"{tag}-{i}" if i else tag) for tag in sorted(KINDS)
            for i, ex in enumerate(KINDS[tag].examples)]
"""Every worked example of every kind (its example and its variants)."""


@pytest.mark.parametrize("ex", EXAMPLES)
def test_kind_closed_form(ex):
    result = archcalc.analyze(_spec(ex.entry, ex.input))
    assert result.output_shape == ex.output
    assert (result.totals.params, result.totals.macs, result.totals.ops) == (ex.params, ex.macs, ex.ops)
    # activation memory is every row's output, float32 (per box in a per-proposal section: times the boxes)
    assert result.totals.activation_bytes == sum(prod(r.output_shape) * r.instances * 4 for r in result.layers)


@pytest.mark.parametrize("ex", EXAMPLES)
def test_kind_scales_with_batch(ex):
    one = archcalc.analyze(_spec(ex.entry, ex.input))
    eight = archcalc.analyze(_spec(ex.entry, ex.input), batch_size=8, dtype="bfloat16")
    assert eight.totals.params == one.totals.params
    assert eight.totals.macs == 8 * one.totals.macs
    assert eight.totals.ops == 8 * one.totals.ops
    assert eight.totals.activation_bytes == 8 * one.totals.activation_bytes // 2  # bf16: 2 bytes


@pytest.mark.parametrize("kind", sorted(tag for tag, k in KINDS.items() if not k.composite))
def test_leaf_model_validates_its_example(kind: str):
    """The registered model accepts its own (already expanded) example and refuses an unknown field."""
    model = LAYER_KINDS[kind]
    model.model_validate(dict(KINDS[kind].example.entry))
    with pytest.raises(Exception, match="not_a_field"):
        model.model_validate({**KINDS[kind].example.entry, "not_a_field": 1})


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
    from archcalc.report.table import render_report

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
