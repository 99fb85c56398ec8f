"""One page's training run, on a worker thread that alone touches the model.

The page sends commands (play, a changed setting, a weight edit, a remedy); the worker
handles them between epochs, so a click takes effect within one epoch. Training is one
``model.fit`` call per run, exactly the training ``sigmalab train`` does on the exported
run file, with the Doctor attached; a callback after each epoch publishes a frame when one
is due, paces the run to the chosen speed, and waits there while the run is paused.
Frames are published latest-only: a slow page skips frames, training never waits for it.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import random
import shutil
import tempfile
import threading
import time
import tomllib
import warnings
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..activations import get_activation
from ..callbacks import Callback, EarlyStopping
from ..config import RunConfig, build_model
from ..data.registry import SYNTHETIC
from ..doctor import Doctor, check_static
from ..doctor.remedies import apply_remedy
from ..errors import SigmalabError
from ..runner import check_loss_fits, load_data, run_task
from . import exports
from .frames import pack
from .repairs import BackgroundRepair, repair_message
from .run_file import builtin_task, describe_remedy, from_run, resolve_loss, to_run
from .settings import (
    MAX_SEED,
    Settings,
    SettingsError,
    from_mapping,
    parse_query,
    to_dict,
    to_query,
)
from .uploads import UploadedCsv, save_upload
from .view import View, dense_weights, hidden_dense, plane_for

if TYPE_CHECKING:
    from ..doctor.repair import RepairResult

log = logging.getLogger(__name__)

MAX_EPOCHS = 100_000  # a run stops here; the doctor's records stay a few MB
FULL_SPEED_FRAME_SECONDS = 1 / 45  # frames while training as fast as possible
PACED_FRAME_SECONDS = 1 / 60  # one frame per screen refresh at a chosen epochs-per-frame
MIN_DIAGNOSE_SECONDS = 0.25  # live findings at most 4 times a second ...
DIAGNOSE_SHARE = 0.1  # ... and at most 10 % of the time
MAX_RUN_FILE_BYTES = 100_000
CURVE_POINTS = 201
# Repair retrains for as many epochs as the page has trained, within these bounds.
MIN_REPAIR_EPOCHS, MAX_REPAIR_EPOCHS = 100, 1000


class _RestartSignal(Exception):  # noqa: N818 (a signal, not an error)
    """The run's settings changed: leave fit and build the new run."""


class _ClosedSignal(Exception):  # noqa: N818 (a signal, not an error)
    """The page went away: stop."""


class Outbox:
    """Messages from the worker to the page: control messages in order, frames latest-only.

    ``notify`` is called (from the worker thread) whenever something is waiting; the web
    app sets it to wake its sender.
    """

    def __init__(self, notify: Callable[[], None] = lambda: None) -> None:
        self.notify = notify
        self._lock = threading.Lock()
        self._messages: deque[dict | bytes] = deque()
        self._frame: bytes | None = None
        self.frames_published = 0
        self.frames_skipped = 0
        self.ended = False

    def send(self, message: dict | bytes) -> None:
        """Queue a control message (JSON dict or binary); none is ever dropped."""
        with self._lock:
            self._messages.append(message)
        self.notify()

    def send_frame(self, frame: bytes) -> None:
        """Offer a frame; one not yet taken is replaced by the newer one."""
        with self._lock:
            if self._frame is not None:
                self.frames_skipped += 1
            self._frame = frame
            self.frames_published += 1
        self.notify()

    def end(self) -> None:
        """Say that nothing more will come: the session has stopped and the page must reload."""
        self.ended = True
        self.notify()

    def take(self) -> list[dict | bytes]:
        """Everything waiting, control messages first, then the latest frame."""
        with self._lock:
            messages = list(self._messages)
            self._messages.clear()
            if self._frame is not None:
                messages.append(self._frame)
                self._frame = None
        return messages


@dataclasses.dataclass
class _Run:
    """What one set of settings built: data, model, view and its doctor."""

    settings: Settings
    config: RunConfig
    model: Any
    view: View
    task: str
    n_classes: int | None
    loss: str
    doctor: Doctor
    data: Any


