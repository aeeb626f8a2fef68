"""The spec language: YAML files describing architectures (see :mod:`.layers` and :mod:`.document`)."""

from .document import Accuracy, BlockDef, ReferenceSet, Scale, SpecDocument
from .layers import LAYER_KINDS
from .load import Spec, iter_layers, load_spec, parse_spec

__all__ = ["Accuracy", "BlockDef", "LAYER_KINDS", "ReferenceSet", "Scale", "Spec", "SpecDocument",
           "iter_layers", "load_spec", "parse_spec"]
