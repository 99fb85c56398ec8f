"""The playground's web app through FastAPI's test client: files, safety, and the WebSocket
protocol a page speaks (play, settings, caps, uploads, remedies, exports, sessions)."""

from __future__ import annotations

import faulthandler
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402
from playground_client import passed_over, receive, start, wait_for  # noqa: E402
from starlette.websockets import WebSocketDisconnect  # noqa: E402

import sigmalab as sl  # noqa: E402
from sigmalab.config import RunConfig  # noqa: E402
from sigmalab.playground.app import create_app, static_files  # noqa: E402
from sigmalab.playground.frames import unpack  # noqa: E402
from sigmalab.playground.session import Session  # noqa: E402
from sigmalab.runner import train_run  # noqa: E402

HOSTS = ("testserver", "127.0.0.1", "localhost")


HANG_REPORT = Path(tempfile.gettempdir()) / "sigmalab-playground-hang.txt"


@pytest.fixture(autouse=True)
def no_hang():
    """A WebSocket read that never returns ends the run (exit code 1) instead of a CI
    timeout, with every thread's traceback in HANG_REPORT (pytest captures stderr)."""
    with HANG_REPORT.open("w") as report:
        faulthandler.dump_traceback_later(90, exit=True, file=report)
        yield
        faulthandler.cancel_dump_traceback_later()


@pytest.fixture
def app():
    return create_app(hosts=HOSTS)


@pytest.fixture
def client(app):
    with TestClient(app) as test_client:
        yield test_client


def sessions_end(app, seconds=5.0) -> bool:
    """Whether every session has left the app and its training thread ended within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        workers = [t for t in threading.enumerate() if t.name == "playground-session"]
        if not app.state.sessions and not workers:
            return True
        time.sleep(0.02)
    return False


def play_until(ws, epoch: int) -> tuple[dict, dict]:
    """Play until a frame shows ``epoch``, then pause; returns the frame at the pause."""
    ws.send_json({"type": "play"})
    wait_for(ws, "frame", lambda h: h["epoch"] >= epoch)
    ws.send_json({"type": "pause"})
    status, _ = wait_for(ws, "status", lambda h: not h["playing"])
    return wait_for(ws, "frame", lambda h: h["epoch"] == status["epoch"])


# ---- files and safety ------------------------------------------------------------------
def test_page_and_its_files_are_served_with_a_strict_policy(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for testid in ("play", "step", "reset", "epoch", "train-loss", "test-loss", "heatmap"):
        assert f'data-testid="{testid}"' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    script = client.get("/static/main.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]


@pytest.mark.parametrize(
    "path",
    [
        "/static/../settings.py",
        "/static/..%2fsettings.py",
        "/static/%2e%2e/%2e%2e/pyproject.toml",
        "/static/session.py",
        "/etc/passwd",
        "/static//etc/passwd",
    ],
)
def test_nothing_but_the_apps_own_files_is_readable(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "import" not in response.text and "root:" not in response.text


def test_the_page_fetches_nothing_from_the_internet():
    for name, data in static_files().items():
        text = data.decode()
        for scheme in ("http://", "https://", "//cdn", "@import"):
            text = text.replace("http://www.w3.org/2000/svg", "")  # an XML namespace, not a fetch
            assert scheme not in text, f"{name} refers to {scheme}"


def test_a_request_naming_another_host_is_refused(client):
    """A site that resolves its own name to 127.0.0.1 (DNS rebinding) gets nothing."""
    assert client.get("/", headers={"host": "evil.example"}).status_code == 400


def test_a_websocket_from_another_origin_is_refused(client, app):
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("/ws", headers={"origin": "http://evil.example"}),
    ):
        pass
    assert refused.value.code == 1008
    with client.websocket_connect("/ws", headers={"origin": "http://testserver"}) as ws:
        setup, frame, _ = start(ws)
        assert frame["epoch"] == 0
    assert sessions_end(app)


# ---- training ----------------------------------------------------------------------------
def test_play_trains_live_and_the_test_loss_falls(client, app):
    with client.websocket_connect("/ws") as ws:
        setup, first, arrays = start(ws)
        assert setup["layers"] == [4, 2] and setup["loss"] == "mse"  # the Playground's defaults
        assert arrays["heat"].shape == (100 * 100,) and arrays["heat"].dtype == np.uint8
        assert arrays["units"].shape == (6, 20, 20)
        frame, _ = play_until(ws, 60)
        assert frame["epoch"] >= 60 and frame["playing"] is False
        assert frame["test_loss"] < 0.5 * first["test_loss"]
        assert frame["test_accuracy"] > 0.9
        assert frame["flow"] or frame["epoch"] > 0  # the doctor probes while it trains
    assert sessions_end(app), "a closed page must stop its training"


def test_step_trains_exactly_one_epoch(client):
    with client.websocket_connect("/ws") as ws:
        start(ws)
        ws.send_json({"type": "step"})
        frame, _ = wait_for(ws, "frame", lambda h: h["epoch"] > 0)
        assert frame["epoch"] == 1
        ws.send_json({"type": "step"})
        frame, _ = wait_for(ws, "frame", lambda h: h["epoch"] > 1)
        assert frame["epoch"] == 2


def test_a_run_whose_loss_turns_nan_says_so_when_it_stops(client):
    """log(x) is NaN for x < 0: the first epoch's loss is NaN and fit stops there."""
    with client.websocket_connect("/ws?activation=log(x)") as ws:
        start(ws)
        ws.send_json({"type": "play"})
        status, _ = wait_for(ws, "status", lambda h: h["finished"] is not None)
    assert status["finished"] == (
        f"stopped at epoch {status['epoch']}: the loss became NaN or infinite (see the doctor)"
    )


