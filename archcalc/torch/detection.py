"""Torch modules for named tensors, feature pyramids and two-stage detectors (the builders of
:mod:`archcalc.kinds.pyramid` and :mod:`archcalc.kinds.detection`). Imports torch.

Named tensors travel with the side outputs in the :class:`~archcalc.torch.modules.Flow` a forward pass
carries (``flow.named``): a :class:`Tap` stores one, a :class:`FeaturePyramid` or :class:`LevelsBlock`
reads and stores several. A head shared over levels is built once, on the first level; the other levels'
modules are :class:`Shared` wrappers with the same names that call the first level's modules (no
parameters of their own, so every row's parameter count is the analyzer's).

RoIAlign and RoI pooling are written in plain torch operations (torchvision's compiled operators are not
needed), each as one autograd function that keeps its inputs and recomputes in backward:

* :func:`roi_align` follows torchvision's ``roi_align(aligned=False)``: each box scaled to the level,
  at least 1 pixel per side, ``sampling_ratio`` samples per bin and axis at the bin's sub-cell centres,
  bilinear interpolation (samples beyond one pixel outside the map are 0), the mean per bin. With several
  maps each box goes to one level by torchvision's ``LevelMapper`` (canonical size 224 at level 4),
  the levels' scales inferred from their sizes as ``MultiScaleRoIAlign`` does.
* :func:`roi_pool` follows torchvision's ``roi_pool``: box corners rounded on the map, each bin the
  maximum over ``floor``/``ceil`` bin bounds (``adaptive_max_pool2d`` of the box's region; boxes lie
  inside the map).

The :class:`FixedBoxes` of ``proposals`` / ``detections`` rows do not run NMS: they emit the same
``count`` boxes for every image (sizes spread geometrically from 16 pixels to the image's shorter side,
aspect ratios 1/2, 1, 2, positions spread by a low-discrepancy sequence, all inside the image), so a trace
by fvcore or a measurement sees exactly ``count`` boxes per image.
"""

from __future__ import annotations

__all__ = ["Tap", "FeaturePyramid", "FPNLevel", "LevelsBlock", "Shared", "FixedBoxes", "PerProposal", "RoIOp",
           "FrozenBatchNorm", "build_fpn", "build_levels", "fixed_boxes", "roi_align", "roi_pool"]

import math
from typing import Any

import torch
import torch.nn.functional as TF
from torch import nn

from .modules import Add, Block, BuildError, ConcatBlock, ResidualBlock, SideBlock, _call


def _named(sides: Any, path: str) -> dict[str, torch.Tensor]:
    named = getattr(sides, "named", None)
    if named is None:
        raise BuildError(f"{path}: named tensors need the model's forward pass (call the whole model)")
    return named


class Tap(Block):
    """Stores the current tensor under ``tensor`` and passes it on."""

    def __init__(self, tensor: str) -> None:
        super().__init__()
        self.tensor = tensor

    def forward(self, x: torch.Tensor, sides: Any = None) -> torch.Tensor:
        _named(sides, "tap")[self.tensor] = x
        return x

    def extra_repr(self) -> str:
        return f"tensor={self.tensor!r}"


class FPNLevel(Block):
    """One pyramid level: ``lateral`` 1x1, (``upsample`` of the level above, ``add``), ``output`` 3x3.
    ``forward(c, above)`` takes the coarser level's sum in a list it empties (so the sum is freed right
    after its upsampling) and leaves this level's sum in ``inner`` for the next level."""

    inner: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, above: list | None = None) -> torch.Tensor:  # type: ignore[override]
        mods = self._modules
        inner = mods["lateral"](x)
        if above:
            inner = mods["add"](inner, mods["upsample"](above.pop()))
        self.inner = inner
        return mods["output"](inner)


