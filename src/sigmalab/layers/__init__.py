"""Layers: each maps a batch forward and backpropagates its error."""

from .base import Layer
from .batchnorm import BatchNorm
from .dense import Dense
from .dropout import Dropout

LAYER_TYPES = {cls.kind: cls for cls in (Dense, BatchNorm, Dropout)}

__all__ = ["LAYER_TYPES", "BatchNorm", "Dense", "Dropout", "Layer"]
