"""sigmalab: build, train, inspect and repair feed-forward neural networks in NumPy.

Only the light core is imported here; SymPy, rich, matplotlib and scikit-learn load
when a feature needs them.
"""

from . import data as datasets
from .activations import Activation, get_activation
from .callbacks import Callback, EarlyStopping, History
from .doctor import Doctor
from .errors import NotFiniteError, ShapeError, SigmalabError
from .io import load_model as load
from .layers import BatchNorm, Dense, Dropout, Layer
from .losses import get_loss
from .model import Sequential
from .optimizers import SGD, Adam, Optimizer, RMSprop

__version__ = "0.1.0"

__all__ = [
    "SGD",
    "Activation",
    "Adam",
    "BatchNorm",
    "Callback",
    "Dense",
    "Doctor",
    "Dropout",
    "EarlyStopping",
    "History",
    "Layer",
    "NotFiniteError",
    "Optimizer",
    "RMSprop",
    "Sequential",
    "ShapeError",
    "SigmalabError",
    "datasets",
    "get_activation",
    "get_loss",
    "load",
]
