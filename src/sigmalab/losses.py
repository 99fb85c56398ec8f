"""Losses, each a mean over the batch, computed stably on raw outputs (logits).

Each loss is written once, over outputs of shape (..., batch, outputs): one network's
(batch, outputs), or a stack of networks' (networks, batch, outputs), which the ensemble
trains at once. The single-network methods are the stacked ones with a float returned.
"""

from __future__ import annotations

from .activations import sigmoid
from .backend import xp
from .errors import ShapeError, SigmalabError, unknown_name
from .validation import as_real_array, check_finite, to_dtype


class Loss:
    """A loss: validates targets once, then gives value and gradient per batch.

    Subclasses write ``values_and_grad`` and ``accuracies`` for (..., batch, outputs);
    ``value_and_grad``, ``value`` and ``accuracy`` take one network's values from them.
    """

    name = "loss"
    is_classification = False

    def prepare_targets(
        self, y: object, n_samples: int, output_dim: int, dtype: xp.dtype
    ) -> xp.ndarray:
        """Check and convert targets to the form ``value_and_grad`` expects."""
        raise NotImplementedError

    def values_and_grad(self, out: xp.ndarray, y: xp.ndarray) -> tuple[xp.ndarray, xp.ndarray]:
        """Each network's mean loss over its batch, and the gradient w.r.t. ``out``."""
        raise NotImplementedError

    def accuracies(self, out: xp.ndarray, y: xp.ndarray) -> xp.ndarray | None:
        """Each network's fraction of correct labels, or None for regression."""
        return None

    def value_and_grad(self, out: xp.ndarray, y: xp.ndarray) -> tuple[float, xp.ndarray]:
        """One network's mean loss and its gradient w.r.t. ``out`` (batch, outputs)."""
        values, grad = self.values_and_grad(out, y)
        return float(values), grad

    def value(self, out: xp.ndarray, y: xp.ndarray) -> float:
        """The mean loss alone."""
        return self.value_and_grad(out, y)[0]

    def accuracy(self, out: xp.ndarray, y: xp.ndarray) -> float | None:
        """One network's fraction of correct labels, or None for regression."""
        accuracies = self.accuracies(out, y)
        return None if accuracies is None else float(accuracies)

    def transform(self, out: xp.ndarray) -> xp.ndarray:
        """Turn raw outputs into predictions (probabilities for classification)."""
        return out


def _as_targets(y: object, n_samples: int) -> xp.ndarray:
    array = as_real_array("y", y).astype(xp.float64, copy=False)
    if array.ndim == 0 or array.shape[0] != n_samples:
        got = "a scalar" if array.ndim == 0 else f"{array.shape[0]} rows"
        raise ShapeError(f"X has {n_samples} rows but y has {got}; they must match")
    check_finite("y", array)
    return array


def _check_labels(labels: xp.ndarray, n_classes: int) -> xp.ndarray:
    if not xp.all(labels == xp.round(labels)):
        raise SigmalabError("classification labels must be whole numbers (class indices)")
    bad = (labels < 0) | (labels >= n_classes)
    if bad.any():
        index = int(xp.argmax(bad))
        raise SigmalabError(
            f"labels must be in 0..{n_classes - 1} for {n_classes} classes; "
            f"y[{index}] = {labels[index]:g} ({int(bad.sum())} label(s) out of range)"
        )
    return labels.astype(xp.int64)