def test_paced_speed_trains_a_few_epochs_per_frame(client):
    with client.websocket_connect("/ws?speed=1") as ws:
        start(ws)
        ws.send_json({"type": "play"})
        epochs = [wait_for(ws, "frame", lambda h: h["epoch"] > 0)[0]["epoch"] for _ in range(6)]
        ws.send_json({"type": "pause"})
    steps = np.diff(epochs)
    assert np.all(steps >= 1) and np.median(steps) <= 2  # one epoch per frame, frames may merge


def test_settings_rebuild_the_run_and_caps_answer_with_a_message(client):
    with client.websocket_connect("/ws") as ws:
        setup, _, _ = start(ws)
        ws.send_json({"type": "settings", "settings": {"layers": [8, 8, 8, 8, 8, 8, 8]}})
        error, _ = wait_for(ws, "error")
        assert "layers: at most 6 hidden layers (received 7)" in error["message"]
        ws.send_json({"type": "settings", "settings": {"layers": [9], "samples": 50_000}})
        error, _ = wait_for(ws, "error")
        assert "layers[0]: must be <= 8 (received 9)" in error["problems"]
        assert "samples: must be <= 2000 (received 50000)" in error["problems"]
        change = {"dataset": "xor", "layers": [3], "activation": "relu"}
        ws.send_json({"type": "settings", "settings": change})
        new, frame, _ = start(ws)
        assert new["run"] > setup["run"] and new["settings"]["dataset"] == "xor"
        assert new["layers"] == [3] and "activation=relu" in new["query"]
        assert frame["epoch"] == 0


@pytest.mark.parametrize("loss", ["bce", "cross_entropy"])
def test_a_classification_loss_on_a_regression_is_named_as_such(client, loss):
    """The Loss menu offers every loss: on a regression the error names the loss, not the
    output layer the page builds by itself."""
    with client.websocket_connect("/ws?dataset=reg-plane") as ws:
        start(ws)
        ws.send_json({"type": "settings", "settings": {"loss": loss}})
        error, _ = wait_for(ws, "error")
        settings, _ = wait_for(ws, "settings")
    assert error["message"] == (
        f"{loss!r} is for classification, but 'reg-plane' is a regression; use 'mse'"
    )
    assert settings["settings"]["loss"] == "auto"  # the page's controls go back to its run


