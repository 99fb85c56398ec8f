"""sigmalab: build, train, inspect and repair feed-forward neural networks in NumPy.

Only the light core is imported here; SymPy, rich, matplotlib and scikit-learn load
when a feature needs them.
"""

from typing import TYPE_CHECKING

from . import data as datasets
from .activations import Activation, get_activation
from .callbacks import Callback, EarlyStopping, History
from .doctor import Doctor
from .ensemble import Ensemble
from .errors import DivergenceWarning, NotFiniteError, ShapeError, SigmalabError
from .io import load_model as load
from .layers import BatchNorm, Dense, Dropout, Layer
from .losses import get_loss
from .model import Sequential
from .normalization import Normalization
from .optimizers import SGD, Adam, Optimizer, RMSprop
from .preprocessing import Preprocessing

if TYPE_CHECKING:
    from .doctor.diagnose import RunSource
    from .doctor.repair import RepairResult

__version__ = "0.1.0"


def repair(config_or_path: "RunSource", budget: int = 4, verbose: bool = False) -> "RepairResult":
    """Diagnose a run and fix it by retraining with remedies; see ``sigmalab.doctor.repair``.

    A function rather than an import so that ``import sigmalab`` does not load pydantic.
    """
    from .doctor.repair import repair as repair_run

    return repair_run(config_or_path, budget=budget, verbose=verbose)


__all__ = [
    "SGD",
    "Activation",
    "Adam",
    "BatchNorm",
    "Callback",
    "Dense",
    "DivergenceWarning",
    "Doctor",
    "Dropout",
    "EarlyStopping",
    "Ensemble",
    "History",
    "Layer",
    "Normalization",
    "NotFiniteError",
    "Optimizer",
    "Preprocessing",
    "RMSprop",
    "Sequential",
    "ShapeError",
    "SigmalabError",
    "datasets",
    "get_activation",
    "get_loss",
    "load",
    "repair",
]