class MeanSquaredError(Loss):
    """mean((out - y)^2) over all elements."""

    name = "mse"

    def prepare_targets(self, y, n_samples, output_dim, dtype):
        """Targets shaped like the output: (n,) is accepted for one output."""
        array = _as_targets(y, n_samples)
        if array.ndim == 1:
            array = array.reshape(-1, 1)
        if array.shape[1:] != (output_dim,):
            raise ShapeError(
                f"mse targets must have shape ({n_samples}, {output_dim}) to match the "
                f"model's {output_dim} output(s), received {array.shape}"
            )
        return to_dtype("y", array, dtype)

    def values_and_grad(self, out, y):
        """Mean squared error over each network's batch and outputs, and 2 (out - y) / size."""
        diff = out - y
        size = diff.shape[-2] * diff.shape[-1]
        return _sum_of_squares(diff) / size, diff * (2.0 / size)


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy on logits: max(o,0) - o y + log(1 + exp(-|o|))."""

    name = "bce"
    is_classification = True

    def prepare_targets(self, y, n_samples, output_dim, dtype):
        """Labels 0/1 of shape (n,) or (n, 1), for a model with one output."""
        if output_dim != 1:
            raise ShapeError(
                f"bce needs a model with 1 output (a logit), this model has {output_dim}; "
                "use cross_entropy for several classes"
            )
        array = _as_targets(y, n_samples)
        if array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if array.ndim != 1:
            raise ShapeError(f"bce labels must have shape (n,) or (n, 1), received {array.shape}")
        return _check_labels(array, 2).astype(dtype).reshape(-1, 1)

    def values_and_grad(self, out, y):
        """Stable for any logit size; gradient (sigmoid(o) - y) / n."""
        loss = xp.maximum(out, 0) - out * y + xp.log1p(xp.exp(-xp.abs(out)))
        n = out.shape[-2]
        return loss.sum(axis=(-2, -1)) / n, (sigmoid(out) - y) * (1.0 / n)

    def transform(self, out):
        """Probability of class 1."""
        return sigmoid(out)

    def accuracies(self, out, y):
        """Share of logits on the right side of 0."""
        return _count((out > 0) == (y > 0.5), axes=2) / (out.shape[-2] * out.shape[-1])


class CrossEntropy(Loss):
    """Softmax cross-entropy on logits; integer labels or one-hot rows."""

    name = "cross_entropy"
    is_classification = True

    def prepare_targets(self, y, n_samples, output_dim, dtype):
        """Integer labels (n,) in 0..k-1; one-hot (n, k) is turned into labels."""
        array = _as_targets(y, n_samples)
        if array.ndim == 2 and array.shape[1] == output_dim and output_dim > 1:
            if not xp.all((array == 0) | (array == 1)) or not xp.all(array.sum(axis=1) == 1):
                raise SigmalabError("one-hot targets must have exactly one 1 per row")
            return array.argmax(axis=1)
        if array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if array.ndim != 1:
            raise ShapeError(
                f"cross_entropy targets must be labels (n,) or one-hot (n, {output_dim}), "
                f"received {array.shape}"
            )
        if output_dim < 2:
            raise ShapeError("cross_entropy needs a model with at least 2 outputs; use bce for 1")
        return _check_labels(array, output_dim)

    def values_and_grad(self, out, y):
        """mean(logsumexp(o) - o[y]) over each network's batch; gradient (softmax - onehot) / n.

        ``y`` holds labels for every row of ``out`` but the last axis (or broadcasts to it).
        """
        n = out.shape[-2]
        labels = _label_index(y, out.shape)
        shifted = out - out.max(axis=-1, keepdims=True)
        exp = xp.exp(shifted)
        total = exp.sum(axis=-1, keepdims=True)
        loss = xp.log(total[..., 0]) - shifted[labels]
        grad = exp / total
        grad[labels] -= 1.0
        grad *= 1.0 / n
        return loss.sum(axis=-1) / n, grad

    def transform(self, out):
        """Class probabilities (softmax)."""
        shifted = xp.exp(out - out.max(axis=-1, keepdims=True))
        return shifted / shifted.sum(axis=-1, keepdims=True)

    def accuracies(self, out, y):
        """Share of rows whose largest logit is the label."""
        return _count(out.argmax(axis=-1) == y, axes=1) / out.shape[-2]


# ---- reductions over the batch, for one network or a stack -------------------------------
# One network takes NumPy's fastest whole-array form (a step of a small network is tens of
# microseconds, so a microsecond shows); a stack reduces the trailing axes per network.
def _sum_of_squares(diff: xp.ndarray) -> xp.ndarray:
    """Sum of squares over (batch, outputs) per network."""
    if diff.ndim == 2:
        return xp.vdot(diff, diff)
    return xp.einsum("...bo,...bo->...", diff, diff)


def _count(mask: xp.ndarray, axes: int) -> xp.ndarray:
    """True entries over the last ``axes`` axes, per network."""
    if mask.ndim == axes:
        return xp.count_nonzero(mask)
    return xp.count_nonzero(mask, axis=tuple(range(-axes, 0)))


def _label_index(y: xp.ndarray, shape: tuple[int, ...]) -> tuple[xp.ndarray, ...]:
    """An index that picks each row's label column in an array of ``shape`` (..., rows, k)."""
    grids = xp.indices(shape[:-1], sparse=True)
    return (*grids, xp.broadcast_to(y, shape[:-1]))


LOSSES = {cls.name: cls for cls in (MeanSquaredError, BinaryCrossEntropy, CrossEntropy)}
ALIASES = {
    "binary_cross_entropy": "bce",
    "categorical_cross_entropy": "cross_entropy",
    "squared_error": "mse",
}


def get_loss(spec: str | Loss) -> Loss:
    """Resolve a loss name (mse, bce, cross_entropy) or pass a Loss through."""
    if isinstance(spec, Loss):
        return spec
    if not isinstance(spec, str):
        raise SigmalabError(
            f"loss must be a name ({', '.join(LOSSES)}) or a sigmalab Loss, received: {spec!r}"
        )
    key = ALIASES.get(spec, spec)
    if key not in LOSSES:
        raise unknown_name("loss", spec, LOSSES)
    return LOSSES[key]()