def test_the_learning_rate_changes_live_without_a_restart(client):
    with client.websocket_connect("/ws") as ws:
        setup, _, _ = start(ws)
        paused, _ = play_until(ws, 5)
        ws.send_json({"type": "settings", "settings": {"lr": 0.3}})
        settings, _ = wait_for(ws, "settings")
        assert settings["settings"]["lr"] == 0.3 and settings["run"] == setup["run"]
        ws.send_json({"type": "step"})
        frame, _ = wait_for(ws, "frame", lambda h: h["epoch"] > paused["epoch"])
        assert frame["lr"] == pytest.approx(0.3) and frame["run"] == setup["run"]


def test_a_shared_link_gives_the_same_data_and_initial_weights(client):
    query = "/ws?dataset=spiral&noise=20&seed=7&layers=5,3&activation=relu&features=x1,x2,x1*x2"
    runs = []
    for _ in range(2):
        with client.websocket_connect(query) as ws:
            setup, frame, arrays = start(ws)
            runs.append((setup, frame, arrays))
    (setup_a, _, arrays_a), (setup_b, _, arrays_b) = runs
    assert setup_a["query"] == setup_b["query"] and setup_a["inputs"] == ["x1", "x2", "x1*x2"]
    for name in ("w0", "b0", "w1", "w2", "heat"):
        np.testing.assert_array_equal(arrays_a[name], arrays_b[name])
    with client.websocket_connect(query.replace("seed=7", "seed=8")) as ws:
        _, _, other = start(ws)
    assert not np.array_equal(other["w0"], arrays_a["w0"])


def test_a_link_with_a_bad_value_opens_with_the_problem_named(client):
    with client.websocket_connect("/ws?noise=70&layers=4,2") as ws:
        setup, _, _ = start(ws)
    assert setup["problems"] == ["noise: must be <= 50 (received '70')"]
    assert setup["settings"]["noise"] == 0 and setup["layers"] == [4, 2]


def test_reset_keeps_the_initial_weights_and_regenerate_draws_new_ones(client):
    with client.websocket_connect("/ws") as ws:
        _, _, initial = start(ws)
        play_until(ws, 10)
        ws.send_json({"type": "reset"})
        _, frame, again = start(ws)
        assert frame["epoch"] == 0
        np.testing.assert_array_equal(again["w0"], initial["w0"])
        ws.send_json({"type": "regenerate"})
        setup, _, fresh = start(ws)
        assert setup["settings"]["seed"] != 0 and not np.array_equal(fresh["w0"], initial["w0"])


def test_an_edited_weight_is_what_the_network_uses(client):
    with client.websocket_connect("/ws") as ws:
        start(ws)
        ws.send_json({"type": "edit_weight", "layer": 1, "row": 2, "col": 1, "value": -2.5})
        _, arrays = wait_for(ws, "frame")
        assert arrays["w1"][2, 1] == pytest.approx(-2.5)
        ws.send_json({"type": "edit_weight", "layer": 1, "row": 9, "col": 1, "value": 1.0})
        error, _ = wait_for(ws, "error")
        assert "no such weight" in error["message"]


def test_an_edited_bias_moves_the_boundary_at_once(client):
    with client.websocket_connect("/ws") as ws:
        _, _, before = start(ws)
        ws.send_json({"type": "edit_bias", "layer": 2, "unit": 0, "value": 4})
        _, arrays = wait_for(ws, "frame")
        assert arrays["b2"][0] == pytest.approx(4.0)
        assert arrays["heat"].mean() > before["heat"].mean() + 50  # the output leans to class 1
        ws.send_json({"type": "edit_bias", "layer": 0, "unit": 1, "value": "abc"})
        error, _ = wait_for(ws, "error")
        assert error["message"] == "bias: must be a number (received 'abc')"
        ws.send_json({"type": "edit_bias", "layer": 0, "unit": 4, "value": 1})
        error, _ = wait_for(ws, "error")
        assert "edit_bias: no such bias" in error["message"]


