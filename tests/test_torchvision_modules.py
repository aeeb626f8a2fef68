"""The builders of the modern kinds against the modules torchvision (and ConvNeXt V2) use, value for value.

torchvision does not import with the CPU torch of the test machines, so each reference is also
transcribed here from its source (torchvision 0.29: ``models/convnext.py``, ``ops/misc.py``,
``ops/stochastic_depth.py``; ConvNeXt V2: ``models/utils.py`` of facebookresearch/ConvNeXt-V2).
Where torchvision imports (the GPU machine), the same tests run against its real classes too.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
import yaml

from archcalc import analyze, parse_spec

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from archcalc.torch.build import build_model, iter_row_modules  # noqa: E402 - after the torch skip

def _torchvision_imports() -> bool:
    if importlib.util.find_spec("torchvision") is None:
        return False
    try:  # installed but built for another torch: it fails on import
        import torchvision.ops  # noqa: F401
    except Exception:  # noqa: BLE001 - any failure means "not usable here"
        return False
    return True


IMPLS = ["transcribed", pytest.param("torchvision", marks=pytest.mark.skipif(
    not _torchvision_imports(), reason="torchvision does not import here (not installed, or built for another torch)"))]


# --------------------------------------------------------------------------- the references, transcribed


class LayerNorm2d(nn.LayerNorm):  # torchvision/models/convnext.py
    def forward(self, x: Any) -> Any:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


def stochastic_depth(input: Any, p: float, mode: str, training: bool = True) -> Any:  # torchvision/ops
    if not training or p == 0.0:
        return input
    survival_rate = 1.0 - p
    size = [input.shape[0]] + [1] * (input.ndim - 1) if mode == "row" else [1] * input.ndim
    noise = torch.empty(size, dtype=input.dtype, device=input.device)
    noise = noise.bernoulli_(survival_rate)
    if survival_rate > 0.0:
        noise.div_(survival_rate)
    return input * noise


class StochasticDepth(nn.Module):  # torchvision/ops/stochastic_depth.py
    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, input: Any) -> Any:
        return stochastic_depth(input, self.p, self.mode, self.training)


class SqueezeExcitation(nn.Module):  # torchvision/ops/misc.py
    def __init__(self, input_channels: int, squeeze_channels: int, activation: Any = nn.ReLU,
                 scale_activation: Any = nn.Sigmoid) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def forward(self, input: Any) -> Any:
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(input)))))
        return scale * input


class Permute(nn.Module):  # torchvision/ops/misc.py
    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: Any) -> Any:
        return torch.permute(x, self.dims)


class CNBlock(nn.Module):  # torchvision/models/convnext.py
    def __init__(self, dim: int, layer_scale: float, stochastic_depth_prob: float) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True),
            Permute([0, 2, 3, 1]),
            nn.LayerNorm(dim, eps=1e-6),
            nn.Linear(in_features=dim, out_features=4 * dim, bias=True),
            nn.GELU(),
            nn.Linear(in_features=4 * dim, out_features=dim, bias=True),
            Permute([0, 3, 1, 2]),
        )
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")

    def forward(self, input: Any) -> Any:
        result = self.layer_scale * self.block(input)
        result = self.stochastic_depth(result)
        result += input
        return result


class GRN(nn.Module):  # facebookresearch/ConvNeXt-V2 models/utils.py (channels-last input)
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1, 1, 1, dim))
        self.beta = nn.Parameter(torch.zeros(1, 1, 1, dim))

    def forward(self, x: Any) -> Any:
        gx = torch.norm(x, p=2, dim=(1, 2), keepdim=True)
        nx = gx / (gx.mean(dim=-1, keepdim=True) + 1e-6)
        return self.gamma * (x * nx) + self.beta + x


def reference(impl: str, name: str) -> Any:
    """The transcription above, or torchvision's own class."""
    if impl == "transcribed":
        return globals()[name]
    import torchvision  # noqa: F401 - only where it imports
    from torchvision.models import convnext
    from torchvision.ops import SqueezeExcitation as TVSqueezeExcitation
    from torchvision.ops import StochasticDepth as TVStochasticDepth
    return {"LayerNorm2d": convnext.LayerNorm2d, "CNBlock": convnext.CNBlock,
            "StochasticDepth": TVStochasticDepth, "SqueezeExcitation": TVSqueezeExcitation}[name]


# --------------------------------------------------------------------------- helpers


def built(input_shape: list[int], layers: list[dict[str, Any]], blocks: dict | None = None) -> tuple[Any, dict]:
    doc = {"name": "t", "input": input_shape, "layers": layers, **({"blocks": blocks} if blocks else {})}
    spec = parse_spec(yaml.safe_dump(doc, sort_keys=False))
    analysis = analyze(spec)
    model = build_model(spec, analysis=analysis)
    return model, dict(iter_row_modules(model, analysis))


