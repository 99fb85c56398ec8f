"""Sequential: a feed-forward network, its exact backpropagation and its training loop."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType

from .backend import child_rngs, resolve_dtype, xp
from .callbacks import Callback, History, check_callbacks
from .data.dataset import CLASSIFICATION, REGRESSION
from .errors import DivergenceWarning, ShapeError, SigmalabError, unknown_name
from .layers import LAYER_TYPES, Dense, Layer
from .limits import MAX_WEIGHTS
from .losses import Loss, get_loss
from .optimizers import Optimizer, get_optimizer
from .preprocessing import Preprocessing
from .training import begin_logs, epoch_metrics, train_epochs
from .validation import (
    as_matrix,
    as_real_array,
    check_bool,
    check_finite,
    check_int,
    holdout_rows,
    to_dtype,
)

RANDOM_STREAMS = ("init", "shuffle", "noise")


def weight_key(index: int, layer: Layer, name: str) -> str:
    """A weight's name in model files and ``named_weights``: ``001.dense.W``."""
    return f"{index:03d}.{layer.kind}.{name}"


def batch_bounds(n_samples: int, batch_size: int) -> list[tuple[int, int]]:
    """(start, stop) of each batch; a last batch of one sample joins the one before it.

    With batch_size 1 every batch has one sample by request, so nothing is merged.

    Every sample is used once per epoch; the merge keeps batch statistics (BatchNorm)
    defined, since a batch of one has no variance.
    """
    bounds = [
        (start, min(start + batch_size, n_samples)) for start in range(0, n_samples, batch_size)
    ]
    if batch_size > 1 and len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n_samples)]
    return bounds


def _checked_weight(
    label: str, value: object, layer: Layer, name: str, slot: xp.ndarray
) -> xp.ndarray:
    """``value`` ready to copy into ``slot``, or a SigmalabError naming what is wrong with it."""
    value = as_real_array(label, value)
    if value.shape != slot.shape:
        raise ShapeError(f"{label} must have shape {slot.shape}, received {value.shape}")
    check_finite(label, value)
    if name in layer.nonnegative_weights and (value < 0).any():
        index = int(xp.argmax(value < 0))
        raise SigmalabError(
            f"{label} must be >= 0 (a variance); received {value.flat[index]:g} at index {index}"
        )
    return to_dtype(label, value, slot.dtype)