# ---- compare ------------------------------------------------------------------------------
def test_compare_panels_train_the_same_data_with_their_own_setup(client):
    query = "dataset=xor&seed=5&noise=10&layers=4,2"
    with (
        client.websocket_connect(f"/ws?{query}") as page,
        client.websocket_connect(f"/ws/compare?{query}&activation=relu&batchnorm=true") as panel,
    ):
        _, page_points = wait_for(page, "setup")
        setup, panel_points = wait_for(panel, "setup")
        assert setup["settings"]["activation"] == ["relu", "relu"]
        assert setup["settings"]["batchnorm"] == [True, True]
        for name in ("train_points", "train_labels", "test_points", "test_labels"):
            np.testing.assert_array_equal(panel_points[name], page_points[name])
        assert "input_thumbs" not in panel_points  # a panel draws the boundary, not the network
        frame, arrays = play_until(panel, 10)
        assert set(arrays) == {"heat"} and frame["test_loss"] > 0 and frame["epoch"] >= 10
        panel.send_json({"type": "settings", "settings": {"layers": [9]}})
        error, _ = wait_for(panel, "error")
        assert "layers[0]: must be <= 8 (received 9)" in error["problems"]


def test_compare_panels_count_against_the_session_cap_with_a_message():
    app = create_app(hosts=HOSTS, max_sessions=2)
    with (
        TestClient(app) as client,
        client.websocket_connect("/ws") as page,
        client.websocket_connect("/ws/compare") as panel,
    ):
        start(page)
        start(panel)
        with client.websocket_connect("/ws/compare") as third:
            header, _ = receive(third)
            assert header["type"] == "error"
            assert header["message"].startswith(
                "compare: the server trains at most 2 setups at once"
            )
            assert receive(third)[0]["type"] == "closed"


# ---- the doctor --------------------------------------------------------------------------
def test_a_remedy_button_applies_the_remedy_and_the_finding_clears(client):
    with client.websocket_connect("/ws?layers=8,8,8,8,8,8&activation=sigmoid") as ws:
        start(ws)
        findings, _ = wait_for(ws, "findings")
        risk = next(f for f in findings["findings"] if f["kind"] == "vanishing_risk")
        remedy = risk["remedies"][0]
        assert remedy["label"] == "use relu in the hidden layers"
        ws.send_json({"type": "remedy", "remedy": remedy["remedy"]})
        setup, _, _ = start(ws)
        assert set(setup["settings"]["activation"]) == {"relu"}
        findings, _ = wait_for(ws, "findings", lambda h: h["run"] == setup["run"])
        assert "vanishing_risk" not in {f["kind"] for f in findings["findings"]}


def test_repair_runs_beside_training_and_its_setup_can_be_adopted(client):
    with client.websocket_connect("/ws?layers=8,8,8,8,8,8&activation=sigmoid") as ws:
        setup, _, _ = start(ws)
        ws.send_json({"type": "repair"})
        ws.send_json({"type": "repair"})
        error, _ = wait_for(ws, "error")
        assert error["message"] == "repair: one repair runs at a time; wait for it or cancel it"
        ws.send_json({"type": "step"})  # training goes on while the repair retrains
        wait_for(ws, "frame", lambda h: h["epoch"] == 1)
        assert not [h for h in passed_over(ws, "repair") if h["state"] != "running"]
        done, _ = wait_for(ws, "repair", lambda h: h["state"] == "done")
        assert done["run"] == setup["run"] and done["epochs"] == 100
        assert done["metric"] == "test_loss"  # the page's square loss
        assert done["after"]["metric"] < done["before"]["metric"] / 10
        assert done["remedies"] == ["use relu in the hidden layers"] and done["adoptable"]
        assert "vanishing_gradients" in done["before"]["findings"] and not done["after"]["findings"]
        ws.send_json({"type": "repair_adopt"})
        adopted, _, _ = start(ws)
        assert adopted["run"] > setup["run"] and set(adopted["settings"]["activation"]) == {"relu"}


