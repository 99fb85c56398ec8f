"""The constant predictor: the bar a run must clear before anything it did counts as learning.

A network whose watched metric is no better than always answering the same thing (the most
common class, or the mean target) has learned nothing from its inputs, whatever else its
curves show: a diverged regression that gradient clipping brings back to a finite test MSE
of 3,000 on targets of order 1 is not repaired. The margins make the verdict a wide band,
not a knife edge that the rounding of another CPU could flip: for classification the
network must get a few samples more right than the constant does (a count, compared as
integers), for regression it must explain a few percent of the targets' variance.
"""

from __future__ import annotations

import math

import numpy as np

# Accuracy must beat the majority class by more than 2 % of the samples (at least one
# sample); R^2 = 1 - loss / (the constant predictor's loss) must exceed 0.02.
NO_LEARNING_MARGIN = 0.02


def constant_predictor(y: np.ndarray, classification: bool) -> float:
    """The best constant's metric on targets ``y``: its accuracy (the majority-class share)
    for classification, its mean squared error (the targets' variance) for regression."""
    y = np.asarray(y)
    if not classification:
        values = y.reshape(len(y), -1).astype(np.float64)
        return float(np.mean((values - values.mean(axis=0)) ** 2))
    return majority_count(y) / len(y)


def majority_count(labels: np.ndarray) -> int:
    """How many samples belong to the most common class (labels, 0/1 columns or one-hot)."""
    labels = np.asarray(labels)
    if labels.ndim > 1:
        labels = labels[:, 0] if labels.shape[1] == 1 else labels.argmax(axis=1)
    return int(np.unique(labels, return_counts=True)[1].max())


def no_learning_evidence(
    name: str, value: float, constant: float, higher_is_better: bool, samples: int
) -> dict | None:
    """The evidence that metric ``name`` (``value``) is no better than the constant
    predictor's (``constant``) on ``samples`` samples, or None when the run beats it."""
    evidence: dict = {"metric": name, "value": value, "constant_predictor": constant}
    if higher_is_better:
        correct = round(value * samples) if math.isfinite(value) else 0
        majority = round(constant * samples)
        margin = max(1, math.ceil(NO_LEARNING_MARGIN * samples))
        if correct > majority + margin:
            return None
        return {
            **evidence,
            "constant": "always the most common class",
            "correct": correct,
            "majority_count": majority,
            "samples": samples,
            "margin_samples": margin,
        }
    if constant <= 0:  # constant targets: predicting them is all there is to learn
        return None
    r2 = 1.0 - value / constant if math.isfinite(value) else -math.inf
    if r2 > NO_LEARNING_MARGIN:
        return None
    return {
        **evidence,
        "constant": "always the mean target",
        "r2": r2,
        "threshold": NO_LEARNING_MARGIN,
    }