class Sequential:
    """A stack of layers trained by backpropagation, with the preprocessing of its inputs.

    All trainable parameters live in one flat array (``flat_params``) and their
    gradients in another (``flat_grads``); each layer's ``params`` are views into
    them, so optimizers update every layer with a few whole-array operations.

    ``fit``, ``evaluate``, ``predict`` and ``predict_labels`` take raw rows and apply
    ``preprocessing`` (named columns, Playground features, standardisation) first, once
    per call; ``forward``, ``backward`` and ``train_step`` work on the network's own
    inputs (``preprocess(X)``). ``class_names[k]`` is what label k stands for.
    """

    def __init__(
        self,
        layers: Iterable[Layer] = (),
        seed: int | None = 0,
        dtype: str = "float32",
        preprocessing: Preprocessing | None = None,
        class_names: Sequence[str | int | float] | None = None,
    ) -> None:
        self.layers: list[Layer] = []
        self.seed = seed if seed is None else check_int("seed", seed, low=0)
        self.dtype = resolve_dtype(dtype)
        self.loss: Loss | None = None
        self.optimizer: Optimizer | None = None
        self.input_dim: int | None = None
        self.preprocessing = preprocessing
        self.class_names = class_names
        self.flat_params: xp.ndarray | None = None
        self.flat_grads: xp.ndarray | None = None
        self.stop_training = False
        self.history: History | None = None
        self._rngs: dict[str, xp.random.Generator] = {}
        self._batch_rows: int | None = None
        self._penalized = False
        if isinstance(layers, Layer | str) or not isinstance(layers, Iterable):
            raise SigmalabError(
                f"layers must be a list of layers such as [sl.Dense(1)], received: {layers!r}"
            )
        layers = list(layers)
        self._check_addable(layers)  # all of them, before any joins this model
        for layer in layers:
            self.add(layer)

    # ---- structure -------------------------------------------------------------------
    def add(self, layer: Layer) -> None:
        """Append a layer (before the model is built); a layer belongs to one model, once."""
        self._check_addable([layer])
        layer.owner = self
        self.layers.append(layer)

    def _check_addable(self, layers: list[Layer]) -> None:
        """Refuse a non-layer, and a layer already in a model or listed twice: it holds one
        set of weights, so sharing it would resize one model's weights under the other, or
        overwrite what one place's backward pass needs with the other's."""
        if self.built:
            raise SigmalabError("cannot add layers to a built model; create a new Sequential")
        for index, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise SigmalabError(f"layers must be sigmalab layers, received: {layer!r}")
            where = next((f"layers[{i}]" for i in range(index) if layers[i] is layer), None)
            if layer.owner is not None:
                where = "this model" if layer.owner is self else "another model"
            if where is not None:
                raise SigmalabError(
                    f"this {layer!r} is already in {where}: a layer holds one set of weights, "
                    f"so create a new one for each place (such as {layer!r})"
                )

    @property
    def preprocessing(self) -> Preprocessing | None:
        """How raw rows become the network's inputs (None: they are its inputs)."""
        return self._preprocessing

    @preprocessing.setter
    def preprocessing(self, preprocessing: Preprocessing | None) -> None:
        if preprocessing is not None and not isinstance(preprocessing, Preprocessing):
            raise SigmalabError(
                f"preprocessing must be an sl.Preprocessing or None, received {preprocessing!r}"
            )
        self._preprocessing = preprocessing

    @property
    def class_names(self) -> list[str | int | float] | None:
        """What each label stands for (``"cat"``, ``-1``, ...); None: labels 0..k-1, or a
        regression when the loss is mse."""
        return self._class_names

    @class_names.setter
    def class_names(self, names: Sequence[str | int | float] | None) -> None:
        self._class_names = None if names is None else _check_class_names(names)
        self._check_class_names_fit()

    @property
    def built(self) -> bool:
        """True once the input width is known and the weights exist."""
        return self.input_dim is not None

    @property
    def random_streams(self) -> Mapping[str, xp.random.Generator]:
        """The model's seeded generators by purpose (init, shuffle, noise), once built.

        An ensemble draws each member's shuffles and dropout masks from these, so a member
        sees the random numbers it would see trained alone.
        """
        return MappingProxyType(self._rngs)

    @property
    def output_dim(self) -> int:
        """Width of the last layer's output."""
        self._require_built()
        return self.layers[-1].output_dim

    def build(self, input_dim: int) -> Sequential:
        """Create every layer's weights for ``input_dim`` inputs, drawn from ``seed``."""
        input_dim = check_int("input_dim", input_dim)
        if self.built:
            if input_dim != self.input_dim:
                raise ShapeError(
                    f"model was built for {self.input_dim} input(s), received {input_dim}"
                )
            return self
        names = None if self.preprocessing is None else self.preprocessing.output_names
        if names is not None and input_dim != len(names):
            raise ShapeError(
                f"the preprocessing gives {len(names)} input(s) ({', '.join(names)}), "
                f"so the model cannot be built for {input_dim}"
            )
        if not self.layers:
            raise SigmalabError("the model has no layers; pass a list such as [sl.Dense(1)]")
        count = sum(math.prod(shape) for *_, shape in self.weight_shapes(input_dim))
        MAX_WEIGHTS.check(f"the model's number of weights on {input_dim} inputs", count)
        self._rngs = dict(
            zip(RANDOM_STREAMS, child_rngs(self.seed, len(RANDOM_STREAMS)), strict=True)
        )
        width = input_dim
        for layer in self.layers:
            width = layer.build(width, self._rngs[layer.random_stream], self.dtype)
        self.input_dim = input_dim
        self._pack_parameters()
        self._check_class_names_fit()
        return self

    def weight_shapes(self, input_dim: int) -> list[tuple[str, Layer, str, tuple[int, ...]]]:
        """(key, layer, name, shape) of every array ``build(input_dim)`` creates, in
        ``get_weights`` order, worked out without creating any (``key`` as in
        ``named_weights``)."""
        shapes, width = [], input_dim
        for index, layer in enumerate(self.layers):
            shapes += [
                (weight_key(index, layer, name), layer, name, shape)
                for name, shape in layer.weight_shapes(width).items()
            ]
            width = layer.output_width(width)
        return shapes

    def _pack_parameters(self) -> None:
        size = sum(value.size for layer in self.layers for value in layer.params.values())
        self.share_parameters(xp.empty(size, self.dtype), xp.zeros(size, self.dtype))

    def share_parameters(self, flat_params: xp.ndarray, flat_grads: xp.ndarray) -> None:
        """Keep every parameter and gradient in these flat arrays; current values are copied in.

        An ensemble hands member k its row of the stacked arrays, so member k is a live view
        of what the ensemble trains and its callbacks (a Doctor, EarlyStopping) act on it.
        """
        sizes = [sum(value.size for value in layer.params.values()) for layer in self.layers]
        if flat_params.shape != (sum(sizes),) or flat_grads.shape != flat_params.shape:
            raise ShapeError(
                f"share_parameters needs two arrays of shape ({sum(sizes)},), received "
                f"{flat_params.shape} and {flat_grads.shape}"
            )
        self.flat_params, self.flat_grads = flat_params, flat_grads
        offset = 0
        for layer, size in zip(self.layers, sizes, strict=True):
            stop = offset + size
            layer.adopt(self.flat_params[offset:stop], self.flat_grads[offset:stop])
            offset = stop

    def compile(
        self, loss: str | Loss = "mse", optimizer: str | dict | Optimizer = "sgd"
    ) -> Sequential:
        """Choose the loss (mse, bce, cross_entropy) and the optimizer."""
        self.loss = get_loss(loss)
        self.optimizer = get_optimizer(optimizer)
        self.optimizer.reset()  # an instance reused from another run must not carry its moments
        self._check_class_names_fit()
        return self

    # ---- weights ---------------------------------------------------------------------
    def _weight_slots(self) -> list[tuple[str, Layer, str, xp.ndarray]]:
        """(key, layer, name, array) of every weight: the one definition of their order."""
        self._require_built()
        return [
            (weight_key(index, layer, name), layer, name, array)
            for index, layer in enumerate(self.layers)
            for name, array in (*layer.params.items(), *layer.state.items())
        ]

    def named_weights(self) -> dict[str, xp.ndarray]:
        """Every weight array (the arrays themselves, not copies) by its name in model files,
        ``001.dense.W``, in ``get_weights`` order."""
        return {key: array for key, _, _, array in self._weight_slots()}

    def get_weights(self) -> list[xp.ndarray]:
        """Copies of all arrays in layer order (Dense: W, b; BatchNorm: gamma, beta, running)."""
        return [array.copy() for array in self.named_weights().values()]

    def set_weights(self, weights: Sequence[xp.ndarray]) -> None:
        """Overwrite all arrays, in the order ``get_weights`` returns them.

        Every array is checked (shape, real finite numbers within the dtype's range, a
        variance >= 0) before any is written, so a rejected list leaves the model as it was.
        """
        self._require_built()
        slots = self._weight_slots()
        if not isinstance(weights, list | tuple):
            raise SigmalabError(
                f"set_weights expects a list of {len(slots)} arrays (as get_weights returns), "
                f"received {type(weights).__name__}"
            )
        if len(weights) != len(slots):
            raise ShapeError(f"set_weights expects {len(slots)} arrays, received {len(weights)}")
        checked = [
            _checked_weight(f"weight {index} ({layer.kind} {name})", value, layer, name, array)
            for index, ((_, layer, name, array), value) in enumerate(
                zip(slots, weights, strict=True)
            )
        ]
        for (*_, array), value in zip(slots, checked, strict=True):
            array[...] = value

    def count_params(self) -> int:
        """Number of trainable numbers."""
        self._require_built()
        return int(self.flat_params.size)

    def penalty(self) -> float:
        """The L1/L2 terms of all layers, as added to the loss."""
        return sum(layer.penalty() for layer in self.layers)

    # ---- computation -----------------------------------------------------------------
    def forward(self, X: xp.ndarray, training: bool = False) -> xp.ndarray:
        """Raw outputs (logits for bce / cross_entropy); builds the model on first use."""
        X = self._check_inputs(X)
        return self._forward(X, training)

    def _forward(self, X: xp.ndarray, training: bool) -> xp.ndarray:
        self._batch_rows = X.shape[0]
        if not training:
            for layer in self.layers:
                X = layer.forward(X, False)
            return X
        # Where a Dense follows a Dense, the first one's training output buffer carries a
        # row of ones below its activations: handing it on lets the second fold its bias
        # into the matrix products (see Dense).
        with_ones = None
        for layer in self.layers:
            if isinstance(layer, Dense):
                X = layer.forward(X, True, with_ones)
                with_ones = layer.output_with_ones()
            else:
                X = layer.forward(X, True)
                with_ones = None
        return X

    def backward(self, dY: xp.ndarray) -> xp.ndarray:
        """Backpropagate d loss / d output through the last forward pass; return d loss / d X."""
        self._require_built()
        dY = xp.asarray(dY, dtype=self.dtype)
        if self._batch_rows is None:
            raise SigmalabError("call model.forward(X) before model.backward(dY)")
        expected = (self._batch_rows, self.output_dim)
        if dY.shape != expected:
            raise ShapeError(
                f"dY must have the last output's shape {expected}, received {dY.shape}"
            )
        return self._backward(dY, need_input_grad=True)

    def _backward(self, dY: xp.ndarray, need_input_grad: bool) -> xp.ndarray | None:
        for layer in reversed(self.layers[1:]):
            dY = layer.backward(dY)
        return self.layers[0].backward(dY, need_input_grad)

    def train_step(self, X: xp.ndarray, y: xp.ndarray) -> float:
        """One optimizer update on a batch in training mode; returns the loss (penalty included)."""
        self._require_compiled()
        X = self._check_inputs(X)
        targets = self.loss.prepare_targets(y, X.shape[0], self.output_dim, self.dtype)
        self._penalized = self._has_penalty
        return self.train_batch(X, targets)[0]

    def loss_and_gradients(
        self, X: xp.ndarray, targets: xp.ndarray, training: bool = False
    ) -> tuple[float, xp.ndarray]:
        """Loss (without penalty) and raw outputs; the gradients land in ``flat_grads``.

        For code that watches training, such as the doctor's probes: no update is made.
        ``X`` and ``targets`` must be prepared as fit prepares them (``prepare_targets``).
        """
        out = self._forward(X, training)
        loss, dout = self.loss.value_and_grad(out, targets)
        self._backward(dout, need_input_grad=False)
        return loss, out

    def train_batch(self, X: xp.ndarray, targets: xp.ndarray) -> tuple[float, xp.ndarray]:
        """One update on prepared arrays (as fit prepares them); the loss and raw outputs."""
        loss, out = self.loss_and_gradients(X, targets, True)
        if self._penalized:
            loss += self.penalty()
        self.optimizer.step(self.flat_params, self.flat_grads)
        return loss, out

    @property
    def _has_penalty(self) -> bool:
        """Whether any layer has L1/L2; fit and train_step ask once, not at every step."""
        return any(getattr(layer, "l1", 0.0) or getattr(layer, "l2", 0.0) for layer in self.layers)

    # ---- training --------------------------------------------------------------------
    def fit(
        self,
        X: xp.ndarray,
        y: xp.ndarray,
        epochs: int = 1,
        batch_size: int = 32,
        validation_data: tuple[xp.ndarray, xp.ndarray] | None = None,
        shuffle: bool = True,
        verbose: int = 1,
        callbacks: Sequence[Callback] = (),
        validation_split: float = 0.0,
    ) -> History:
        """Train for ``epochs`` passes over the data; returns the per-epoch History.

        ``validation_split`` (as in Keras) holds out the last fraction of the samples, taken
        before shuffling, as validation data; it and ``validation_data`` exclude each other.
        """
        self._require_compiled()
        epochs = check_int("epochs", epochs, low=0)
        batch_size = check_int("batch_size", batch_size)
        shuffle = check_bool("shuffle", shuffle)
        X = self._check_inputs(self.preprocess(X))
        targets = self.loss.prepare_targets(y, X.shape[0], self.output_dim, self.dtype)
        if validation_split:
            if validation_data is not None:
                raise SigmalabError(
                    "pass validation_data or validation_split to fit, not both "
                    f"(received validation_split={validation_split!r})"
                )
            held = holdout_rows("validation_split", validation_split, X.shape[0])
            validation = X[-held:], targets[-held:]
            X, targets = X[:-held], targets[:-held]
        else:
            validation = self.validation_arrays(validation_data)
        n = X.shape[0]
        history = History()
        hooks = [history, *check_callbacks(callbacks)]
        if verbose:
            from .progress import ProgressBar

            hooks.append(ProgressBar(epochs))
        self.history = history
        self.stop_training = False
        bounds = batch_bounds(n, batch_size)
        logs = begin_logs(
            X, targets, batch_size, epochs, bounds, epoch_metrics(self.loss, validation)
        )
        for hook in hooks:
            hook.on_train_begin(self, logs)
        self._penalized = self._has_penalty
        largest = self.largest_product(max(stop - start for start, stop in bounds))
        # on_train_end runs however training ends (Ctrl-C, an error), so callbacks such as
        # the progress bar always clean up.
        try:
            diverged = train_epochs(
                self, X, targets, bounds, epochs, shuffle, validation, hooks, largest
            )
        finally:
            for hook in hooks:
                hook.on_train_end(self, {})
        if diverged is not None and not any(hook.explains_divergence for hook in hooks):
            warnings.warn(
                DivergenceWarning(
                    f"training diverged: the loss became {diverged.loss} at epoch "
                    f"{diverged.epoch + 1}, step {diverged.step}, so training stopped.",
                    f"Lower the learning rate (lr={self.optimizer.lr}), set clip_norm, or add "
                    "sl.Doctor() to the callbacks to see why.",
                ),
                stacklevel=2,
            )
        return history

    def epoch_batches(
        self, X: xp.ndarray, targets: xp.ndarray, bounds: list[tuple[int, int]], shuffle: bool
    ) -> Iterator[tuple[xp.ndarray, xp.ndarray]]:
        """One epoch's batches: slices, or (shuffled) rows gathered into arrays reused per step.

        Gathering copies no more than a batch, and its rows are still in cache when the first
        layer reads them. (mode="clip": a permutation needs no bounds check; "raise" would
        gather through a hidden copy.)
        """
        if not shuffle:
            for start, stop in bounds:
                yield X[start:stop], targets[start:stop]
            return
        order = self._rngs["shuffle"].permutation(X.shape[0])
        rows = max(stop - start for start, stop in bounds)
        X_gather = xp.empty((rows, X.shape[1]), X.dtype)
        y_gather = xp.empty((rows, *targets.shape[1:]), targets.dtype)
        for start, stop in bounds:
            index = order[start:stop]
            yield (
                X.take(index, 0, X_gather[: stop - start], "clip"),
                targets.take(index, 0, y_gather[: stop - start], "clip"),
            )

    @staticmethod
    def all_diverged(loss: float) -> bool:
        """Whether a batch loss is NaN or infinite (training stops there)."""
        return not math.isfinite(loss)

    def largest_product(self, rows: int) -> int:
        """Multiply-adds of the biggest matrix product in a training step on ``rows`` samples."""
        sizes = (rows * layer.params["W"].size for layer in self.layers if "W" in layer.params)
        return max(sizes, default=0)

    def validation_arrays(
        self, validation_data: tuple[xp.ndarray, xp.ndarray] | None
    ) -> tuple[xp.ndarray, xp.ndarray] | None:
        """(X_val, targets) checked and prepared as fit uses them, or None."""
        if validation_data is None:
            return None
        if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
            raise SigmalabError("validation_data must be a pair (X_val, y_val)")
        X_val = self._check_inputs(self.preprocess(validation_data[0], "X_val"), name="X_val")
        y_val = self.loss.prepare_targets(
            validation_data[1], X_val.shape[0], self.output_dim, self.dtype
        )
        return X_val, y_val

    # ---- inference -------------------------------------------------------------------
    def preprocess(self, X: object, name: str = "X") -> xp.ndarray:
        """The network's inputs for raw rows ``X`` (``X`` itself without preprocessing)."""
        return X if self.preprocessing is None else self.preprocessing(X, name)

    def predict(self, X: xp.ndarray) -> xp.ndarray:
        """Predictions for raw rows in inference mode: probabilities for bce / cross_entropy,
        raw outputs otherwise."""
        out = self.forward(self.preprocess(X), training=False)
        return self.loss.transform(out) if self.loss is not None else out

    @property
    def task(self) -> str:
        """'classification' when the loss is bce / cross_entropy or the model has class names
        (a classification trained with mse), else 'regression'."""
        classifies = self.loss is not None and self.loss.is_classification
        return CLASSIFICATION if classifies or self.class_names is not None else REGRESSION

    @property
    def labels(self) -> list[str | int | float]:
        """The class names, or 0..k-1 for a classification saved without them."""
        self._require_classification()
        if self.class_names is not None:
            return self.class_names
        return list(range(2 if self.output_dim == 1 else self.output_dim))

    def class_indices(self, outputs: xp.ndarray) -> xp.ndarray:
        """The label index (0..k-1) of each row of ``predict``'s outputs: the largest
        probability, probability >= 0.5 for bce, the rounded value for mse."""
        self._require_classification()
        outputs = xp.asarray(outputs)
        if self.loss is not None and self.loss.name == "cross_entropy":
            return outputs.argmax(axis=1)
        if self.loss is not None and self.loss.name == "bce":
            return (outputs[:, 0] >= 0.5).astype(xp.int64)
        return xp.clip(xp.rint(outputs[:, 0]), 0, len(self.labels) - 1).astype(xp.int64)

    def predict_labels(self, X: xp.ndarray) -> xp.ndarray:
        """The predicted class of each raw row, as its class name (``labels[k]``)."""
        self._require_classification()
        return xp.asarray(self.labels)[self.class_indices(self.predict(X))]

    def evaluate(self, X: xp.ndarray, y: xp.ndarray) -> dict[str, float]:
        """Loss (penalty included) and, for classification, accuracy in inference mode."""
        self._require_compiled()
        X = self._check_inputs(self.preprocess(X))
        return self.evaluate_arrays(
            X, self.loss.prepare_targets(y, X.shape[0], self.output_dim, self.dtype)
        )

    def evaluate_arrays(self, X: xp.ndarray, targets: xp.ndarray) -> dict[str, float]:
        """Loss and accuracy on prepared arrays (as fit prepares them), in inference mode."""
        out = self._forward(X, False)
        metrics = {"loss": self.loss.value(out, targets) + self.penalty()}
        if self.loss.is_classification:
            metrics["accuracy"] = self.loss.accuracy(out, targets)
        return metrics

    # ---- checks ----------------------------------------------------------------------
    def _check_inputs(self, X: xp.ndarray, name: str = "X") -> xp.ndarray:
        X = as_matrix(name, X, self.dtype)
        if not self.built:
            self.build(X.shape[1])
        elif X.shape[1] != self.input_dim:
            raise ShapeError(
                f"{name} has {X.shape[1]} feature column(s) but the model was built for "
                f"{self.input_dim}"
            )
        return X

    def _require_built(self) -> None:
        if not self.built:
            raise SigmalabError("the model is not built yet: call model.build(input_dim) or fit")

    def _require_compiled(self) -> None:
        if self.loss is None or self.optimizer is None:
            raise SigmalabError("call model.compile(loss=..., optimizer=...) first")

    def _require_classification(self) -> None:
        """Labels need a built classifier whose class names fit its outputs."""
        self._require_built()
        if self.task != CLASSIFICATION:
            raise SigmalabError(
                "the model is a regression (loss 'mse', no class_names), so it has no labels; "
                "use predict for its values"
            )
        self._check_class_names_fit()

    def _check_class_names_fit(self) -> None:
        """Once the outputs and the loss are known: 2 names for bce, one per output for
        cross_entropy, one output for a classification trained with mse."""
        if self.class_names is None or not self.built or self.loss is None:
            return
        loss = self.loss.name
        needed = {"bce": 2, "cross_entropy": self.output_dim}.get(loss)
        if needed is not None and len(self.class_names) != needed:
            raise SigmalabError(
                f"class_names: a {loss} model with {self.output_dim} output(s) needs {needed} "
                f"names, received {len(self.class_names)}: {self.class_names}"
            )
        if needed is None and self.output_dim != 1:
            raise SigmalabError(
                f"class_names: a classification trained with mse needs 1 output, the model "
                f"has {self.output_dim}"
            )

    # ---- configuration and files -----------------------------------------------------
    def get_config(self) -> dict:
        """Everything needed to rebuild the model (not the weights)."""
        config = {
            "seed": self.seed,
            "dtype": self.dtype.name,
            "input_dim": self.input_dim,
            "layers": [layer.get_config() for layer in self.layers],
        }
        if self.loss is not None:
            config["loss"] = self.loss.name
            config["optimizer"] = self.optimizer.get_config()
        if self.preprocessing is not None:
            config["preprocessing"] = self.preprocessing.get_config()
        if self.class_names is not None:
            config["class_names"] = self.class_names
        return config

    @classmethod
    def from_config(cls, config: dict) -> Sequential:
        """Rebuild a model from ``get_config``'s output (weights freshly initialised)."""
        layers = []
        for index, layer_config in enumerate(config["layers"]):
            if not isinstance(layer_config, dict):
                raise SigmalabError(
                    f"layers[{index}] must be a mapping such as {{'type': 'dense', 'units': 1}}, "
                    f"received: {layer_config!r}"
                )
            layer_config = dict(layer_config)
            kind = layer_config.pop("type", None)
            if kind not in LAYER_TYPES:
                error = unknown_name("layer type", kind, LAYER_TYPES)
                raise SigmalabError(f"layers[{index}].type: {error}")
            try:
                layers.append(LAYER_TYPES[kind](**layer_config))
            except TypeError as error:
                raise SigmalabError(f"layers[{index}] ({kind}): {error}") from None
        saved = config.get("preprocessing")
        model = cls(
            layers,
            seed=config.get("seed", 0),
            dtype=config.get("dtype", "float32"),
            preprocessing=None if saved is None else Preprocessing.from_config(saved),
            class_names=config.get("class_names"),
        )
        if config.get("input_dim") is not None:
            model.build(config["input_dim"])
        if config.get("loss") is not None:
            model.compile(config["loss"], config["optimizer"])
        return model

    def save(self, path: str) -> None:
        """Write weights and config to a .safetensors file (atomically, no pickle)."""
        from .io import save_model

        save_model(self, path)

    def to_torch(self) -> object:
        """A ``torch.nn.Module`` computing ``predict`` (needs the torch extra)."""
        from .export import to_torch

        return to_torch(self)

    def to_onnx(self) -> object:
        """An ONNX model (opset 17) computing ``predict`` (needs the onnx extra)."""
        from .export import to_onnx

        return to_onnx(self)

    def summary(self, print_fn: Callable[[str], object] = print) -> None:
        """Print the layers, output shapes and parameter counts as a table, as Keras does."""
        from .model_summary import summary_text

        print_fn(summary_text(self))

    def layer_names(self) -> list[str]:
        """``dense_1``, ``batchnorm_1``, ``dense_2``...: each layer's kind, counted per kind."""
        counts: dict[str, int] = {}
        names = []
        for layer in self.layers:
            counts[layer.kind] = counts.get(layer.kind, 0) + 1
            names.append(f"{layer.kind}_{counts[layer.kind]}")
        return names

    def __repr__(self) -> str:
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Sequential([{inner}], seed={self.seed}, dtype={self.dtype.name!r})"


def _check_class_names(names: object) -> list[str | int | float]:
    """Distinct class names, all text or all numbers, as plain JSON-able values."""
    if isinstance(names, str) or not isinstance(names, Sequence | xp.ndarray):
        raise SigmalabError(
            f"class_names must be a list such as ['cat', 'dog'], received {names!r}"
        )
    plain = [name.item() if isinstance(name, xp.generic) else name for name in names]
    text = all(isinstance(name, str) for name in plain)
    numbers = all(
        isinstance(name, int | float) and not isinstance(name, bool) and math.isfinite(name)
        for name in plain
    )
    if len(plain) < 2 or not (text or numbers):
        raise SigmalabError(
            "class_names must be 2 or more names, all text or all finite numbers, "
            f"received {list(plain)!r}"
        )
    if len(set(plain)) != len(plain):
        raise SigmalabError(f"class_names lists a name twice: {plain}")
    return plain