def test_a_repair_is_cancelled_before_its_next_retrain(client):
    with client.websocket_connect("/ws?layers=8,8,8,8,8,8&activation=sigmoid") as ws:
        start(ws)
        ws.send_json({"type": "repair"})
        ws.send_json({"type": "repair_cancel"})
        wait_for(ws, "repair", lambda h: h["state"] == "cancelling")
        wait_for(ws, "repair", lambda h: h["state"] == "cancelled")
        ws.send_json({"type": "repair_cancel"})
        error, _ = wait_for(ws, "error")
        assert error["message"] == "repair: no repair is running"
        ws.send_json({"type": "repair_adopt"})
        error, _ = wait_for(ws, "error")
        assert error["message"] == "repair: no repaired setup to adopt; press Repair first"


def test_live_findings_name_vanishing_gradients_while_training(client):
    """A deep sigmoid stack with tiny weights: the error reaching the first layer vanishes."""
    query = "/ws?layers=8,8,8,8,8,8&activation=sigmoid&init=uniform&scale=0.2"
    with client.websocket_connect(query) as ws:
        start(ws)
        ws.send_json({"type": "play"})
        findings, _ = wait_for(
            ws, "findings", lambda h: "vanishing_gradients" in {f["kind"] for f in h["findings"]}
        )
        ws.send_json({"type": "pause"})
    finding = next(f for f in findings["findings"] if f["kind"] == "vanishing_gradients")
    assert finding["explanation"] and finding["remedies"]


# ---- data --------------------------------------------------------------------------------
THREE_CLASSES = "x1,x2,target\n" + "\n".join(
    f"{np.cos(k * 2.1 + i * 0.05) * (1 + i % 7) / 2:.3f},"
    f"{np.sin(k * 2.1 + i * 0.05) * (1 + i % 7) / 2:.3f},{k}"
    for i in range(40)
    for k in range(3)
)


@pytest.mark.parametrize(("dataset", "classes"), [("spiral3", 3), ("blobs", 4)])
def test_the_multiclass_sets_train_with_one_colour_per_class(client, dataset, classes):
    with client.websocket_connect(f"/ws?dataset={dataset}&layers=8,8&activation=relu") as ws:
        setup, points = wait_for(ws, "setup")
        frame, arrays = wait_for(ws, "frame")
        assert setup["n_classes"] == classes and setup["outputs"] == classes
        assert setup["loss"] == "cross_entropy" and "heat_class" in arrays
        assert set(np.unique(points["train_labels"])) == set(range(classes))
        assert len(frame["confusion"]) == classes
        if dataset == "blobs":
            frame, arrays = play_until(ws, 20)
            assert frame["test_accuracy"] > 0.9
            assert set(np.unique(arrays["heat_class"])) == set(range(classes))


def test_an_uploaded_csv_trains_with_one_output_per_class(client):
    with client.websocket_connect("/ws") as ws:
        start(ws)
        ws.send_json({"type": "upload", "name": "blobs.csv", "text": THREE_CLASSES})
        setup, frame, arrays = start(ws)
        assert setup["settings"]["dataset"] == "blobs.csv" and setup["n_classes"] == 3
        assert setup["loss"] == "cross_entropy" and setup["outputs"] == 3
        assert setup["plane"] is not None and "heat_class" in arrays
        assert len(frame["confusion"]) == 3
        frame, _ = play_until(ws, 30)
        assert frame["test_accuracy"] > 0.5


TWO_NAMED_CLASSES = "x1,x2,target\n" + "\n".join(
    f"{np.cos(i * 0.7):.3f},{np.sin(i * 0.7):.3f},{'cat' if np.cos(i * 0.7) > 0 else 'dog'}"
    for i in range(60)
)


