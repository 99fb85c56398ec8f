"""sigmalab: build, train, inspect and repair feed-forward neural networks in NumPy.

Only the light core is imported here; SymPy, rich, matplotlib and scikit-learn load
when a feature needs them.
"""

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

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
    from .config import RunConfig
    from .doctor.diagnose import RunSource
    from .doctor.repair import RepairResult

__version__ = "0.1.0"


def repair(config_or_path: "RunSource", budget: int = 4, verbose: bool = False) -> "RepairResult":
    """Diagnose a run and fix it by retraining with remedies; see ``sigmalab.doctor.repair``.

    A function rather than an import so that ``import sigmalab`` does not load pydantic.
    """
    from .doctor.repair import repair as repair_run

    return repair_run(config_or_path, budget=budget, verbose=verbose)


def sweep(
    run: "str | os.PathLike | RunConfig | Mapping[str, Any]",
    grid: "Mapping[str, Sequence[Any]]",
    seeds: int = 1,
    **options: Any,
) -> Any:
    """Train a run over a grid of settings x seeds; a row per run (see ``sigmalab.sweeps``).

    ``sl.sweep("examples/circle.toml", grid={"train.optimizer.lr": [0.1, 0.03]}, seeds=10)``;
    options: ``data_seeds``, ``out``, ``workers``, ``scheduler``, ``doctor``. A function
    rather than an import so that ``import sigmalab`` does not load pydantic.
    """
    from .sweeps import sweep as run_sweep

    return run_sweep(run, grid, seeds=seeds, **options)


def lab(
    claims: "Sequence[str]" = (),
    out: "str | os.PathLike" = "lab",
    quick: bool = False,
    workers: int = 1,
) -> list:
    """Run the text's claims as experiments; write ``out/index.html`` (``sigmalab.experiments``).

    ``sl.lab(["vanishing_gradients"], quick=True)`` returns one result per claim, each with
    its ``evidence.verdict`` and ``evidence.numbers``. A function rather than an import so
    that ``import sigmalab`` does not load pydantic.
    """
    from .experiments import run_lab

    return run_lab(claims, out, quick=quick, workers=workers)


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
    "lab",
    "load",
    "repair",
    "sweep",
]
