"""Build the ``torch.nn.Module`` a spec describes, one module per analyzer row.

Module paths are the analyzer's row names: the row ``conv2_x.block1.conv1`` is the module
``model.get_submodule("conv2_x.block1.conv1")``. Composites nest the way their dotted names
nest, and the rows a composite adds for itself are modules too:

===============================  ==============================================================
residual ``P``                   body layers ``P.<name>``, ``P.shortcut`` (projection: ``.conv``,
                                 ``.batchnorm``; ResNet option A: ``.zeropad``; or the listed
                                 layers), ``P.add`` (:class:`Add`), ``P.act`` (post-add activation)
concat ``P``                     one container per branch ``P.<branch>`` (empty = identity),
                                 ``P.concat`` (:class:`Concat`)
side output ``P``                a :class:`SideBlock` with children ``P.<name>``; the model's forward
                                 returns ``(output, *side heads)`` when a spec has side outputs
squeeze-excite (one row)         one module; its pieces are children named as torchvision's
                                 ``SqueezeExcitation`` (avgpool, fc1, activation, fc2, scale_activation)
===============================  ==============================================================

The builder takes each layer's input shape from the analyzer (channels, 'same' padding and the
projection shortcut's stride all depend on it). Each kind's builder lives with the kind
(:mod:`archcalc.kinds`); this module walks the spec and hands each builder a :class:`Ctx`.
This module imports torch: import it only when torch is wanted.
"""

from __future__ import annotations

__all__ = ["build_model", "BuildError", "Ctx", "iter_row_modules"]

from dataclasses import dataclass
from typing import Any, Iterator

import torch
from torch import nn

from ..analysis import Analysis, GroupRow, LayerRow, analyze
from ..errors import Location
from ..geometry import ShapeError, per_axis
from ..kinds import KINDS
from ..spec import Spec
from .modules import Block, BuildError, SideBlock, SpecModel


@dataclass(frozen=True)
class Ctx:
    """What a builder knows: the layer's dotted path, its per-sample input shape, and (for
    composites) a way to build nested layer lists."""

    builder: "_Builder"
    path: str
    shape: tuple[int, ...]

    @property
    def spatial(self) -> tuple[int, ...]:
        if len(self.shape) < 2:
            raise BuildError(f"layer {self.path} needs a spatial input, got {list(self.shape)}")
        return self.shape[1:]

    def axes(self, value: Any, default: Any = None) -> tuple[int, ...]:
        try:
            return per_axis(default if value is None else value, len(self.spatial), "value")
        except ShapeError as exc:
            raise BuildError(f"layer {self.path}: {exc}") from None

    def row(self, path: str | None = None) -> LayerRow | GroupRow:
        """The analyzer's row for ``path`` (default: this layer's)."""
        return self.builder.row(self.path if path is None else path)

    def sequence(self, layers: Any, scope: str, into: Block) -> tuple[int, ...]:
        return self.builder.sequence(layers, scope, self.shape, into)


class _Builder:
    def __init__(self, analysis: Analysis):
        self.input_shape = tuple(analysis.input_shape)  # the network's input (an image's size for box rows)
        self.rows: dict[str, LayerRow | GroupRow] = {}
        for r in (*analysis.layers, *analysis.groups):
            if r.name in self.rows:
                raise BuildError(f"two analyzer rows are named {r.name!r}; give the layers distinct names")
            self.rows[r.name] = r

    def row(self, path: str) -> LayerRow | GroupRow:
        try:
            return self.rows[path]
        except KeyError:
            raise BuildError(f"the analyzer has no row {path!r}") from None

    def sequence(self, layers: Any, scope: str, shape: tuple[int, ...], into: Block) -> tuple[int, ...]:
        for layer in layers:
            path = f"{scope}.{layer.name}" if scope else layer.name
            kind = KINDS.get(layer.type)
            if kind is None or kind.build is None:  # pragma: no cover - the registry refuses this at import
                raise BuildError(f"no torch builder for layer kind {layer.type!r}", Location(layer=path))
            module = kind.build(layer, Ctx(self, path, shape))
            into.add_child(layer.name, module)
            if not isinstance(module, SideBlock):  # the main path goes on with a side output's input
                shape = tuple(self.row(path).output_shape)
        return shape


def build_model(spec: Spec, *, analysis: Analysis | None = None, device: str | torch.device | None = None) -> SpecModel:
    """The ``torch.nn.Module`` ``spec`` describes, with module paths equal to analyzer row names.

    ``analysis`` reuses an existing :func:`archcalc.analyze` result (batch size is irrelevant);
    ``device="meta"`` builds without allocating weights (parameter counting only).
    The model is returned in training mode, freshly initialized, as ``nn.Module`` constructors leave it.
    """
    if analysis is None:
        analysis = analyze(spec)
    builder = _Builder(analysis)
    model = SpecModel(spec.name, spec.input_shape)
    if device is not None:
        with torch.device(device):
            builder.sequence(spec.layers, "", tuple(spec.input_shape), model)
    else:
        builder.sequence(spec.layers, "", tuple(spec.input_shape), model)
    names = {name for name, _ in model.named_modules()}
    for r in (*analysis.layers, *analysis.groups):
        if r.name not in names:  # pragma: no cover - a builder bug, caught by the tests
            raise BuildError(f"analyzer row {r.name!r} has no module in the built model")
    return model


def iter_row_modules(model: SpecModel, analysis: Analysis) -> Iterator[tuple[str, nn.Module]]:
    """(row name, module) for every analyzer row and group of the model (module paths are row names)."""
    modules = dict(model.named_modules())
    for r in (*analysis.layers, *analysis.groups):
        yield r.name, modules[r.name]
