"""The table of built-in datasets and ``load``, which turns a name or CSV path into a Dataset."""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import unknown_name
from ..limits import MAX_SAMPLES
from . import multiclass, playground, shapes
from .csv_file import load_csv
from .dataset import CLASSIFICATION, REGRESSION, DataError, Dataset, split
from .features import DEFAULT_FEATURES, expand
from .real import load_real

Generate = Callable[[int, float, np.random.Generator], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Synthetic:
    """A 2-D generator with its task, the one-line description ``available`` shows and, for
    classification, its number of classes (labels 0 .. classes - 1)."""

    generate: Generate
    task: str
    description: str
    classes: int = 2


SYNTHETIC: dict[str, Synthetic] = {
    "circle": Synthetic(
        playground.circle, CLASSIFICATION, "Playground: a disc of class 1 inside a ring of class 0"
    ),
    "xor": Synthetic(
        playground.xor, CLASSIFICATION, "Playground: class 1 in the quadrants where x1*x2 >= 0"
    ),
    "gauss": Synthetic(
        playground.gauss, CLASSIFICATION, "Playground: two Gaussian blobs at (2, 2) and (-2, -2)"
    ),
    "spiral": Synthetic(
        playground.spiral, CLASSIFICATION, "Playground: two interleaved spiral arms"
    ),
    "reg-plane": Synthetic(
        playground.reg_plane, REGRESSION, "Playground regression: a tilted plane (x1 + x2) / 10"
    ),
    "reg-gauss": Synthetic(
        playground.reg_gauss, REGRESSION, "Playground regression: six +-1 Gaussian-like bumps"
    ),
    "moons": Synthetic(shapes.moons, CLASSIFICATION, "two interleaving half circles"),
    "checkerboard": Synthetic(
        shapes.checkerboard, CLASSIFICATION, "a 4 x 4 checkerboard of two classes"
    ),
    "spiral3": Synthetic(
        multiclass.spiral3,
        CLASSIFICATION,
        "three interleaved spiral arms, one class each",
        classes=multiclass.SPIRAL_ARMS,
    ),
    "blobs": Synthetic(
        multiclass.blobs,
        CLASSIFICATION,
        "four Gaussian blobs, one class each",
        classes=multiclass.BLOB_COUNT,
    ),
}

REAL: dict[str, str] = {
    "digits": "scikit-learn: 1797 8x8 handwritten digits, 64 pixel features, 10 classes",
    "iris": "scikit-learn: 150 iris flowers, 4 measurements, 3 species",
    "wine": "scikit-learn: 178 wines, 13 chemical measurements, 3 cultivars",
    "breast_cancer": "scikit-learn: 569 tumours, 30 measurements, malignant or benign",
}


def available() -> dict[str, str]:
    """Return built-in dataset name -> one-line description, for help texts and menus."""
    return {name: source.description for name, source in SYNTHETIC.items()} | REAL


def _check_arguments(samples: int, noise: float, test_fraction: float, seed: int) -> None:
    """Reject bad parameters up front, naming the parameter and the value received."""
    for name, value, low in (("samples", samples, 4), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise DataError(f"{name} must be an integer >= {low} (received {value!r})")
    MAX_SAMPLES.check("samples", samples)
    for name, value in (("noise", noise), ("test_fraction", test_fraction)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise DataError(f"{name} must be a number (received {value!r})")
    if not 0.0 <= noise <= 1.0:
        raise DataError(f"noise must be in [0, 1] (Playground range 0..0.5) (received {noise!r})")
    if not 0.0 < test_fraction < 1.0:
        raise DataError(
            f"test_fraction must be strictly between 0 and 1 (received {test_fraction!r})"
        )


def check_features_apply(name: str, features: Sequence[str] | None) -> None:
    """Reject Playground input features for a dataset other than the 2-D generators."""
    if features is not None and name not in SYNTHETIC:
        raise DataError(
            f"features apply only to the 2-D built-in datasets ({', '.join(SYNTHETIC)}), "
            f"not {name!r}"
        )


def builtin_task(name: str) -> str | None:
    """The task of a built-in dataset, or None for a CSV path (its run decides)."""
    if name in SYNTHETIC:
        return SYNTHETIC[name].task
    return CLASSIFICATION if name in REAL else None


def check_task_applies(name: str, task: str | None) -> None:
    """Reject a task that contradicts a built-in dataset's own; a CSV's task is the user's."""
    if task not in (None, CLASSIFICATION, REGRESSION):
        raise DataError(f"task must be {CLASSIFICATION!r} or {REGRESSION!r}, received {task!r}")
    own = builtin_task(name)
    if task is not None and own is not None and task != own:
        raise DataError(
            f"{name!r} is a built-in {own} dataset, so task {task!r} does not apply; "
            "the task is chosen for CSV files"
        )


def load(
    name: str | os.PathLike[str],
    samples: int = 500,
    noise: float = 0.0,
    test_fraction: float = 0.5,
    seed: int = 0,
    features: Sequence[str] | None = None,
    target: str = "target",
    task: str | None = None,
) -> Dataset:
    """Return a shuffled, seeded train/test split of a built-in dataset or a ``.csv`` file.

    ``samples`` and ``noise`` apply to the generated 2-D sets only; ``features`` picks their
    Playground input features; ``target`` names the CSV label column and ``task``
    ("classification" or "regression") says how to read it (None infers it). One
    ``default_rng(seed)`` drives generation and shuffling, so a seed reproduces every array.
    """
    if not isinstance(name, str | os.PathLike):
        raise DataError(
            f"dataset must be a built-in name such as 'spiral' or a path to a .csv file, "
            f"received: {name!r}"
        )
    _check_arguments(samples, noise, test_fraction, seed)
    rng = np.random.default_rng(seed)
    name = os.fspath(name)
    check_task_applies(name, task)
    if name in SYNTHETIC:
        source = SYNTHETIC[name]
        X, y = source.generate(samples, noise, rng)
        chosen = DEFAULT_FEATURES if features is None else features
        X, feature_names = expand(X, chosen), list(chosen)
        class_names = list(range(source.classes)) if source.task == CLASSIFICATION else None
    elif name in REAL:
        check_features_apply(name, features)
        X, y, feature_names, class_names = load_real(name)
    elif name.lower().endswith(".csv"):
        check_features_apply(name, features)
        X, y, feature_names, class_names = load_csv(name, target, task)
        if class_names is not None and len(class_names) == 1:
            # One message for every loss: else bce would point to cross_entropy, and back.
            raise DataError(
                f"{name}: the target column {target!r} holds a single class (the same label "
                "on every row); a classifier needs at least 2 classes"
            )
        name = Path(name).stem
    else:
        raise unknown_name("dataset", name, available(), DataError, ", or a path to a .csv file")
    X_train, y_train, X_test, y_test = split(X, y, test_fraction, rng)
    return Dataset(
        name=name,
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        task=REGRESSION if class_names is None else CLASSIFICATION,
        feature_names=feature_names,
        class_names=class_names,
    )
