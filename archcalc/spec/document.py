"""The top level of a spec file: metadata, blocks, layers, reference figures, accuracy.

Layer entries stay raw here (``list[Any]``): they may still hold block uses, ``repeat`` and
``$`` expressions, which :mod:`archcalc.spec.expand` resolves before the layers are validated
against :mod:`archcalc.spec.layers`.
"""

from __future__ import annotations

__all__ = ["SpecDocument", "BlockDef", "ReferenceSet", "ConventionEntry", "Accuracy", "Scale", "QUANTITIES", "UNITS"]

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..geometry import MAX_DIM

Quantity = Literal["output_shape", "activation_bytes", "params", "macs", "ops", "seed_flops", "flops"]
QUANTITIES: tuple[str, ...] = Quantity.__args__  # type: ignore[attr-defined]

# Strict numbers: YAML's true/false and quoted "3" are not numbers (pydantic's lax mode would take
# true as 1); an integer is still accepted where a float is expected.
Int = Annotated[int, Field(strict=True)]
Float = Annotated[float, Field(strict=True)]
Count = Annotated[int, Field(strict=True, ge=1, le=MAX_DIM)]

Unit = Literal["1", "B", "K", "M", "G", "T", "Ki", "Mi", "Gi", "KB", "MB", "GB", "KiB", "MiB", "GiB"]
UNITS: dict[str, int] = {
    "1": 1, "B": 1,
    "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
    "KB": 10**3, "MB": 10**6, "GB": 10**9,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30,
    "KiB": 2**10, "MiB": 2**20, "GiB": 2**30,
}
"""Multiplier of each printed unit. Lecture tables' "KB" are 1024 bytes: record them as KiB."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BlockDef(_Strict):
    """A reusable, parametrized group of layers: ``blocks: {name: {args: ..., layers: [...]}}``."""

    doc: str | None = None
    args: dict[str, Any] = Field(
        default_factory=dict,
        description="Arguments and their defaults. A type name (int, float, bool, str, list, any, "
                    "channels) makes an argument required; any other value is its default. "
                    "'channels' arguments are scaled by compound width scaling.")
    layers: Annotated[list[Any], Field(min_length=1)]


class Scale(_Strict):
    """Compound scaling (EfficientNet): multiply widths and depths, set the input resolution."""

    width: Float = Field(default=1.0, gt=0, le=16)
    depth: Float = Field(default=1.0, gt=0, le=16)
    resolution: Count | Annotated[list[Count], Field(min_length=1, max_length=3)] | None = Field(
        default=None, description="New input size (all spatial axes, or one per axis), a positive integer.")
    divisor: Annotated[int, Field(strict=True, ge=1, le=2**16)] = Field(
        default=8, description="Channel counts are rounded to multiples of this.")


Figure = Union[Int, Float, list[Int]]


class ConventionEntry(_Strict):
    """A printed figure that is right under another counting convention (not a slip).

    ``archcalc check`` recomputes the figure under the convention (the spec loaded with
    ``params``, the rows of the ``without`` kinds left out, the ops of the ``with_ops`` kinds added to
    the MACs, batch-norm running statistics added)
    and requires it to equal ``value`` and to give the printed figure (rounded, or ``truncate``d).
    """

    status: Literal["convention"] = Field(description="'convention': the source counts differently, it is not wrong.")
    convention: str = Field(description="The counting convention that reproduces the printed figure, in words.")
    value: int = Field(ge=0, description="The figure under that convention, in base units (parameters, MACs, bytes).")
    note: str | None = Field(default=None, description="Evidence or remarks.")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Spec $variables under which the convention counts (a variant, e.g. "
                                          "{shortcut: zeropad} for ResNet option A).")
    without: list[str] = Field(
        default_factory=list, description="Layer kinds whose figures the convention leaves out, e.g. [batchnorm].")
    with_ops: list[str] = Field(
        default_factory=list, description="Layer kinds whose ops the convention counts as multiply-adds, e.g. "
                                          "[layernorm, global_avgpool] for fvcore's FLOPs (macs figures only).")
    bn_statistics: bool = Field(
        default=False, description="Count batch-norm running mean and variance (2 per channel) as parameters.")
    rounding: Literal["round", "truncate"] = Field(
        default="round", description="How the source shortened the number to the printed digits.")


class ReferenceSet(_Strict):
    """Figures one source prints for this architecture, in the units it prints them."""

    source: str = Field(description="Seed file and table, or paper and section.")
    note: str | None = None
    units: dict[Quantity, Unit] = Field(default_factory=dict)
    resolution: Union[Count, Annotated[list[Count], Field(min_length=1, max_length=3)], None] = Field(
        default=None, description="The input's spatial size these figures are at, where it differs from the spec's "
                                  "input (a weights' evaluation crop: EfficientNet-B2's 288); one size or one per axis.")
    tolerance: dict[Quantity, Annotated[float, Field(strict=True, ge=0)]] = Field(
        default_factory=dict,
        description="Allowed |printed - computed| in printed units; default: half the last printed digit.")
    rows: dict[str, dict[Quantity, Figure]] = Field(
        default_factory=dict, description="Per-layer or per-group figures, keyed by layer name or dotted path.")
    totals: dict[Quantity, Figure] = Field(default_factory=dict)
    errata: dict[str, Union[ConventionEntry, str]] = Field(
        default_factory=dict,
        description="'<row>.<quantity>' or 'totals.<quantity>' -> why the printed figure is wrong, or a "
                    "{status: convention, ...} entry naming the counting convention under which it is right.")


class Accuracy(_Strict):
    """A published accuracy figure (percent)."""

    dataset: str = "ImageNet"
    top1: Float | None = Field(default=None, ge=0, le=100)
    top5: Float | None = Field(default=None, ge=0, le=100)
    top1_error: Float | None = Field(default=None, ge=0, le=100)
    top5_error: Float | None = Field(default=None, ge=0, le=100)
    protocol: str | None = Field(default=None, description="e.g. 'single 224 crop', '10-crop'.")
    source: str

    @model_validator(mode="after")
    def _something(self) -> "Accuracy":
        if all(v is None for v in (self.top1, self.top5, self.top1_error, self.top5_error)):
            raise ValueError("give at least one of top1, top5, top1_error, top5_error")
        return self


class SpecDocument(_Strict):
    """One spec file, after ``extends:`` has been merged."""

    name: str
    description: str | None = None
    source: str | None = Field(default=None, description="The paper or table the spec transcribes.")
    family: str | None = Field(default=None, description="Model family for plots and filters (ResNet, VGG...).")
    year: Int | None = None
    notes: list[str] = Field(default_factory=list)
    reference_model: str | None = Field(
        default=None, description="Reference implementation reproduced exactly, e.g. torchvision.models.resnet50.")
    input: Annotated[list[Count], Field(min_length=1, max_length=4)] = Field(
        description="Input shape without the batch: [C, H, W] (images), [C, L] (1-D), [C, D, H, W] "
                    "(video/volumes), or [features].")
    params: dict[str, Any] = Field(default_factory=dict, description="Spec-wide $variables (variants override them).")
    scale: Scale | None = None
    blocks: dict[str, BlockDef] = Field(default_factory=dict)
    layers: Annotated[list[Any], Field(min_length=1)]
    set: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Field overrides by layer path, applied after expansion (variants).")
    references: list[ReferenceSet] = Field(default_factory=list)
    accuracy: list[Accuracy] = Field(default_factory=list)