class FeaturePyramid(Block):
    """torchvision's ``FeaturePyramidNetwork`` over named tensors (``LastLevelMaxPool`` when ``extra``)."""

    def __init__(self, inputs: list[str] | None, outputs: list[str], extra: bool) -> None:
        super().__init__()
        self.inputs, self.outputs, self.extra = inputs, list(outputs), extra

    def forward(self, x: torch.Tensor, sides: Any = None) -> torch.Tensor:
        named = _named(sides, "fpn")
        sources = [named[n] for n in self.inputs] if self.inputs else [x]
        above: list = []
        for i in reversed(range(len(sources))):
            level = self._modules[self.outputs[i]]
            named[self.outputs[i]] = level(sources[i], above)
            above = [level.inner]
            level.inner = None
        above.clear()
        if self.extra:
            named[self.outputs[-1]] = self._modules[self.outputs[-1]](named[self.outputs[-2]])
        return x


def build_fpn(layer: Any, ctx: Any) -> FeaturePyramid:
    names = layer.inputs or ["input"]
    block = FeaturePyramid(layer.inputs, layer.outputs, layer.extra == "maxpool")
    for i in range(len(names)):
        scope = f"{ctx.path}.{layer.outputs[i]}"
        level = FPNLevel()
        level.add_child("lateral", nn.Conv2d(ctx.row(f"{scope}.lateral").input_shape[0], layer.out, 1))
        if i < len(names) - 1:
            level.add_child("upsample", nn.Upsample(size=tuple(ctx.row(f"{scope}.upsample").output_shape[1:]),
                                                    mode="nearest"))
            level.add_child("add", Add())
        level.add_child("output", nn.Conv2d(layer.out, layer.out, 3, padding=1))
        block.add_child(layer.outputs[i], level)
    if layer.extra == "maxpool":
        block.add_child(layer.outputs[-1], nn.MaxPool2d(1, 2))
    return block


class Shared(nn.Module):
    """Calls another module's ``forward`` (a head shared over levels): no parameters of its own, and the
    other module's hooks and scope are not entered, so its row is this one's."""

    def __init__(self, target: nn.Module) -> None:
        super().__init__()
        self.__dict__["target"] = target  # not a child: its parameters are counted where it is registered

    def forward(self, *args: Any) -> Any:
        return self.target.forward(*args)

    def extra_repr(self) -> str:
        return f"shares={type(self.target).__name__}"


_MIRRORED = (Block, SideBlock, ResidualBlock, ConcatBlock)


def mirror(module: nn.Module, path: str) -> nn.Module:
    """The same structure as ``module``, every leaf a :class:`Shared` wrapper of the original."""
    if type(module) in _MIRRORED:
        copy = type(module)()
        for key, value in vars(module).items():
            if not key.startswith("_") and key != "training":
                copy.__dict__[key] = value  # body_names, adds, branch_names
        for name, child in module._modules.items():
            copy.add_child(name, mirror(child, f"{path}.{name}"))  # type: ignore[arg-type]
        return copy
    if isinstance(module, Block):
        raise BuildError(f"{path}: a {type(module).__name__} cannot be shared over levels")
    return Shared(module)


class LevelsBlock(Block):
    """One head applied to each named input; the children are named by the inputs."""

    def __init__(self, inputs: list[str] | None, outputs: list[str]) -> None:
        super().__init__()
        self.inputs, self.outputs = inputs, list(outputs)

    def forward(self, x: torch.Tensor, sides: Any = None) -> torch.Tensor:
        named = _named(sides, "levels")
        for i, name in enumerate(self.inputs or ["input"]):
            named[self.outputs[i]] = self._modules[name](named[name] if self.inputs else x, sides)
        return x


def build_levels(layer: Any, ctx: Any) -> LevelsBlock:
    names = layer.inputs or ["input"]
    block = LevelsBlock(layer.inputs, layer.outputs)
    first = Block()
    scope = f"{ctx.path}.{names[0]}"
    ctx.builder.sequence(layer.layers, scope, tuple(ctx.row(scope).input_shape), first)
    block.add_child(names[0], first)
    for name in names[1:]:
        block.add_child(name, mirror(first, f"{ctx.path}.{name}"))
    return block


