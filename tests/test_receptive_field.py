"""Receptive fields against torch itself: the support of an input gradient.

Random small chains (seeded) of convolutions (stride, dilation, padding), average pools,
transposed convolutions, adaptive pools, nearest/linear upsampling, crops and residual blocks
are built with the project's torch builder in float64 with every weight 1 and every bias 0, so
no cancellation hides a dependency. For each output position ``u`` (channel 0) the gradient of
``out[u]`` w.r.t. an input of ones gives the positions it depends on; archcalc's field of ``u``
must contain them, must equal them whenever it lies inside the input (no padding involved), and
the largest of them must be archcalc's receptive-field size.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
import yaml

from archcalc import AnalysisError, analyze, parse_spec

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

from archcalc.torch.build import build_model  # noqa: E402 - after the torch skip


def _layer(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(["conv", "conv", "avgpool", "conv_transpose", "conv_transpose", "adaptive",
                       "nearest", "linear", "linear_size", "crop", "residual"])
    if kind == "conv":
        k = rng.randint(1, 4)
        return {"type": "conv", "out": 2, "kernel": k, "stride": rng.randint(1, 3),
                "dilation": rng.randint(1, 2), "padding": rng.randint(0, k)}
    if kind == "avgpool":
        k = rng.randint(2, 3)
        return {"type": "avgpool", "kernel": k, "stride": rng.randint(1, 2), "padding": rng.randint(0, k // 2)}
    if kind == "conv_transpose":
        k = rng.randint(1, 4)
        return {"type": "conv_transpose", "out": 2, "kernel": k, "stride": rng.randint(1, 3),
                "padding": rng.randint(0, max(0, k - 1)), "dilation": rng.randint(1, 2)}
    if kind == "adaptive":
        return {"type": "adaptive_avgpool", "output_size": "ratio"}  # filled in from the input size
    if kind == "nearest":
        return {"type": "upsample", "scale": rng.randint(2, 3), "mode": "nearest"}
    if kind == "linear":
        return {"type": "upsample", "scale": rng.randint(2, 3), "mode": "linear"}
    if kind == "linear_size":
        return {"type": "upsample", "size": "ratio", "mode": "linear"}
    if kind == "crop":
        return {"type": "crop", "size": "ratio"}
    k = rng.choice([1, 3])
    return {"type": "residual", "body": [{"type": "conv", "out": 2, "kernel": k, "padding": k // 2}]}


def _chain(rng: random.Random, length: int) -> list[dict[str, Any]] | None:
    """A chain of 1-4 layers on [2, length] whose tensors stay between 3 and 200 long."""
    spec_layers: list[dict[str, Any]] = [{"type": "conv", "out": 2, "kernel": 1}]  # 2 channels in
    size = length
    for _ in range(rng.randint(1, 4)):
        layer = _layer(rng)
        if layer.get("output_size") == "ratio":
            layer["output_size"] = rng.randint(max(1, size // 3), size)
        if layer.get("size") == "ratio":
            layer["size"] = rng.randint(max(1, size - 6), size) if layer["type"] == "crop" else rng.randint(size // 2 + 1, 2 * size)
        try:
            spec = _spec(length, spec_layers + [layer])
            a = analyze(spec)
        except AnalysisError:
            continue
        if a.layers[-1].fields is None:  # incommensurate ratios: period beyond MAX_PERIOD, not tracked
            continue
        size = a.output_shape[-1]
        if not 3 <= size <= 200:
            return None
        spec_layers.append(layer)
        if layer["type"] == "crop":  # a crop's outside reads real pixels: keep it last (see _check)
            break
    return spec_layers


def _spec(length: int, layers: list[dict[str, Any]], rank: int = 1) -> Any:
    return parse_spec(yaml.safe_dump({"name": "rf", "input": [2, *([length] * rank)], "layers": layers}))


def _dependencies(spec: Any) -> list[tuple[int, int] | None]:
    """Per output position (channel 0, along the last axis, at the centre of the others): the
    extent of the positions of the last input axis its gradient is non-zero at.

    The chains are linear (convolutions, average pools, interpolation, sums) with weights 1 and
    biases 0, so the gradient of ``out[u]`` w.r.t. input position ``i`` is the response at ``u``
    to a unit impulse at ``i``: one batched forward pass gives every gradient at once. One
    backward pass checks that for the central output.
    """
    model = build_model(spec).double().eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.fill_(0.0 if name.endswith("bias") else 1.0)
    length = spec.input_shape[-1]
    impulses = torch.zeros(length, *spec.input_shape, dtype=torch.float64)
    for i in range(length):
        impulses[i, ..., i] = 1.0  # every channel and every position of the other axes
    with torch.no_grad():
        y = model(impulses)
    centre = tuple(s // 2 for s in y.shape[2:-1])
    jacobian = y[(slice(None), 0, *centre)].T  # [L_out, L_in]: d out[u] / d (line i of the input)
    x = torch.ones(1, *spec.input_shape, dtype=torch.float64, requires_grad=True)
    out = model(x)
    mid = out.shape[-1] // 2
    (g,) = torch.autograd.grad(out[(0, 0, *centre, mid)], x)
    assert torch.equal((g != 0).reshape(-1, length).any(dim=0), jacobian[mid] != 0)
    deps: list[tuple[int, int] | None] = []
    for row in jacobian:
        hit = (row != 0).nonzero().flatten().tolist()
        deps.append((hit[0], hit[-1]) if hit else None)
    return deps


def _check(spec: Any, length: int) -> bool:
    """Compare every output's dependencies with archcalc; True when the size check applied."""
    analysis = analyze(spec)
    row = analysis.layers[-1]
    assert row.fields is not None, "small chains have short periods: their fields are tracked"
    field = row.fields[-1]
    size, jump, start = row.rf[-1]
    assert (size, jump) == (field.size, field.shift / field.period)
    if field.at(0) is not None:
        f0, l0 = field.at(0)
        assert start == (f0 + l0 + 1) / 2
    deps = _dependencies(spec)
    inside = []
    for u, dep in enumerate(deps):
        model = field.at(u)
        if model is None:
            assert dep is None, f"output {u}: torch depends on {dep}, archcalc on nothing"
            continue
        lo, hi = model
        if dep is not None:  # archcalc's field contains every dependency
            assert lo <= dep[0] and dep[1] <= hi, f"output {u}: torch {dep} outside archcalc {model}"
        if 0 <= lo and hi < length:  # no padding read on the way (crops are last): exactly the field
            assert dep == (lo, hi), f"output {u}: torch {dep} vs archcalc {model}"
            inside.append(u)
    # a whole period of outputs inside the input: their largest field is the size
    if len(inside) >= field.period and inside[-1] - inside[0] + 1 >= field.period + 1:
        assert max(deps[u][1] - deps[u][0] + 1 for u in inside) == size  # type: ignore[index]
        return True
    return False