class _Watcher(Callback):
    """fit's hook into the session: after each epoch, frames, pacing, commands, pauses."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def on_epoch_end(self, model, epoch, logs):
        """Hand the epoch to the session (which may raise _RestartSignal or _ClosedSignal)."""
        self.session.after_epoch(epoch + 1)


class Session:
    """One page's run. ``submit`` commands from any thread; ``outbox`` carries the replies.

    A ``compact`` session is a compare panel: its frames carry the heat-map, the metrics
    and the loss, not the network's weights and unit thumbnails, which its panel does not draw.
    """

    def __init__(self, outbox: Outbox, query: str = "", compact: bool = False) -> None:
        self.outbox = outbox
        self.compact = compact
        self._commands: queue.Queue[dict] = queue.Queue()
        self._folder = Path(tempfile.mkdtemp(prefix="sigmalab-playground-"))
        self._query = query
        self._upload: UploadedCsv | None = None
        self._run: _Run | None = None
        self._pending: Settings | None = None
        self.run_id = 0
        self.epoch = 0
        self.playing = False
        self._step = False
        self._finished: str | None = None
        self._edited = False
        self._last_frame = 0.0
        self._epochs_since_frame = 0
        self._flow_seen = 0
        self._findings_sent: list | None = None
        self._next_diagnose = 0.0
        self._repair: BackgroundRepair | None = None
        self._repaired: Settings | None = None
        self._thread = threading.Thread(target=self._main, name="playground-session", daemon=True)

    # ---- the outside ---------------------------------------------------------------------
    def start(self) -> None:
        """Build the first run (from the URL's query) and start serving commands."""
        self._thread.start()

    def submit(self, message: dict) -> None:
        """Queue a command from the page; it is handled within an epoch."""
        self._commands.put(message)

    def close(self, timeout: float | None = None) -> None:
        """Stop training (within an epoch), end the thread and delete the session's files;
        waits up to ``timeout`` seconds for the thread when given."""
        self._commands.put({"type": "close"})
        if timeout and self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        """Whether the worker thread still runs."""
        return self._thread.is_alive()

    # ---- the worker ----------------------------------------------------------------------
    def _main(self) -> None:
        try:
            settings, problems = parse_query(self._query)
            self._rebuild(settings, problems)
            while True:
                if self._pending is not None:
                    self._rebuild(self._pending)
                elif self._run is not None and (self.playing or self._step):
                    self._train()
                else:
                    self._handle(self._commands.get())
        except _ClosedSignal:
            pass
        except Exception as error:  # a bug must not kill the server: say so, and stop
            log.exception("playground session failed")
            self.outbox.send({"type": "error", "message": f"internal error: {error!r}"})
            self.outbox.end()  # the page's controls would otherwise do nothing, silently
        finally:
            if self._repair is not None:
                self._repair.cancel()
            self._run = None
            shutil.rmtree(self._folder, ignore_errors=True)

    def _train(self) -> None:
        run = self._run
        data = run.data
        patience = run.config.train.early_stopping_patience
        stopper = [] if patience is None else [EarlyStopping(patience=patience)]
        self._last_frame = time.perf_counter()
        self._epochs_since_frame = 0
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                run.model.fit(
                    data.X_train,
                    data.y_train,
                    epochs=MAX_EPOCHS - self.epoch,
                    batch_size=run.settings.batch,
                    validation_data=(data.X_test, data.y_test),
                    verbose=0,
                    callbacks=[*stopper, run.doctor, _Watcher(self)],
                )
        except _RestartSignal:
            return
        self.playing = self._step = False
        self._finished = self._end_reason(stopper)
        self._publish_frame()
        self._publish_findings(force=True)
        self._send_status()

    def _end_reason(self, stopper: list[EarlyStopping]) -> str:
        if stopper and stopper[0].stopped_epoch is not None:
            return (
                f"stopped early at epoch {self.epoch}: the test loss had not improved for "
                f"{stopper[0].patience} epochs (the weights of epoch {stopper[0].best_epoch + 1} "
                "are back)"
            )
        if any(finding.kind == "divergence" for finding in self._run.doctor.findings):
            return "stopped: training diverged (see the doctor)"
        if self.epoch < MAX_EPOCHS:  # fit stops early only on a loss that is not a number
            return (
                f"stopped at epoch {self.epoch}: the loss became NaN or infinite (see the doctor)"
            )
        return f"stopped at the limit of {MAX_EPOCHS:,} epochs"

    def after_epoch(self, epoch: int) -> None:
        """After each epoch inside fit: commands, a frame when due, pacing, pausing.

        A step asked for before this epoch began was this epoch: show it and pause. One
        asked for now (while the commands are read) is the next epoch, never this one.
        """
        self.epoch = epoch
        self._epochs_since_frame += 1
        stepped, self._step = self._step, False
        self._drain()
        speed = self._run.settings.speed
        now = time.perf_counter()
        if stepped:
            self._publish_frame()
        elif self.playing and speed == 0:
            if now - self._last_frame >= FULL_SPEED_FRAME_SECONDS:
                self._publish_frame()
        elif self.playing and self._epochs_since_frame >= speed:
            # The Playground's pace: ``speed`` epochs, then wait for the next screen refresh.
            self._wait(self._last_frame + PACED_FRAME_SECONDS - now)
            self._publish_frame()
        while not self.playing and not self._step:  # paused: wait here, inside the run
            self._handle(self._commands.get())
            self._check_pending()

    def _drain(self) -> None:
        while True:
            try:
                message = self._commands.get_nowait()
            except queue.Empty:
                break
            self._handle(message)
        self._check_pending()

    def _wait(self, seconds: float) -> None:
        """Sleep up to ``seconds`` while still answering commands."""
        deadline = time.perf_counter() + seconds
        while (left := deadline - time.perf_counter()) > 0:
            try:
                message = self._commands.get(timeout=left)
            except queue.Empty:
                return
            self._handle(message)
            self._check_pending()

    def _check_pending(self) -> None:
        if self._pending is not None:
            raise _RestartSignal

    # ---- commands ------------------------------------------------------------------------
    def _handle(self, message: dict) -> None:
        kind = message.get("type") if isinstance(message, dict) else None
        handler = self._HANDLERS.get(kind) if isinstance(kind, str) else None
        if handler is None:
            self._error(f"unknown message type {kind!r}")
            return
        try:
            handler(self, message)
        except SigmalabError as error:
            problems = error.problems if isinstance(error, SettingsError) else [str(error)]
            self._error("; ".join(problems), problems)
            if self._run is not None:  # the page puts its controls back to the run it has
                self._send_settings()

    def _on_close(self, message: dict) -> None:
        raise _ClosedSignal

    def _on_play(self, message: dict) -> None:
        if self._finished:
            self._error(f"this run has {self._finished.split(':')[0]}; press reset to train again")
            return
        self.playing = True
        self._send_status()

    def _on_pause(self, message: dict) -> None:
        self.playing = False
        self._send_status()
        if self._run is not None:
            self._publish_frame()

    def _on_step(self, message: dict) -> None:
        if self._finished:
            self._error("this run has ended; press reset to train again")
            return
        self.playing = False
        self._step = True

    def _on_reset(self, message: dict) -> None:
        self._pending = self._run.settings  # the same seed: the same data and initial weights

    def _on_regenerate(self, message: dict) -> None:
        seed = random.randint(0, MAX_SEED)
        self._pending = dataclasses.replace(self._run.settings, seed=seed)

    def _on_settings(self, message: dict) -> None:
        current = self._run.settings
        settings = from_mapping(message.get("settings", {}), base=current)
        if settings.is_csv and (self._upload is None or self._upload.name != settings.dataset):
            raise SettingsError([f"dataset: upload {settings.dataset!r} first"])
        if not settings.structure_equals(current):
            self._pending = settings
            return
        if settings.lr != current.lr:  # live, as in the Playground
            self._run.model.optimizer.lr = settings.lr
            self._edited = self._edited or self.epoch > 0
        self._run.settings = settings
        self._send_settings()

    def _on_edit_weight(self, message: dict) -> None:
        try:
            layer = self._dense_layer(message["layer"])
            row, col = int(message["row"]), int(message["col"])
        except (KeyError, IndexError, TypeError, ValueError, OverflowError):
            raise SigmalabError(f"edit_weight: no such weight ({message!r})") from None
        fan_in, fan_out = layer.params["W"].shape
        if not (0 <= row < fan_in and 0 <= col < fan_out):
            raise SigmalabError(f"edit_weight: no such weight ({message!r})")
        layer.params["W"][row, col] = _edited_value("weight", message.get("value"))
        self._edited = True
        self._publish_frame()

    def _on_edit_bias(self, message: dict) -> None:
        try:
            layer = self._dense_layer(message["layer"])
            unit = int(message["unit"])
        except (KeyError, IndexError, TypeError, ValueError, OverflowError):
            raise SigmalabError(f"edit_bias: no such bias ({message!r})") from None
        if "b" not in layer.params or not 0 <= unit < layer.units:
            raise SigmalabError(f"edit_bias: no such bias ({message!r})")
        layer.params["b"][unit] = _edited_value("bias", message.get("value"))
        self._edited = True
        self._publish_frame()

    def _dense_layer(self, index: Any) -> Any:
        """The model's ``index``-th Dense layer (the page's hidden layers, then the output)."""
        dense = [layer for layer in self._run.model.layers if hasattr(layer, "units")]
        position = int(index)
        if position < 0:
            raise IndexError(position)
        return dense[position]

    def _on_remedy(self, message: dict) -> None:
        run = self._run
        remedy = message.get("remedy")
        if not isinstance(remedy, dict):
            raise SigmalabError(
                f"remedy: must be an object such as {{'action': 'set_l2', 'value': 0.001}} "
                f"(received {remedy!r})"
            )
        current = self._config(run.settings, 1).to_dict()
        changed = apply_remedy(current, remedy)
        settings = from_run(
            RunConfig.from_dict(changed, self._folder).to_dict(),
            run.task,
            run.n_classes,
            view=run.settings,
        )
        if settings == run.settings:
            self._error("this remedy changes nothing the page trains: keep training")
            return
        self._pending = settings

    def _on_repair(self, message: dict) -> None:
        if self._repair is not None and self._repair.running:
            finishing = " (the cancelled one is finishing its retrain)"
            raise SigmalabError(
                "repair: one repair runs at a time; wait for it or cancel it"
                + (finishing if self._repair.cancelled else "")
            )
        settings = self._run.settings
        epochs = min(max(self.epoch, MIN_REPAIR_EPOCHS), MAX_REPAIR_EPOCHS)
        task, n_classes = self._task_of(settings)
        run_id = self.run_id

        def progress(retrain: int, most: int) -> None:
            self.outbox.send(
                {
                    "type": "repair",
                    "state": "running",
                    "run": run_id,
                    "retrain": retrain,
                    "most": most,
                    "epochs": epochs,
                }
            )

        def done(result: RepairResult | None, problem: str | None) -> None:
            message = repair_message(result, problem, run_id, epochs)
            if message.get("adoptable"):
                try:
                    config = result.config.to_dict()
                    self._repaired = from_run(config, task, n_classes, view=settings)
                except SettingsError as error:
                    message["adoptable"] = False
                    message["note"] = "the page cannot train the repaired run: " + "; ".join(
                        error.problems
                    )
            self.outbox.send(message)

        self._repaired = None
        self._repair = BackgroundRepair(self._config(settings, epochs), progress, done)
        self._repair.start()

    def _on_repair_cancel(self, message: dict) -> None:
        if self._repair is None or not self._repair.running or self._repair.cancelled:
            raise SigmalabError("repair: no repair is running")
        self._repair.cancel()
        self.outbox.send({"type": "repair", "state": "cancelling", "run": self.run_id})

    def _on_repair_adopt(self, message: dict) -> None:
        if self._repaired is None:
            raise SigmalabError("repair: no repaired setup to adopt; press Repair first")
        self._pending, self._repaired = self._repaired, None

    def _on_upload(self, message: dict) -> None:
        upload = save_upload(self._folder, message.get("name"), str(message.get("text", "")))
        self._upload = upload
        features = self._run.settings.features
        self._pending = dataclasses.replace(
            self._run.settings, dataset=upload.name, features=features
        )

    def _on_load_run(self, message: dict) -> None:
        text = str(message.get("text", ""))
        name = str(message.get("name", "run file"))
        if len(text.encode()) > MAX_RUN_FILE_BYTES:
            raise SigmalabError(f"{name}: over the limit of {MAX_RUN_FILE_BYTES:,} bytes")
        try:
            values = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise SigmalabError(f"{name}: invalid TOML: {error}") from None
        dataset = (
            values.get("data", {}).get("dataset") if isinstance(values.get("data"), dict) else None
        )
        view = self._run.settings
        task, n_classes = None, None
        if dataset in SYNTHETIC:
            view = dataclasses.replace(view, dataset=dataset)
        elif (
            self._upload is not None
            and isinstance(dataset, str)
            and Path(dataset).name == self._upload.name
        ):
            # Only the CSV uploaded here is read: a run file never opens a path on the server.
            values["data"]["dataset"] = self._upload.name
            view = dataclasses.replace(view, dataset=self._upload.name)
        else:
            raise SigmalabError(
                f"{name}: data.dataset: the page trains the built-in sets "
                f"({', '.join(SYNTHETIC)}) or an uploaded CSV; received {dataset!r}"
                + ("; upload that file first" if str(dataset).endswith(".csv") else "")
            )
        try:
            config = RunConfig.from_dict(values, self._folder)
        except SigmalabError as error:
            raise SigmalabError(f"{name}: {error}".replace("run file: ", "")) from None
        task, n_classes = self._task_of(view)
        if view.is_csv and run_task(config) not in (None, task):
            raise SigmalabError(
                f"{name}: data.task: the page reads {view.dataset} as a {task}, this run file "
                f"as a {run_task(config)}; set task = {task!r} in [data]"
            )
        try:
            self._pending = from_run(config.to_dict(), task, n_classes, view=view)
        except SettingsError as error:  # a value the page's controls cannot take
            raise SettingsError([f"{name}: {problem}" for problem in error.problems]) from None

    def _on_export(self, message: dict) -> None:
        what = message.get("what")
        run = self._run
        note = ""
        if self._edited:
            note = (
                "the learning rate or weights were changed during training: this file "
                "trains the current settings from the start"
            )
        if what == "run":
            text = exports.run_file_text(self._config(run.settings, self.epoch), self._folder)
            self._send_file(exports.RUN_FILE, text=text, note=note)
        elif what == "python":
            run_dict = self._run_dict(run.settings, self.epoch)
            csv_name = self._upload.name if run.settings.is_csv else None
            self._send_file(exports.SNIPPET_FILE, text=exports.python_snippet(run_dict, csv_name))
        elif what == "model":
            data = np.frombuffer(exports.model_bytes(run.model), dtype=np.uint8)
            header = {"type": "file", "filename": exports.MODEL_FILE, "epoch": self.epoch}
            self.outbox.send(pack(header, {"data": data}))
        else:
            self._error(f"export: {what!r} is not allowed; allowed: run, model, python")

    def _on_curve(self, message: dict) -> None:
        spec = message.get("spec")
        try:
            activation = get_activation(spec)
        except SigmalabError as error:
            raise SigmalabError(f"activation: {error}") from None
        x = np.linspace(-5.0, 5.0, CURVE_POINTS)
        with np.errstate(all="ignore"):
            y = np.asarray(activation(x.copy()), dtype=np.float64)
            dy = np.asarray(activation.derivative(x, y), dtype=np.float64)
        self.outbox.send(
            {"type": "curve", "spec": spec, "x": x.tolist(), "y": _finite(y), "dy": _finite(dy)}
        )

    def _on_ping(self, message: dict) -> None:
        """Keeps an open page from counting as idle; nothing to do here."""

    _HANDLERS: dict[str, Callable[[Session, dict], None]] = {
        "close": _on_close,
        "play": _on_play,
        "pause": _on_pause,
        "step": _on_step,
        "reset": _on_reset,
        "regenerate": _on_regenerate,
        "settings": _on_settings,
        "edit_weight": _on_edit_weight,
        "edit_bias": _on_edit_bias,
        "remedy": _on_remedy,
        "repair": _on_repair,
        "repair_cancel": _on_repair_cancel,
        "repair_adopt": _on_repair_adopt,
        "upload": _on_upload,
        "load_run": _on_load_run,
        "export": _on_export,
        "curve": _on_curve,
        "ping": _on_ping,
    }

    # ---- building a run ------------------------------------------------------------------
    def _task_of(self, settings: Settings) -> tuple[str, int | None]:
        if settings.is_csv:
            return self._upload.task, self._upload.n_classes
        return builtin_task(settings)

    def _run_dict(self, settings: Settings, epochs: int) -> dict:
        """The run file's dict; an uploaded CSV is named as it lies in the session's folder."""
        task, n_classes = self._task_of(settings)
        return to_run(settings, task, n_classes, epochs)

    def _config(self, settings: Settings, epochs: int) -> RunConfig:
        return RunConfig.from_dict(self._run_dict(settings, epochs), self._folder)

    def _build(self, settings: Settings) -> _Run:
        if settings.is_csv and (self._upload is None or self._upload.name != settings.dataset):
            raise SettingsError(
                [f"dataset: {settings.dataset!r} is a CSV file: upload it to use this link"]
            )
        task, n_classes = self._task_of(settings)
        config = self._config(settings, 1)
        dataset, preprocessing = load_data(config)
        check_loss_fits(config, dataset)
        model = build_model(config)  # as the runner builds it: the model owns its preprocessing
        model.preprocessing = preprocessing
        model.class_names = dataset.class_names
        model.build(len(preprocessing.output_names))
        loss = resolve_loss(settings, task, n_classes)
        view = View(dataset, model, loss, plane_for(dataset, builtin=not settings.is_csv))
        return _Run(settings, config, model, view, task, n_classes, loss, Doctor(), dataset)

    def _rebuild(self, settings: Settings, problems: list[str] | None = None) -> None:
        self._pending = None
        try:
            run = self._build(settings)
        except SigmalabError as error:
            problems = getattr(error, "problems", None) or [str(error)]
            self._error("; ".join(problems), problems)
            if self._run is not None:
                self._send_settings()  # the page puts its controls back to the run it has
                return
            run = self._build(Settings())
        self._run = run
        self.run_id += 1
        self.epoch = 0
        self._step = False
        self._finished = None
        self._edited = False
        self._flow_seen = 0
        self._findings_sent = None
        self._next_diagnose = 0.0
        self._send_setup(problems or [])
        self._publish_frame()
        with np.errstate(all="ignore"):
            static = check_static(run.model, run.model.preprocess(run.data.X_train))
        self._send_findings(static)

    # ---- messages ------------------------------------------------------------------------
    def _settings_message(self) -> dict:
        settings = self._run.settings
        return {"settings": to_dict(settings), "query": to_query(settings)}

    def _send_settings(self) -> None:
        self.outbox.send({"type": "settings", "run": self.run_id, **self._settings_message()})

    def _send_setup(self, problems: list[str]) -> None:
        run = self._run
        view = run.view
        raw = run.data
        header = {
            "type": "setup",
            "run": self.run_id,
            **self._settings_message(),
            "problems": problems,
            "task": run.task,
            "n_classes": run.n_classes,
            "loss": run.loss,
            "inputs": list(run.model.preprocessing.output_names),
            "layers": [layer.units for layer in hidden_dense(run.model)],
            "outputs": run.model.output_dim,
            "plane": None
            if view.plane is None
            else {"x": list(view.plane.x_range), "y": list(view.plane.y_range)},
            "heat_range": list(view.heat_range()),
            "upload": None
            if self._upload is None
            else {"name": self._upload.name, "rows": self._upload.rows, "task": self._upload.task},
            "playing": self.playing,
            "max_epochs": MAX_EPOCHS,
        }
        arrays = {}
        if view.plane is not None:
            arrays["train_points"] = raw.X_train.astype(np.float32)
            arrays["train_labels"] = raw.y_train.astype(np.float32)
            arrays["test_points"] = raw.X_test.astype(np.float32)
            arrays["test_labels"] = raw.y_test.astype(np.float32)
            if not self.compact:
                arrays["input_thumbs"] = view.input_thumbnails()
        self.outbox.send(pack(header, arrays))

    def _publish_frame(self) -> None:
        # The next frame is due a frame period after this one started, not after it ended.
        self._last_frame = time.perf_counter()
        run = self._run
        with np.errstate(all="ignore"):
            metrics, status = run.view.metrics(run.model)
            arrays = run.view.heat(run.model, units=not self.compact)
        if not self.compact:
            arrays.update(dense_weights(run.model))
        header = {
            "type": "frame",
            "run": self.run_id,
            "epoch": self.epoch,
            "playing": self.playing,
            "lr": run.model.optimizer.lr,
            "units": status,
            "flow": self._new_flow(),
            **metrics,
        }
        self.outbox.send_frame(pack(header, arrays))
        self._epochs_since_frame = 0
        self._publish_findings()

    def _new_flow(self) -> list:
        """[epoch, [backpropagated error per Dense layer]] for each probe since the last frame."""
        records = self._run.doctor.records
        rows = [
            [record["epoch"], [entry["error"] for entry in record["layers"]]]
            for record in records[self._flow_seen :]
            if record.get("layers")
        ]
        self._flow_seen = len(records)
        return rows

    def _publish_findings(self, force: bool = False) -> None:
        """The doctor's diagnosis so far, when it is due (its cost kept under DIAGNOSE_SHARE)."""
        now = time.perf_counter()
        doctor = self._run.doctor
        if not force and (now < self._next_diagnose or not doctor.records):
            return
        with np.errstate(all="ignore"):
            findings = doctor.findings if force else doctor.current_findings()
        spent = time.perf_counter() - now
        self._next_diagnose = now + max(MIN_DIAGNOSE_SECONDS, spent / DIAGNOSE_SHARE)
        self._send_findings(findings)

    def _send_findings(self, findings: list) -> None:
        described = []
        for finding in findings:
            entry = finding.to_dict()
            entry["remedies"] = [
                {"remedy": remedy, "label": describe_remedy(remedy)} for remedy in entry["remedies"]
            ]
            described.append(entry)
        key = [(entry["kind"], entry["severity"], entry["layer"]) for entry in described]
        if key == self._findings_sent:
            return
        self._findings_sent = key
        self.outbox.send({"type": "findings", "run": self.run_id, "findings": described})

    def _send_status(self) -> None:
        self.outbox.send(
            {
                "type": "status",
                "run": self.run_id,
                "playing": self.playing,
                "finished": self._finished,
                "epoch": self.epoch,
            }
        )

    def _send_file(self, filename: str, text: str, note: str = "") -> None:
        self.outbox.send(
            {"type": "file", "filename": filename, "text": text, "note": note, "epoch": self.epoch}
        )

    def _error(self, message: str, problems: list[str] | None = None) -> None:
        self.outbox.send({"type": "error", "message": message, "problems": problems or [message]})


def _edited_value(name: str, value: Any) -> float:
    """A weight or bias typed in the page: a finite number within +-1e6."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise SigmalabError(f"{name}: must be a number (received {value!r})")
    try:
        number = float(value)
    except ValueError:
        raise SigmalabError(f"{name}: must be a number (received {value!r})") from None
    if not np.isfinite(number) or abs(number) > 1e6:
        raise SigmalabError(f"{name}: must be a finite number within +-1e6 (received {value!r})")
    return number


def _finite(values: np.ndarray) -> list[float | None]:
    """Values as JSON numbers, with None where a formula is not finite (a gap in the curve)."""
    return [float(v) if np.isfinite(v) else None for v in values]