def test_an_uploaded_csv_with_two_classes_trains_as_classes_and_its_run_file_too(
    client, tmp_path, monkeypatch
):
    """The page's square loss must not turn a two-class CSV into a regression (text labels
    were refused, 0/1 labels showed R^2 instead of accuracy)."""
    with client.websocket_connect("/ws") as ws:
        start(ws)
        ws.send_json({"type": "upload", "name": "pets.csv", "text": TWO_NAMED_CLASSES})
        ws.send_json({"type": "export", "what": "run"})
        run_file, _ = wait_for(ws, "file")
        assert passed_over(ws, "error") == []
        setup, _ = wait_for(ws, "setup")
        ws.send_json({"type": "step"})
        frame, _ = wait_for(ws, "frame", lambda h: h["run"] == setup["run"] and h["epoch"] == 1)
        ws.send_json({"type": "export", "what": "python"})
        snippet, _ = wait_for(ws, "file", lambda h: h["filename"].endswith(".py"))
    assert setup["task"] == "classification" and setup["loss"] == "mse"
    assert len(frame["confusion"]) == 2 and "test_accuracy" in frame
    (tmp_path / "pets.csv").write_text(TWO_NAMED_CLASSES)
    (tmp_path / "run.toml").write_text(run_file["text"])
    from sigmalab.config import load_run

    result = train_run(load_run(tmp_path / "run.toml"), verbose=0)
    assert result.dataset.task == "classification"
    monkeypatch.chdir(tmp_path)  # the snippet names the CSV beside it
    namespace: dict = {}
    code = snippet["text"].replace("print(", "(lambda *a: a)(")  # quiet
    exec(compile(code, "snippet", "exec"), namespace)
    assert namespace["data"].task == "classification"


def test_a_dropped_run_file_reading_the_upload_as_another_task_is_refused(client):
    with client.websocket_connect("/ws") as ws:
        start(ws)
        ws.send_json({"type": "upload", "name": "pets.csv", "text": TWO_NAMED_CLASSES})
        ws.send_json({"type": "export", "what": "run"})
        run_file, _ = wait_for(ws, "file")
        text = run_file["text"].replace('task = "classification"', 'task = "regression"')
        ws.send_json({"type": "load_run", "name": "pets.toml", "text": text})
        error, _ = wait_for(ws, "error")
    assert error["message"].startswith("pets.toml: data.task: the page reads pets.csv as a")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x1,x2,target\n1,abc,0\n2,3,1\n", "blobs.csv line 2, column 'x2': 'abc' is not a number"),
        ("x1,x2,target\n1,2\n", "blobs.csv line 2: expected 3 cells (x1, x2, target), found 2"),
        ("x1,x2,label\n1,2,0\n", "column 'target' not found in blobs.csv"),
        ("x,target\n" + "1,0\n2,1\n" * 3000, "6,000 rows is over the limit of 5,000"),
        (
            "x1,x2,target\n1e39,2,0\n3,4,1\n",
            "blobs.csv: column 'x1': 1e+39 is beyond the float32 range the page trains in",
        ),
    ],
)
def test_a_broken_csv_is_reported_as_the_cli_words_it(client, text, expected):
    with client.websocket_connect("/ws") as ws:
        start(ws)
        ws.send_json({"type": "upload", "name": "blobs.csv", "text": text})
        error, _ = wait_for(ws, "error")
    assert expected in error["message"]
    assert "/tmp" not in error["message"] and "sigmalab-playground" not in error["message"]


def test_an_upload_over_the_size_cap_is_refused(client):
    with client.websocket_connect("/ws") as ws:
        start(ws)
        text = "x,target\n" + "1,0\n" * 300_000
        ws.send_json({"type": "upload", "name": "big.csv", "text": text})
        error, _ = wait_for(ws, "error")
    assert "over the upload limit of 1,000,000 bytes" in error["message"]


