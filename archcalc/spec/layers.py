"""The layer models of the spec language, as the kind registry defines them.

Each kind's model lives with everything else about the kind in :mod:`archcalc.kinds`; this module
gives the spec package the union (:data:`Layer`, :data:`LayerList`) and the names it validates against.
Models describe *expanded* layers: block uses (``use:``), ``repeat`` and ``$`` expressions have
already been resolved by :mod:`archcalc.spec.expand`, so every field holds a plain value.
"""

from __future__ import annotations

from ..kinds import ACTIVATION_KINDS, LAYER_KINDS, AnyLayer, CompositeLayer, Layer, LayerList, LeafLayer
from ..kinds.base import MAX_SIZE
from ..kinds.channel import ChannelShuffle, ChannelSplit, SqueezeExcite
from ..kinds.composite import Branch, Concat, Residual, Sequential, Side
from ..kinds.conv import Conv, ConvTranspose
from ..kinds.dense import Flatten, Linear
from ..kinds.elementwise import Activation, Dropout, Softmax
from ..kinds.norm import LRN, BatchNorm
from ..kinds.pool import AdaptiveAvgPool, AdaptiveMaxPool, AvgPool, GlobalAvgPool, MaxPool
from ..kinds.resample import Crop, Upsample

__all__ = [
    "LAYER_KINDS", "Layer", "LayerList", "AnyLayer", "LeafLayer", "CompositeLayer", "ACTIVATION_KINDS", "MAX_SIZE",
    "Conv", "ConvTranspose", "MaxPool", "AvgPool", "AdaptiveAvgPool", "AdaptiveMaxPool",
    "GlobalAvgPool", "Linear", "Flatten", "BatchNorm", "LRN", "Activation", "Dropout", "Softmax",
    "Upsample", "SqueezeExcite", "ChannelShuffle", "ChannelSplit", "Crop", "Sequential", "Side", "Concat",
    "Residual", "Branch",
]