# --------------------------------------------------------------------------- boxes


def fixed_boxes(count: int, image: tuple[int, ...]) -> list[list[float]]:
    """``count`` boxes ``[x1, y1, x2, y2]`` inside an ``image`` of ``(H, W)``: sizes from 16 pixels (or the
    shorter side) up to the shorter side, geometrically; aspect ratios 1/2, 1, 2 in turn; positions by the
    golden-ratio sequences. Deterministic."""
    height, width = (image[0], image[1]) if len(image) >= 2 else (1, image[0] if image else 1)
    short = min(height, width)
    smallest = min(16.0, float(short))
    boxes = []
    for i in range(count):
        t = (i + 0.5) / count
        size = smallest * (short / smallest) ** t
        ratio = (0.5, 1.0, 2.0)[i % 3]
        w, h = min(size * math.sqrt(ratio), width), min(size / math.sqrt(ratio), height)
        u, v = (i * 0.6180339887) % 1.0, (i * 0.7548776662) % 1.0
        x1, y1 = u * (width - w), v * (height - h)
        boxes.append([x1, y1, x1 + w, y1 + h])
    return boxes


class FixedBoxes(nn.Module):
    """The boxes of a ``proposals`` / ``detections`` row: :func:`fixed_boxes` for every image, ``[B, count, 4]``."""

    def __init__(self, count: int, image: tuple[int, ...]) -> None:
        super().__init__()
        self.count, self.boxes = count, fixed_boxes(count, tuple(image))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        boxes = torch.tensor(self.boxes, dtype=x.dtype if x.is_floating_point() else torch.float32, device=x.device)
        return boxes.unsqueeze(0).repeat(x.shape[0], 1, 1)

    def extra_repr(self) -> str:
        return f"count={self.count}"


class PerProposal(Block):
    """Runs its children on ``[B * K, ...]`` (each box a sample) and returns ``[B, K, ...]``; views only."""

    def forward(self, x: torch.Tensor, sides: Any = None) -> torch.Tensor:
        y = x.flatten(0, 1)
        for module in self._modules.values():
            y = _call(module, y, sides)
        return y.view(x.shape[0], x.shape[1], *y.shape[1:])


# --------------------------------------------------------------------------- RoIAlign and RoI pooling


def _scales(maps: list[torch.Tensor], image: tuple[int, ...]) -> list[float]:
    """Each map's scale as ``MultiScaleRoIAlign`` infers it: ``2 ** round(log2(map height / image height))``."""
    return [2.0 ** round(math.log2(m.shape[-2] / image[0])) for m in maps]


def _levels(boxes: torch.Tensor, scales: list[float]) -> torch.Tensor:
    """torchvision's ``LevelMapper``: ``floor(4 + log2(sqrt(area) / 224) + 1e-6)``, clamped to the levels."""
    k_min, k_max = -math.log2(scales[0]), -math.log2(scales[-1])
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    level = torch.floor(4 + torch.log2(area.sqrt() / 224) + 1e-6)
    return (level.clamp(min=k_min, max=k_max) - k_min).to(torch.int64)


