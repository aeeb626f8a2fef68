"""The spec language: YAML files describing architectures (see :mod:`.layers` and :mod:`.document`)."""

from .document import Accuracy, BlockDef, ReferenceSet, Scale, SpecDocument
from .layers import LAYER_KINDS
from .load import Spec, load_spec, parse_spec
from .printed import PrintedFigures

__all__ = ["Accuracy", "BlockDef", "LAYER_KINDS", "PrintedFigures", "ReferenceSet", "Scale", "Spec", "SpecDocument",
           "load_spec", "parse_spec"]
