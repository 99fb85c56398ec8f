"""Small real datasets bundled with scikit-learn, imported lazily so it stays optional."""

from __future__ import annotations

import numpy as np

from .dataset import DataError

# The command that installs scikit-learn with sigmalab: the README's first command runs it.
INSTALL_COMMAND = "pip install -e '.[datasets]'"


def load_real(name: str) -> tuple[np.ndarray, np.ndarray, list[str], list[str | int]]:
    """Return X, int labels, feature names and class names of ``sklearn.datasets.load_<name>``."""
    try:
        from sklearn import datasets
    except ImportError:
        raise DataError(
            f"dataset {name!r} needs scikit-learn, which is not installed; in the sigmalab "
            f"folder run: {INSTALL_COMMAND}"
        ) from None
    bunch = getattr(datasets, f"load_{name}")()
    names = [str(feature) for feature in bunch.feature_names]
    classes = [np.asarray(label).item() for label in bunch.target_names]  # 'setosa', or 0..9
    return bunch.data.astype(np.float64), bunch.target.astype(np.int64), names, classes
