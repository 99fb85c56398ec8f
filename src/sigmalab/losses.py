"""Losses, each a mean over the batch, computed stably on raw outputs (logits)."""

from __future__ import annotations

from .activations import sigmoid
from .backend import xp
from .errors import ShapeError, SigmalabError, unknown_name
from .validation import check_finite


class Loss:
    """A loss: validates targets once, then gives value and gradient per batch."""

    name = "loss"
    is_classification = False

    def prepare_targets(
        self, y: object, n_samples: int, output_dim: int, dtype: xp.dtype
    ) -> xp.ndarray:
        """Check and convert targets to the form ``value_and_grad`` expects."""
        raise NotImplementedError

    def value_and_grad(self, out: xp.ndarray, y: xp.ndarray) -> tuple[float, xp.ndarray]:
        """The mean loss and its gradient w.r.t. ``out``."""
        raise NotImplementedError

    def values_and_grad(self, out: xp.ndarray, y: xp.ndarray) -> tuple[xp.ndarray, xp.ndarray]:
        """For stacked networks, out (networks, batch, outputs): each one's loss and the gradient.

        The gradient is elementwise the one ``value_and_grad`` gives each network alone.
        """
        raise NotImplementedError

    def accuracies(self, out: xp.ndarray, y: xp.ndarray) -> xp.ndarray | None:
        """Each stacked network's fraction of correct labels, or None for regression."""
        return None

    def value(self, out: xp.ndarray, y: xp.ndarray) -> float:
        """The mean loss alone."""
        return self.value_and_grad(out, y)[0]

    def transform(self, out: xp.ndarray) -> xp.ndarray:
        """Turn raw outputs into predictions (probabilities for classification)."""
        return out

    def accuracy(self, out: xp.ndarray, y: xp.ndarray) -> float | None:
        """Fraction of correct labels, or None for regression."""
        return None


def _as_targets(y: object, n_samples: int) -> xp.ndarray:
    try:
        array = xp.asarray(y, dtype=xp.float64)
    except (TypeError, ValueError) as error:
        raise SigmalabError(f"y must be numeric: {error}") from None
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
        return array.astype(dtype)

    def value_and_grad(self, out, y):
        """The mean squared error and 2 (out - y) / size."""
        diff = out - y
        return float(xp.vdot(diff, diff)) / diff.size, diff * (2.0 / diff.size)

    def values_and_grad(self, out, y):
        """Per network: mean squared error over its batch and outputs, and 2 (out - y) / size."""
        diff = out - y
        size = diff[0].size
        return xp.einsum("kbo,kbo->k", diff, diff) / size, diff * (2.0 / size)


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

    def value_and_grad(self, out, y):
        """Stable for any logit size; gradient (sigmoid(o) - y) / n."""
        loss = xp.maximum(out, 0) - out * y + xp.log1p(xp.exp(-xp.abs(out)))
        n = out.shape[0]
        return float(loss.sum()) / n, (sigmoid(out) - y) * (1.0 / n)

    def values_and_grad(self, out, y):
        """Per network: the same terms, averaged over its batch."""
        loss = xp.maximum(out, 0) - out * y + xp.log1p(xp.exp(-xp.abs(out)))
        n = out.shape[1]
        return loss.sum(axis=(1, 2)) / n, (sigmoid(out) - y) * (1.0 / n)

    def transform(self, out):
        """Probability of class 1."""
        return sigmoid(out)

    def accuracy(self, out, y):
        """Share of logits on the right side of 0."""
        return xp.count_nonzero((out > 0) == (y > 0.5)) / out.size  # 2x xp.mean, same value

    def accuracies(self, out, y):
        """Per network: share of logits on the right side of 0."""
        return xp.mean((out > 0) == (y > 0.5), axis=(1, 2))


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

    def value_and_grad(self, out, y):
        """mean(logsumexp(o) - o[y]); gradient (softmax - onehot) / n."""
        n = out.shape[0]
        rows = xp.arange(n)
        shifted = out - out.max(axis=1, keepdims=True)
        exp = xp.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        loss = xp.log(total[:, 0]) - shifted[rows, y]
        grad = exp / total
        grad[rows, y] -= 1.0
        grad *= 1.0 / n
        return float(loss.sum()) / n, grad

    def values_and_grad(self, out, y):
        """Per network: mean(logsumexp(o) - o[y]) over its batch; (softmax - onehot) / n."""
        n = out.shape[1]
        shifted = out - out.max(axis=2, keepdims=True)
        exp = xp.exp(shifted)
        total = exp.sum(axis=2, keepdims=True)
        picked = xp.take_along_axis(shifted, xp.broadcast_to(y, out.shape[:2])[..., None], 2)
        loss = xp.log(total[..., 0]) - picked[..., 0]
        grad = exp / total
        grad -= y[..., None] == xp.arange(out.shape[2])  # subtracting 0 elsewhere changes nothing
        grad *= 1.0 / n
        return loss.sum(axis=1) / n, grad

    def transform(self, out):
        """Class probabilities (softmax)."""
        shifted = xp.exp(out - out.max(axis=-1, keepdims=True))
        return shifted / shifted.sum(axis=-1, keepdims=True)

    def accuracy(self, out, y):
        """Share of rows whose largest logit is the label."""
        return xp.count_nonzero(out.argmax(axis=1) == y) / len(y)  # 2x xp.mean, same value

    def accuracies(self, out, y):
        """Per network: share of rows whose largest logit is the label."""
        return xp.mean(out.argmax(axis=2) == y, axis=1)


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
    key = ALIASES.get(spec, spec) if isinstance(spec, str) else spec
    if key not in LOSSES:
        raise unknown_name("loss", spec, LOSSES)
    return LOSSES[key]()