# ---- exports and imports -----------------------------------------------------------------
def test_the_exported_run_file_reproduces_the_pages_weights(client, tmp_path):
    with client.websocket_connect("/ws?dataset=xor&layers=5,3&activation=relu&noise=10") as ws:
        start(ws)
        play_until(ws, 12)
        ws.send_json({"type": "export", "what": "run"})
        run_file, _ = wait_for(ws, "file")
        ws.send_json({"type": "export", "what": "model"})
        model_file, arrays = wait_for(ws, "file", lambda h: h["filename"].endswith(".safetensors"))
        ws.send_json({"type": "export", "what": "python"})
        snippet, _ = wait_for(ws, "file", lambda h: h["filename"].endswith(".py"))
    epochs = model_file["epoch"]
    assert run_file["filename"] == "run.toml" and f"epochs = {epochs}" in run_file["text"]
    (tmp_path / "run.toml").write_text(run_file["text"])
    (tmp_path / "model.safetensors").write_bytes(arrays["data"].tobytes())
    page_model = sl.load(tmp_path / "model.safetensors")
    from sigmalab.config import load_run

    trained = train_run(load_run(tmp_path / "run.toml"), verbose=0).model
    for ours, theirs in zip(page_model.get_weights(), trained.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    namespace: dict = {}
    code = snippet["text"].replace("print(", "(lambda *a: a)(")  # quiet
    exec(compile(code, "snippet", "exec"), namespace)
    snippet_model = namespace["model"]
    for ours, theirs in zip(page_model.get_weights(), snippet_model.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_a_dropped_run_file_loads_its_setup(client):
    run = """
[data]
dataset = "gauss"
noise = 0.1
seed = 3
features = ["x1", "x2"]
[model]
seed = 3
layers = [{type = "dense", units = 3, activation = "relu", init = "uniform"},
          {type = "batchnorm"},
          {type = "dense", units = 1, init = "uniform"}]
[train]
loss = "bce"
epochs = 5
batch_size = 20
optimizer = {name = "adam", lr = 0.01}
"""
    with client.websocket_connect("/ws") as ws:
        start(ws)
        ws.send_json({"type": "load_run", "name": "gauss.toml", "text": run})
        setup, _, _ = start(ws)
        settings = setup["settings"]
        assert settings["dataset"] == "gauss" and settings["noise"] == 10 and settings["seed"] == 3
        assert settings["layers"] == [3] and settings["batchnorm"] == [True]
        assert settings["optimizer"] == "adam" and settings["loss"] == "bce"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[data]\ndataset = "/etc/passwd.csv"\n', "data.dataset: the page trains the built-in"),
        ('[data]\ndataset = "digits"\n', "data.dataset: the page trains the built-in"),
        ("[data\n", "invalid TOML"),
        (
            '[data]\ndataset = "xor"\n[model]\nlayers = [{type = "dense", units = 1}]\n'
            '[train]\nloss = "mae"\nepochs = 1\noptimizer = {name = "sgd"}\n',
            "train.loss: unknown loss 'mae'",
        ),
        (
            '[data]\ndataset = "xor"\nnoise = 0.9\n[model]\n'
            'layers = [{type = "dense", units = 1}]\n'
            '[train]\nloss = "mse"\nepochs = 1\noptimizer = {name = "sgd"}\n',
            "x.toml: noise: must be <= 50 (received 90.0)",
        ),
    ],
)
def test_a_run_file_the_page_cannot_use_is_refused_without_touching_the_disk(
    client, text, expected
):
    with client.websocket_connect("/ws") as ws:
        start(ws)
        ws.send_json({"type": "load_run", "name": "x.toml", "text": text})
        error, _ = wait_for(ws, "error")
    assert expected in error["message"]


def test_the_activation_curve_comes_with_its_exact_derivative(client):
    with client.websocket_connect("/ws") as ws:
        start(ws)
        ws.send_json({"type": "curve", "spec": "x * sigmoid(x)"})
        curve, _ = wait_for(ws, "curve")
        ws.send_json({"type": "curve", "spec": "__import__('os')"})
        error, _ = wait_for(ws, "error")
    x, y, dy = (np.array(curve[key], dtype=float) for key in ("x", "y", "dy"))
    np.testing.assert_allclose(y, x / (1 + np.exp(-x)), atol=1e-6)
    np.testing.assert_allclose(dy[1:-1], np.gradient(y, x)[1:-1], atol=2e-3)
    assert "__import__" in error["message"] and "not allowed" in error["message"]


# ---- sessions ----------------------------------------------------------------------------
def test_concurrent_sessions_are_capped_with_a_message():
    app = create_app(hosts=HOSTS, max_sessions=1)
    with TestClient(app) as client, client.websocket_connect("/ws") as first:
        start(first)
        with client.websocket_connect("/ws") as second:
            header, _ = receive(second)
            assert header["type"] == "error" and "at most 1 train at once" in header["message"]
            assert receive(second)[0]["type"] == "closed"


