"""Ensemble: K networks of one architecture trained at once as stacked arrays.

Member k's weights are row k of one (K, P) parameter array laid out exactly like a
Sequential's ``flat_params``; each layer sees (K, ...) views of it, so one batched matrix
product does the work of K small ones and the Python overhead of a step is paid once for
all members. Each member draws from its own random streams (init, shuffle, noise) exactly
as a Sequential with its seed would, which is why a member trained in an ensemble ends
with the weights it would have reached alone.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType

from .backend import resolve_dtype, xp
from .callbacks import Callback, History, check_callbacks
from .errors import ArgumentError, DivergenceWarning, ShapeError, SigmalabError
from .layers import BatchNorm, Dense, Dropout, Layer
from .layers.batchnorm import input_gradient, normalize, scale_and_shift_gradients
from .losses import Loss, get_loss
from .model import Sequential, batch_bounds
from .optimizers import Optimizer, get_optimizer
from .penalties import add_penalty_gradient, weight_penalty
from .training import begin_logs, epoch_metrics, train_epochs
from .validation import as_matrix, check_bool, check_int

MEMBER_SETTINGS = ("seed", "lr", "l1", "l2", "dropout", "weight_scale")


class Ensemble:
    """K networks of one architecture, trained together; members differ in their settings.

    Parameters
    ----------
    layers : the shared architecture, as layers or as their configs
        (``{"type": "dense", "units": 8, "activation": "tanh"}``).
    members : one mapping per network with any of ``seed``, ``lr``, ``l1``, ``l2``
        (every Dense layer), ``dropout`` (every Dropout layer's rate) and ``weight_scale``
        (every Dense layer); what a member leaves out keeps the architecture's value and
        the optimizer's learning rate.
    dtype : float32 or float64, for all members.

    Each shuffled epoch gathers every member's own order of the data (members x samples x
    features), so the ensemble suits playground-size data rather than large sets.
    """

    def __init__(
        self,
        layers: Iterable[Layer | Mapping],
        members: Sequence[Mapping],
        dtype: str = "float32",
    ) -> None:
        self.layer_configs = [_layer_config(layer) for layer in layers]
        if not self.layer_configs:
            raise SigmalabError("the ensemble has no layers; pass a list such as [sl.Dense(1)]")
        self.members = [_member_settings(index, member) for index, member in enumerate(members)]
        if not self.members:
            raise SigmalabError("members must list at least one network, e.g. [{'seed': 0}]")
        self.dtype = resolve_dtype(dtype)
        self.loss: Loss | None = None
        self.optimizer: Optimizer | None = None
        self.histories: list[History] = [History() for _ in self.members]
        self._model_with({})  # the layers alone: their mistakes are no member's
        self._models = [self._member_model(k) for k in range(len(self.members))]
        self.input_dim: int | None = None
        self.flat_params: xp.ndarray | None = None
        self.flat_grads: xp.ndarray | None = None
        self._stacks: list[_Stack] = []
        self._penalized = False
        self.stop_training = False
        self._member_lrs: list[float] = []

    @classmethod
    def grid(
        cls, layers: Iterable[Layer | Mapping], dtype: str = "float32", **axes: Sequence
    ) -> Ensemble:
        """One member per combination: ``Ensemble.grid(layers, seed=range(8), lr=[0.1, 0.01])``."""
        for name, values in axes.items():
            # A lone number would fail in itertools, a string would become one member per
            # character: each axis is the list of values to try.
            if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
                raise ArgumentError(name, "must be a list of values to try, such as [0.1]", values)
        names = list(axes)
        members = [
            dict(zip(names, values, strict=True)) for values in itertools.product(*axes.values())
        ]
        return cls(layers, members, dtype=dtype)

    def __len__(self) -> int:
        return len(self.members)

    # ---- building ----------------------------------------------------------------------
    def _member_model(self, k: int) -> Sequential:
        """Member k as an ordinary, not yet built Sequential (its settings applied); a
        setting the model refuses is named with the member."""
        settings = self.members[k]
        if "dropout" in settings and not any(
            isinstance(config, dict) and config.get("type") == Dropout.kind
            for config in self.layer_configs
        ):
            raise SigmalabError(
                f"members[{k}]: dropout is set, but the layers hold no Dropout layer for it "
                "to set; add one, such as sl.Dropout(0.1), or leave dropout out"
            )
        try:
            return self._model_with(settings)
        except SigmalabError as error:
            raise SigmalabError(f"members[{k}] {settings}: {error}") from None

    def _model_with(self, settings: Mapping) -> Sequential:
        """The layers as an unbuilt Sequential, with member ``settings`` applied."""
        dense = {key: settings[key] for key in ("l1", "l2", "weight_scale") if key in settings}
        layers = []
        for config in self.layer_configs:
            kind = config.get("type") if isinstance(config, dict) else None
            if kind == Dense.kind:
                config = {**config, **dense}
            elif kind == Dropout.kind and "dropout" in settings:
                config = {**config, "rate": settings["dropout"]}
            layers.append(config)
        seed = settings.get("seed", 0)
        return Sequential.from_config({"layers": layers, "seed": seed, "dtype": self.dtype.name})

    def build(self, input_dim: int) -> Ensemble:
        """Build every member for ``input_dim`` inputs and stack their parameters."""
        input_dim = check_int("input_dim", input_dim)
        if self.input_dim is not None:
            if input_dim != self.input_dim:
                raise ShapeError(
                    f"ensemble was built for {self.input_dim} input(s), received {input_dim}"
                )
            return self
        for model in self._models:
            model.build(input_dim)
        self.input_dim = input_dim
        self.flat_params = xp.stack([model.flat_params for model in self._models])
        self.flat_grads = xp.zeros_like(self.flat_params)
        offset = 0
        for position, layer in enumerate(self._models[0].layers):
            views = {}
            for name, value in layer.params.items():
                stop = offset + value.size
                shape = (len(self), *value.shape)
                views[name] = (
                    self.flat_params[:, offset:stop].reshape(shape),
                    self.flat_grads[:, offset:stop].reshape(shape),
                )
                offset = stop
            member_layers = [model.layers[position] for model in self._models]
            self._stacks.append(_stack(member_layers, views, self._models))
        self._penalized = any(stack.penalized for stack in self._stacks)
        # Each member keeps its weights in its row of the stack, so the member models are
        # live views of what trains: callbacks given member k (a Doctor, EarlyStopping)
        # probe, stop and restore exactly that network.
        for k, model in enumerate(self._models):
            model.share_parameters(self.flat_params[k], self.flat_grads[k])
            for layer, stack in zip(model.layers, self._stacks, strict=True):
                for name, state in stack.state.items():
                    layer.state[name] = state[k]
        return self

    def compile(
        self, loss: str | Loss = "mse", optimizer: str | dict | Optimizer = "sgd"
    ) -> Ensemble:
        """The loss and optimizer of all members; a member's ``lr`` replaces the optimizer's."""
        self.loss = get_loss(loss)
        # A private copy: its lr becomes a per-member column, which must not leak to the caller.
        self.optimizer = get_optimizer(get_optimizer(optimizer).get_config())
        self._member_lrs = [settings.get("lr", self.optimizer.lr) for settings in self.members]
        for k, (model, lr) in enumerate(zip(self._models, self._member_lrs, strict=True)):
            try:
                model.compile(self.loss, {**self.optimizer.get_config(), "lr": lr})  # checks lr
            except SigmalabError as error:
                raise SigmalabError(f"members[{k}] {self.members[k]}: {error}") from None
        self.optimizer.lr = xp.array(self._member_lrs, self.dtype).reshape(-1, 1)
        return self

    # ---- training ----------------------------------------------------------------------
    def fit(
        self,
        X: xp.ndarray,
        y: xp.ndarray,
        epochs: int = 1,
        batch_size: int = 32,
        validation_data: tuple[xp.ndarray, xp.ndarray] | None = None,
        shuffle: bool = True,
        callbacks: Callable[[int], Sequence[Callback]] | None = None,
    ) -> list[History]:
        """Train every member for ``epochs`` passes as ``Sequential.fit`` would; a History each.

        ``callbacks(k)`` gives member k's own callbacks (``lambda k: [sl.Doctor()]``): they
        see member k as a Sequential and its own logs. A member a callback stops (early
        stopping, a doctor's divergence finding) keeps its weights while the others train on.
        """
        if self.loss is None:
            raise SigmalabError("call ensemble.compile(loss=..., optimizer=...) first")
        if callbacks is not None and not callable(callbacks):
            raise SigmalabError(
                "callbacks must be a function giving member k's callbacks, such as "
                f"lambda k: [sl.Doctor()]; received: {callbacks!r}"
            )
        epochs = check_int("epochs", epochs, low=0)
        batch_size = check_int("batch_size", batch_size)
        shuffle = check_bool("shuffle", shuffle)
        X = as_matrix("X", X, self.dtype)
        self.build(X.shape[1])
        n = X.shape[0]
        targets = self.loss.prepare_targets(y, n, self._models[0].output_dim, self.dtype)
        validation = self._models[0].validation_arrays(validation_data)
        bounds = batch_bounds(n, batch_size)
        self.histories = [History() for _ in self.members]
        members = _Members(self, [_member_callbacks(callbacks, k) for k in range(len(self))])
        self.stop_training = False
        metrics = epoch_metrics(self.loss, validation)
        members.on_train_begin(self, begin_logs(X, targets, batch_size, epochs, bounds, metrics))
        largest = len(self) * self._models[0].largest_product(batch_size)
        try:
            train_epochs(self, X, targets, bounds, epochs, shuffle, validation, [members], largest)
        finally:
            members.on_train_end(self, {})
            self.optimizer.lr[...] = xp.array(self._member_lrs, self.dtype).reshape(-1, 1)
        self._warn_about_divergence(members.explained)
        return self.histories

    def epoch_batches(
        self, X: xp.ndarray, targets: xp.ndarray, bounds: list[tuple[int, int]], shuffle: bool
    ) -> Iterator[tuple[xp.ndarray, xp.ndarray]]:
        """One epoch's batches for all members, (members, rows, ...): each its own order."""
        if shuffle:
            shuffles = [model.random_streams["shuffle"] for model in self._models]
            orders = _permutations(shuffles, X.shape[0])
            X_epoch, y_epoch = X.take(orders, axis=0), targets.take(orders, axis=0)
        else:
            X_epoch, y_epoch = self._for_members(X), self._for_members(targets)
        for start, stop in bounds:
            yield X_epoch[:, start:stop], y_epoch[:, start:stop]

    @staticmethod
    def all_diverged(losses: xp.ndarray) -> bool:
        """Whether every member's batch loss is NaN or infinite (nothing left to train)."""
        return not xp.isfinite(losses).any()

    def freeze_member(self, k: int) -> None:
        """Leave member k's weights as they are for the rest of this fit (its lr is 0)."""
        self.optimizer.lr[k] = 0.0

    def _warn_about_divergence(self, explained: set[int]) -> None:
        """One DivergenceWarning naming the members whose loss became NaN or infinite, unless
        a callback of theirs (a doctor) reports it."""
        diverged = [
            k
            for k, history in enumerate(self.histories)
            if k not in explained
            and history.history
            and not math.isfinite(history.history["loss"][-1])
        ]
        if diverged:
            shown = ", ".join(f"{k} {dict(self.members[k])}" for k in diverged[:5])
            more = f" and {len(diverged) - 5} more" if len(diverged) > 5 else ""
            warnings.warn(
                f"{len(diverged)} of {len(self)} members diverged (the loss became NaN or "
                f"infinite): {shown}{more}. The other members are unaffected; lower the "
                "diverged members' learning rate or set clip_norm.",
                DivergenceWarning,
                stacklevel=3,
            )

    def train_batch(self, X: xp.ndarray, targets: xp.ndarray) -> tuple[xp.ndarray, xp.ndarray]:
        """One update of every member on its batch (members, rows, ...); losses and outputs."""
        out = self._forward(X, True)
        losses, dout = self.loss.values_and_grad(out, targets)
        for stack in reversed(self._stacks[1:]):
            dout = stack.backward(dout)
        self._stacks[0].backward(dout, need_input_grad=False)
        if self._penalized:
            losses = losses + self.penalties()
        self.optimizer.step(self.flat_params, self.flat_grads)
        return losses, out

    def _forward(self, X: xp.ndarray, training: bool) -> xp.ndarray:
        for stack in self._stacks:
            X = stack.forward(X, training)
        return X

    def penalties(self) -> xp.ndarray:
        """Each member's L1/L2 terms, as added to its loss."""
        total = xp.zeros(len(self))
        for stack in self._stacks:
            total += stack.penalties()
        return total

    def _for_members(self, array: xp.ndarray) -> xp.ndarray:
        """The same samples for every member: a read-only view with a member axis, no copy."""
        return xp.broadcast_to(array, (len(self), *array.shape))

    def evaluate_arrays(self, X: xp.ndarray, targets: xp.ndarray) -> dict[str, xp.ndarray]:
        """Every member's loss and accuracy on the same prepared arrays, in inference mode."""
        out = self._forward(self._for_members(X), False)
        targets = self._for_members(targets)
        losses, _ = self.loss.values_and_grad(out, targets)
        metrics = {"loss": losses + self.penalties()}
        if self.loss.is_classification:
            metrics["accuracy"] = self.loss.accuracies(out, targets)
        return metrics

    # ---- results -----------------------------------------------------------------------
    def predict(self, X: xp.ndarray) -> xp.ndarray:
        """Every member's predictions, shape (members, samples, outputs)."""
        self._require_built()
        X = as_matrix("X", X, self.dtype)
        if X.shape[1] != self.input_dim:
            raise ShapeError(
                f"X has {X.shape[1]} feature column(s) but the ensemble was built for "
                f"{self.input_dim}"
            )
        out = self._forward(self._for_members(X), False)
        return self.loss.transform(out) if self.loss is not None else out

    def member_views(self) -> list[Sequential]:
        """The members as Sequentials whose weights are their rows of the stack (not copies).

        What a view's layers hold is what the ensemble trains; use ``member(k)`` for an
        independent model to keep, save or train on.
        """
        self._require_built()
        return list(self._models)

    def member(self, k: int) -> Sequential:
        """Member k as an ordinary Sequential: its weights, history, random streams, optimizer."""
        self._require_built()
        k = check_int("k", k, low=0)
        if k >= len(self):
            raise SigmalabError(
                f"k must be below {len(self)} (the number of members), received {k}"
            )
        model = self._member_model(k)
        model.build(self.input_dim)
        model.flat_params[...] = self.flat_params[k]
        for layer, stack in zip(model.layers, self._stacks, strict=True):
            for name, state in stack.state.items():
                layer.state[name][...] = state[k]
        for name, rng in self._models[k].random_streams.items():
            model.random_streams[name].bit_generator.state = rng.bit_generator.state
        if self.loss is not None:
            model.compile(self.loss, {**self.optimizer.get_config(), "lr": self._member_lrs[k]})
            _copy_optimizer_row(self.optimizer, model.optimizer, k)
        model.history = self.histories[k]
        return model

    def _require_built(self) -> None:
        if self.input_dim is None:
            raise SigmalabError(
                "the ensemble is not built yet: call ensemble.build(input_dim) or fit"
            )

    def __repr__(self) -> str:
        return f"Ensemble({len(self)} members, layers={self.layer_configs})"


# ---- per-member callbacks --------------------------------------------------------------------
class _Members(Callback):
    """Hands each member its own callbacks, its model and its column of the stacked logs.

    Batch logs are split only for callbacks that listen to batches (a History does not),
    so a large ensemble with no such callback pays nothing per step.
    """

    def __init__(self, ensemble: Ensemble, callbacks: list[list[Callback]]) -> None:
        self.ensemble = ensemble
        self.models = ensemble.member_views()
        self.callbacks = [
            [history, *own] for history, own in zip(ensemble.histories, callbacks, strict=True)
        ]
        self.batch_listeners = [
            [hook for hook in hooks if type(hook).on_batch_end is not Callback.on_batch_end]
            for hooks in self.callbacks
        ]
        self.active = list(range(len(callbacks)))
        self.listening = any(self.batch_listeners)
        self.explained = {
            k for k, hooks in enumerate(self.callbacks) if any(h.explains_divergence for h in hooks)
        }

    def on_train_begin(self, ensemble, logs):
        """Every member's callbacks start, each with its member model."""
        for model, hooks in zip(self.models, self.callbacks, strict=True):
            model.stop_training = False
            for hook in hooks:
                hook.on_train_begin(model, logs)

    def on_batch_end(self, ensemble, step, logs):
        """Each listening member's callbacks get its own batch loss."""
        if not self.listening:
            return
        losses = logs["loss"].tolist()
        for k in self.active:
            for hook in self.batch_listeners[k]:
                hook.on_batch_end(self.models[k], step, {"loss": losses[k]})

    def on_epoch_end(self, ensemble, epoch, logs):
        """Each active member's callbacks get its logs; a member they stop is frozen."""
        columns = {key: values.tolist() for key, values in logs.items()}  # Python floats
        for k in list(self.active):
            model = self.models[k]
            for hook in self.callbacks[k]:
                hook.on_epoch_end(model, epoch, {key: col[k] for key, col in columns.items()})
            if model.stop_training:
                self.active.remove(k)
                ensemble.freeze_member(k)
                self.listening = any(self.batch_listeners[k] for k in self.active)
        ensemble.stop_training = not self.active

    def on_train_end(self, ensemble, logs):
        """Every member's callbacks finish (EarlyStopping puts back its best weights)."""
        for model, hooks in zip(self.models, self.callbacks, strict=True):
            for hook in hooks:
                hook.on_train_end(model, {})


def _member_callbacks(factory: Callable[[int], Sequence[Callback]] | None, k: int) -> list:
    """Member k's callbacks from the user's factory, checked like Sequential.fit checks them."""
    if factory is None:
        return []
    try:
        return check_callbacks(factory(k))
    except SigmalabError as error:
        raise SigmalabError(f"callbacks({k}): {error}") from None


# ---- per-layer stacks: one object runs a layer for all members -----------------------------
class _Stack:
    """A layer for K members at once; arrays carry the member axis first."""

    state: Mapping[str, xp.ndarray] = MappingProxyType({})  # saved, untrained arrays (K, ...)
    penalized = False  # whether penalties() can be non-zero

    def forward(self, x: xp.ndarray, training: bool) -> xp.ndarray:
        raise NotImplementedError

    def backward(self, dy: xp.ndarray, need_input_grad: bool = True) -> xp.ndarray | None:
        raise NotImplementedError

    def penalties(self) -> xp.ndarray | float:
        return 0.0


class _DenseStack(_Stack):
    """K Dense layers: z = x W + b with W (K, in, out); batched products, one call each."""

    def __init__(self, layers: list[Dense], views: dict) -> None:
        self.activation = layers[0].activation
        self.W, self.dW = views["W"]
        self.W_T = self.W.swapaxes(1, 2)
        self.b, self.db = views.get("b", (None, None))
        self.b_rows = None if self.b is None else self.b[:, None, :]  # broadcasts over a batch
        # One coefficient per member, shaped and typed to scale its W like Dense does.
        self.l1 = xp.array([layer.l1 for layer in layers], self.W.dtype).reshape(-1, 1, 1)
        self.l2 = xp.array([layer.l2 for layer in layers], self.W.dtype).reshape(-1, 1, 1)
        self.penalized = bool(self.l1.any() or self.l2.any())

    def forward(self, x, training):
        z = xp.matmul(x, self.W)
        if self.b_rows is not None:
            z += self.b_rows
        self.x, self.z = x, z
        self.a = self.activation(z)
        return self.a

    def backward(self, dy, need_input_grad=True):
        delta = self.activation.backward(dy, self.z, self.a)
        xp.matmul(self.x.swapaxes(1, 2), delta, out=self.dW)
        if self.b is not None:
            self._bias_grad(delta)
        if self.penalized:
            add_penalty_gradient(self.dW, self.W, self.l1, self.l2)
        return xp.matmul(delta, self.W_T) if need_input_grad else None

    def _bias_grad(self, delta: xp.ndarray) -> None:
        """db = the sum of delta over the batch, rounded as a member alone rounds it.

        Rounding matters: Adam turns a last-bit difference in a near-zero gradient into a
        whole step, and the members must end where they would alone (tested). For one unit
        (an output bias) einsum rounds differently, add.reduce does not; for more units
        einsum is 3x faster than add.reduce over the middle axis.
        """
        if delta.shape[2] > 1:
            xp.einsum("kbu->ku", delta, out=self.db)
        else:
            xp.add.reduce(delta, axis=1, out=self.db)

    def penalties(self):
        return weight_penalty(self.W, self.l1, self.l2) if self.penalized else 0.0


class _DropoutStack(_Stack):
    """K Dropout layers with their own rates, each drawing masks from its member's noise stream."""

    def __init__(self, layers: list[Dropout], noise: list[xp.random.Generator]) -> None:
        self.rates = [layer.rate for layer in layers]
        self.noise = noise

    def forward(self, x, training):
        if not training or not any(self.rates):
            self.mask = None
            return x
        rows, width = x.shape[1:]
        dtype = x.dtype
        self.mask = xp.ones((len(self.rates), rows, width), dtype)
        for mask, rate, rng in zip(self.mask, self.rates, self.noise, strict=True):
            if rate == 1.0:  # the same cases, and draws, as Dropout.forward
                mask[...] = 0.0
            elif rate > 0.0:
                keep = rng.random((rows, width)) >= rate
                mask[...] = keep.astype(dtype) * dtype.type(1.0 / (1.0 - rate))
        return x * self.mask

    def backward(self, dy, need_input_grad=True):
        if not need_input_grad:
            return None
        return dy if self.mask is None else dy * self.mask


class _BatchNormStack(_Stack):
    """K BatchNorm layers: statistics per member over its own batch (axis 1)."""

    def __init__(self, layers: list[BatchNorm], views: dict) -> None:
        self.momentum, self.eps = layers[0].momentum, layers[0].eps
        self.gamma, self.dgamma = views["gamma"]
        self.beta, self.dbeta = views["beta"]
        self.state = {
            name: xp.stack([layer.state[name] for layer in layers]) for name in layers[0].state
        }

    def forward(self, x, training):
        self.training = training
        self.xhat, self.inv_std = normalize(
            x,
            self.state["running_mean"][:, None, :],
            self.state["running_var"][:, None, :],
            self.momentum,
            self.eps,
            training,
        )
        return self.xhat * self.gamma[:, None] + self.beta[:, None]

    def backward(self, dy, need_input_grad=True):
        scale_and_shift_gradients(dy, self.xhat, self.dgamma, self.dbeta)
        if not need_input_grad:
            return None
        return input_gradient(dy * self.gamma[:, None], self.xhat, self.inv_std, self.training)


def _stack(layers: list[Layer], views: dict, models: list[Sequential]) -> _Stack:
    if isinstance(layers[0], Dense):
        return _DenseStack(layers, views)
    if isinstance(layers[0], Dropout):
        return _DropoutStack(layers, [model.random_streams["noise"] for model in models])
    if isinstance(layers[0], BatchNorm):
        return _BatchNormStack(layers, views)
    raise SigmalabError(f"Ensemble supports Dense, Dropout and BatchNorm, received {layers[0]!r}")


# ---- helpers -------------------------------------------------------------------------------
def _permutations(generators: list[xp.random.Generator], n: int) -> xp.ndarray:
    """Row k: generators[k].permutation(n), drawn the same way, into one (K, n) array.

    permutation(n) shuffles a fresh arange(n); shuffling the rows of one array in place
    draws the same numbers and skips K allocations and a stack.
    """
    orders = xp.empty((len(generators), n), dtype=xp.intp)
    orders[...] = xp.arange(n)
    for rng, row in zip(generators, orders, strict=True):
        rng.shuffle(row)
    return orders


def _layer_config(layer: Layer | Mapping) -> dict | object:
    """A layer's config; anything else is passed on for Sequential.from_config to judge."""
    if isinstance(layer, Layer):
        return layer.get_config()
    return dict(layer) if isinstance(layer, Mapping) else layer


def _member_settings(index: int, member: Mapping) -> dict:
    if not isinstance(member, Mapping):
        raise SigmalabError(
            f"members[{index}] must be a mapping such as {{'seed': 0}}, received: {member!r}"
        )
    unknown = sorted(set(member) - set(MEMBER_SETTINGS))
    if unknown:
        raise SigmalabError(
            f"members[{index}]: unknown setting(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(MEMBER_SETTINGS)}"
        )
    return dict(member)


def _copy_optimizer_row(source: Optimizer, target: Optimizer, k: int) -> None:
    """Give a member's optimizer its row of the ensemble's moments, so training can go on."""
    target.steps = source.steps
    for name in ("velocity", "m", "v"):
        value = getattr(source, name, None)
        if isinstance(value, xp.ndarray):
            setattr(target, name, value[k].copy())