def _axis(pos: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Bilinear neighbours and weights along one axis, as torchvision's ``bilinear_interpolate``."""
    valid = ((pos >= -1.0) & (pos <= size)).to(pos.dtype)
    pos = pos.clamp(min=0)
    low = pos.floor().to(torch.int64)
    end = low >= size - 1
    low = torch.where(end, size - 1, low)
    high = torch.where(end, size - 1, low + 1)
    frac = torch.where(end, torch.zeros_like(pos), pos - low.to(pos.dtype))
    return low, high, (1 - frac) * valid, frac * valid


def _align_level(fmap: torch.Tensor, boxes: torch.Tensor, index: torch.Tensor, scale: float, size: tuple[int, int],
                 ratio: int, mask: torch.Tensor | None, acc: torch.Tensor | None) -> torch.Tensor:
    """Adds the RoIAlign sums of every box (image coordinates) on one map to ``acc`` ``[N, oh * ow, C]`` (a new
    one when None); ``mask`` (``[N]``, 0 or 1) keeps the boxes this level serves. Every box is gathered on
    every level used, so the memory does not depend on how the boxes spread over the levels."""
    height, width = fmap.shape[-2:]
    oh, ow = size
    x1, y1, x2, y2 = (boxes * scale).unbind(1)
    steps_y = (torch.arange(oh * ratio, dtype=boxes.dtype, device=boxes.device) + 0.5) / ratio
    steps_x = (torch.arange(ow * ratio, dtype=boxes.dtype, device=boxes.device) + 0.5) / ratio
    ys = y1[:, None] + ((y2 - y1).clamp(min=1.0) / oh)[:, None] * steps_y
    xs = x1[:, None] + ((x2 - x1).clamp(min=1.0) / ow)[:, None] * steps_x
    ylo, yhi, wylo, wyhi = _axis(ys, height)
    xlo, xhi, wxlo, wxhi = _axis(xs, width)
    if mask is not None:
        wylo, wyhi = wylo * mask[:, None], wyhi * mask[:, None]
    flat = fmap.flatten(2)  # [B, C, H*W], a view
    n = boxes.shape[0]
    for iy in range(ratio):
        for ix in range(ratio):
            for yi, wy in ((ylo[:, iy::ratio], wylo[:, iy::ratio]), (yhi[:, iy::ratio], wyhi[:, iy::ratio])):
                for xi, wx in ((xlo[:, ix::ratio], wxlo[:, ix::ratio]), (xhi[:, ix::ratio], wxhi[:, ix::ratio])):
                    where = (yi[:, :, None] * width + xi[:, None, :]).reshape(n, oh * ow)
                    weight = (wy[:, :, None] * wx[:, None, :]).reshape(n, oh * ow, 1)
                    values = flat[index[:, None], :, where]  # [n, oh*ow, C]
                    acc = values.mul_(weight) if acc is None else acc.addcmul_(values, weight)
    assert acc is not None
    return acc


def roi_align(maps: list[torch.Tensor], boxes: torch.Tensor | None, size: tuple[int, int], ratio: int,
              image: tuple[int, ...]) -> torch.Tensor:
    """``[N, C, oh, ow]``: RoIAlign of ``boxes`` ``[B * K, 4]`` (image ``K`` boxes per image) on ``maps``
    ``[B, C, H, W]`` (finest first), or of each whole map when ``boxes`` is None (see the module doc)."""
    first = maps[0]
    if boxes is None:
        b, _, h, w = first.shape
        boxes = torch.tensor([[0.0, 0.0, float(w), float(h)]], dtype=first.dtype).repeat(b, 1)
        index, scales, level = torch.arange(b), [1.0], None
    else:
        index = torch.arange(boxes.shape[0]) // (boxes.shape[0] // first.shape[0])
        scales = _scales(maps, image)
        level = _levels(boxes, scales) if len(maps) > 1 else None
    n, c = boxes.shape[0], first.shape[1]
    acc = None
    for k, fmap in enumerate(maps):
        if level is None:
            acc = _align_level(fmap, boxes, index, scales[k], size, ratio, None, acc)
            break
        chosen = level == k
        if bool(chosen.any()):
            mask = None if bool(chosen.all()) else chosen.to(boxes.dtype)
            acc = _align_level(fmap, boxes, index, scales[k], size, ratio, mask, acc)
    assert acc is not None
    acc.div_(ratio * ratio)
    return acc.permute(0, 2, 1).reshape(n, c, *size)


def _round(value: float) -> int:
    """C's ``round`` (halves away from zero), as torchvision's kernel rounds box corners."""
    return int(math.floor(abs(value) + 0.5)) * (1 if value >= 0 else -1)


def roi_pool(maps: list[torch.Tensor], boxes: torch.Tensor | None, size: tuple[int, int],
             image: tuple[int, ...]) -> torch.Tensor:
    """``[N, C, oh, ow]``: RoI max pooling of ``boxes`` on the first map (Fast R-CNN has one), or of each
    whole map when ``boxes`` is None."""
    fmap = maps[0]
    if boxes is None:
        return TF.adaptive_max_pool2d(fmap, size)
    scale = _scales(maps[:1], image)[0]
    per_image = boxes.shape[0] // fmap.shape[0]
    height, width = fmap.shape[-2:]
    pieces = []
    for i, (x1, y1, x2, y2) in enumerate(boxes.tolist()):
        left, top = min(_round(x1 * scale), width - 1), min(_round(y1 * scale), height - 1)
        right, bottom = max(_round(x2 * scale), left), max(_round(y2 * scale), top)
        region = fmap[i // per_image, :, top:min(bottom + 1, height), left:min(right + 1, width)]
        pieces.append(TF.adaptive_max_pool2d(region, size))
    return torch.stack(pieces)


class _RoIFunction(torch.autograd.Function):
    """One autograd node: keeps the boxes and the maps, recomputes in backward."""

    @staticmethod
    def forward(ctx: Any, kind: str, size: tuple[int, int], ratio: int, image: tuple[int, ...],
                boxes: torch.Tensor | None, *maps: torch.Tensor) -> torch.Tensor:
        ctx.meta = (kind, size, ratio, image, boxes is not None)
        ctx.save_for_backward(*(() if boxes is None else (boxes,)), *maps)
        return _roi(kind, list(maps), boxes, size, ratio, image)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> Any:
        kind, size, ratio, image, has_boxes = ctx.meta
        saved = ctx.saved_tensors
        boxes, maps = (saved[0], saved[1:]) if has_boxes else (None, saved)
        with torch.enable_grad():
            leaves = [m.detach().requires_grad_(True) for m in maps]
            out = _roi(kind, leaves, boxes, size, ratio, image)
            grads = torch.autograd.grad(out, leaves, grad, allow_unused=True)
        return (None, None, None, None, None, *grads)


def _roi(kind: str, maps: list[torch.Tensor], boxes: torch.Tensor | None, size: tuple[int, int], ratio: int,
         image: tuple[int, ...]) -> torch.Tensor:
    if kind == "roi_align":
        return roi_align(maps, boxes, size, ratio, image)
    return roi_pool(maps, boxes, size, image)


class RoIOp(Block):
    """``roi_align`` / ``roi_pool``: the box per sample (``[B * K, 4]``) and the named maps, or the whole input."""

    def __init__(self, kind: str, size: tuple[int, int], ratio: int, features: list[str],
                 image: tuple[int, ...]) -> None:
        super().__init__()
        self.kind, self.size, self.ratio, self.features, self.image = kind, tuple(size), ratio, features, tuple(image)

    def forward(self, x: torch.Tensor, sides: Any = None) -> torch.Tensor:
        if self.features:
            named = _named(sides, self.kind)
            maps = [named[n] for n in self.features]
            return _RoIFunction.apply(self.kind, self.size, self.ratio, self.image, x, *maps)
        return _RoIFunction.apply(self.kind, self.size, self.ratio, self.image, None, x)

    def extra_repr(self) -> str:
        return f"{self.kind}, output_size={list(self.size)}, sampling_ratio={self.ratio}, features={self.features}"


class FrozenBatchNorm(nn.Module):
    """torchvision's ``FrozenBatchNorm2d``: weight, bias, running mean and variance are buffers (no parameters);
    ``x * scale + shift`` as one ``addcmul``."""

    def __init__(self, channels: int, spatial_axes: int, eps: float) -> None:
        super().__init__()
        self.register_buffer("weight", torch.ones(channels))
        self.register_buffer("bias", torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))
        self.eps = eps
        self.view = (channels, *(1,) * spatial_axes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.weight * (self.running_var + self.eps).rsqrt()
        shift = self.bias - self.running_mean * scale
        return torch.addcmul(shift.reshape(self.view), x, scale.reshape(self.view))