def test_random_chains_match_torch_gradients():
    rng = random.Random(20240609)
    checked = sized = 0
    while checked < 50:
        length = rng.randint(24, 64)
        layers = _chain(rng, length)
        if layers is None or len(layers) < 2:
            continue
        sized += _check(_spec(length, layers), length)
        checked += 1
    assert sized >= 25  # most chains are checked for their size, not only for containment


@pytest.mark.parametrize("layers,length,size", [
    # 2x2 stride-2 up-conv: each output reads one input
    ([{"type": "conv_transpose", "out": 1, "kernel": 2, "stride": 2}], 8, 1),
    # k3/s2 conv then k4/s2 up-conv: an up-conv output reads 2 conv outputs, 2 apart: 3 + 2 = 5
    ([{"type": "conv", "out": 1, "kernel": 3, "stride": 2}, {"type": "conv_transpose", "out": 1, "kernel": 4, "stride": 2}], 21, 5),
    # adaptive 7 -> 3, 8 -> 7, 13 -> 6: largest windows 3, 2, 3
    ([{"type": "adaptive_avgpool", "output_size": 3}], 7, 3),
    ([{"type": "adaptive_avgpool", "output_size": 7}], 8, 2),
    ([{"type": "adaptive_avgpool", "output_size": 6}], 13, 3),
    # upsampling: nearest reads 1 input, linear 2
    ([{"type": "upsample", "scale": 2, "mode": "nearest"}], 8, 1),
    ([{"type": "upsample", "scale": 2, "mode": "linear"}], 8, 2),
])
def test_audit_examples(layers: list[dict[str, Any]], length: int, size: int):
    spec = _spec(length, [{"type": "conv", "out": 2, "kernel": 1}] + layers)
    assert analyze(spec).layers[-1].receptive_field == (size,)
    _check(spec, length)


def test_two_dimensional_chain():
    layers = [{"type": "conv", "out": 2, "kernel": 3, "stride": 2, "padding": 1},
              {"type": "upsample", "scale": 2, "mode": "bilinear"},
              {"type": "conv_transpose", "out": 2, "kernel": 3, "stride": 2, "padding": 1},
              {"type": "adaptive_avgpool", "output_size": 9}]
    spec = _spec(16, layers, rank=2)
    row = analyze(spec).layers[-1]
    assert row.receptive_field[0] == row.receptive_field[1]
    _check(spec, 16)  # containment and interior equality along the last axis (asserts inside)