def test_an_idle_session_stops_training_and_frees_its_memory():
    app = create_app(hosts=HOSTS, idle_seconds=0.5)
    with TestClient(app) as client, client.websocket_connect("/ws") as ws:
        start(ws)
        ws.send_json({"type": "play"})
        error, _ = wait_for(ws, "error")
        assert "idle for" in error["message"]
        assert sessions_end(app)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("not json", 'must be one JSON object such as {"type": "play"} (received text that'),
        ('{"type": "ping", "x": ' + "9" * 5000 + "}", "received JSON this server does not read"),
        ("[" * 100_000 + "]" * 100_000, "received JSON this server does not read"),
        ('["play"]', "(received JSON list)"),
        ('{"type": ["play"]}', "unknown message type ['play']"),
        ('{"type": "settings", "settings": null}', "settings: must be an object"),
        ('{"type": "settings", "settings": {"features": [["x1"]]}}', "features: ['x1'] is not"),
        ('{"type": "edit_weight", "layer": 1e999, "row": 0, "col": 0}', "edit_weight: no such"),
        ('{"type": "edit_bias", "layer": 0, "unit": -1e999}', "edit_bias: no such bias"),
        ('{"type": "remedy", "remedy": "set_l2"}', "remedy: must be an object"),
    ],
)
def test_a_malformed_message_is_answered_not_fatal(client, text, expected):
    with client.websocket_connect("/ws") as ws:
        start(ws)
        ws.send_text(text)
        error, _ = wait_for(ws, "error")
        assert expected in error["message"]
        ws.send_json({"type": "step"})
        frame, _ = wait_for(ws, "frame", lambda h: h["epoch"] == 1)


def test_a_session_that_fails_closes_its_page_after_saying_why(monkeypatch):
    """A bug stops the session's worker: the page gets the error, then a closed socket (its
    "reload the page" message), not controls that silently do nothing until it idles."""

    def broken(session, message):
        raise ZeroDivisionError("a bug")

    monkeypatch.setitem(Session._HANDLERS, "ping", broken)
    app = create_app(hosts=HOSTS, idle_seconds=2.0)
    with TestClient(app) as client, client.websocket_connect("/ws") as ws:
        start(ws)
        ws.send_json({"type": "ping"})
        replies = [receive(ws)[0]]
        while replies[-1]["type"] != "closed" and len(replies) < 10:
            replies.append(receive(ws)[0])
    errors = [reply for reply in replies if reply["type"] in ("error", "closed")]
    assert errors[0]["message"] == "internal error: ZeroDivisionError('a bug')"
    assert errors[1] == {"type": "closed", "code": 1011}


def test_frames_are_compact(client):
    with client.websocket_connect("/ws") as ws:
        start(ws)
        ws.send_json({"type": "play"})
        sizes = []
        for _ in range(5):
            message = ws.receive()
            if message.get("bytes") is not None:
                header, _ = unpack(message["bytes"])
                if header["type"] == "frame":
                    sizes.append(len(message["bytes"]))
        ws.send_json({"type": "pause"})
    assert sizes and max(sizes) < 20_000  # the default network: ~14 KB a frame


def test_the_run_file_export_is_a_valid_run_for_a_csv_too(client, tmp_path):
    with client.websocket_connect("/ws") as ws:
        start(ws)
        ws.send_json({"type": "upload", "name": "blobs.csv", "text": THREE_CLASSES})
        start(ws)
        ws.send_json({"type": "export", "what": "run"})
        run_file, _ = wait_for(ws, "file")
    assert 'dataset = "blobs.csv"' in run_file["text"]
    (tmp_path / "blobs.csv").write_text(THREE_CLASSES)
    (tmp_path / "run.toml").write_text(run_file["text"])
    from sigmalab.config import load_run

    config = load_run(tmp_path / "run.toml")
    assert isinstance(config, RunConfig) and config.train.loss == "cross_entropy"