def randomize(module: Any) -> None:
    """Every parameter random, so that no identity initialisation hides a difference."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn_like(p))


# --------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("impl", IMPLS)
def test_layernorm_is_layernorm2d(impl: str) -> None:
    torch.manual_seed(0)
    model, rows = built([8, 5, 5], [{"name": "norm", "type": "layernorm"}])
    ours = rows["norm"]
    theirs = reference(impl, "LayerNorm2d")(8, eps=1e-6)
    randomize(ours)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(2, 8, 5, 5)
    torch.testing.assert_close(model(x), theirs(x))


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("mode", ["row", "batch"])
def test_stochastic_depth_is_torchvisions(impl: str, mode: str) -> None:
    model, rows = built([4, 3, 3], [{"name": "sd", "type": "stochastic_depth", "p": 0.5, "mode": mode}])
    theirs = reference(impl, "StochasticDepth")(0.5, mode)
    x = torch.randn(16, 4, 3, 3)
    model.train(), theirs.train()
    torch.manual_seed(1)
    ours_out = model(x)
    torch.manual_seed(1)
    torch.testing.assert_close(ours_out, theirs(x))
    assert not torch.equal(ours_out, x)  # in training some rows were dropped and the rest rescaled
    model.eval()
    assert torch.equal(model(x), x)  # the identity at inference


@pytest.mark.parametrize("impl", IMPLS)
def test_se_with_hardsigmoid_is_squeeze_excitation(impl: str) -> None:
    """MobileNetV3's SE: ReLU, hardsigmoid gate, biases on both 1x1 convolutions."""
    torch.manual_seed(0)
    model, rows = built([16, 6, 6], [{"name": "se", "type": "se", "mid": 8, "gate": "hardsigmoid"}])
    theirs = reference(impl, "SqueezeExcitation")(16, 8, scale_activation=nn.Hardsigmoid)
    randomize(rows["se"])
    theirs.load_state_dict(rows["se"].state_dict())
    x = torch.randn(2, 16, 6, 6)
    torch.testing.assert_close(model.eval()(x), theirs.eval()(x))


@pytest.mark.parametrize("impl", IMPLS)
def test_multiplicative_join_is_squeeze_excitation(impl: str) -> None:
    """SE written out as `residual` with `join: multiply` computes torchvision's SqueezeExcitation."""
    torch.manual_seed(0)
    model, rows = built([16, 6, 6], [{"name": "gate", "type": "residual", "join": "multiply", "body": [
        {"type": "global_avgpool"}, {"name": "fc1", "type": "conv", "out": 4, "kernel": 1}, {"type": "relu"},
        {"name": "fc2", "type": "conv", "out": 16, "kernel": 1}, {"type": "sigmoid"}]}])
    theirs = reference(impl, "SqueezeExcitation")(16, 4)
    randomize(model)
    theirs.load_state_dict({k.replace("gate.", ""): v for k, v in model.state_dict().items()})
    x = torch.randn(2, 16, 6, 6)
    torch.testing.assert_close(model.eval()(x), theirs.eval()(x))


CNBLOCK = {"args": {}, "layers": [{"type": "residual", "body": [
    {"name": "dwconv", "type": "conv", "out": "$in_channels", "kernel": 7, "padding": 3, "groups": "$in_channels"},
    {"name": "norm", "type": "layernorm"},
    {"name": "pwconv1", "type": "linear", "out": "4 * $in_channels", "per_position": True},
    {"name": "gelu", "type": "gelu"},
    {"name": "pwconv2", "type": "linear", "out": "$in_channels // 4", "per_position": True},
    {"name": "layer_scale", "type": "layer_scale", "init": 0.5},
    {"name": "stochastic_depth", "type": "stochastic_depth", "p": 0.1}]}]}


@pytest.mark.parametrize("impl", IMPLS)
def test_convnext_block_is_cnblock(impl: str) -> None:
    """The ConvNeXt block of specs/convnext_tiny.yaml, module for module, against torchvision's CNBlock."""
    torch.manual_seed(0)
    model, _ = built([16, 9, 9], [{"name": "block", "use": "cnblock"}], blocks={"cnblock": CNBLOCK})
    theirs = reference(impl, "CNBlock")(16, 0.5, 0.1)
    randomize(model)
    ours = {k.removeprefix("block."): v for k, v in model.state_dict().items()}
    mapping = {"block.0": "dwconv", "block.2": "norm", "block.3": "pwconv1", "block.5": "pwconv2"}
    state = {}
    for key in theirs.state_dict():
        prefix, _, leaf = key.rpartition(".")
        state[key] = ours["layer_scale.gamma"] if key == "layer_scale" else ours[f"{mapping[prefix]}.{leaf}"]
    theirs.load_state_dict(state)
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in theirs.parameters())
    x = torch.randn(2, 16, 9, 9)
    torch.testing.assert_close(model.eval()(x), theirs.eval()(x))


def test_grn_is_convnext_v2s() -> None:
    """GRN on channels-first tensors equals the reference code on the same tensor channels-last."""
    torch.manual_seed(0)
    model, rows = built([12, 5, 5], [{"name": "grn", "type": "grn"}])
    theirs = GRN(12)
    randomize(rows["grn"])
    with torch.no_grad():
        theirs.gamma.copy_(rows["grn"].gamma.reshape(1, 1, 1, 12))
        theirs.beta.copy_(rows["grn"].beta.reshape(1, 1, 1, 12))
    x = torch.randn(2, 12, 5, 5)
    torch.testing.assert_close(model(x), theirs(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2))
