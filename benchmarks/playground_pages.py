"""sigmalab's playground page and TensorFlow Playground in one headless Chromium, measured
the same way: through each app's own play button, epoch counter and test-loss readout.

A MutationObserver on the epoch counter records, for every update of the view, the page's
clock, the epoch and the test loss shown; nothing in either app is changed. Chrome's own
counters (DevTools Performance metrics) give each page's main-thread time, and /proc gives
the CPU time of Chromium's processes and of sigmalab's server. Used by
``playground_speed.py --browser`` / ``--tf-playground DIR``.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    # TensorFlow Playground's page asks for web fonts and analytics; nothing outside this
    # machine is reachable, so such requests fail at once instead of waiting on DNS.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
NETWORKS = {"default 4-2": (4, 2), "6 x 8": (8,) * 6}
# TensorFlow Playground's loss is 0.5 (output - label)^2 on labels -1/+1: twice the mse on
# labels 0/1 that sigmalab shows, so its 0.1 is sigmalab's 0.05.
TF_LOSS_SCALE = 2.0

READY = "(loss) => Number.isFinite(parseFloat(document.querySelector(loss).textContent))"
PROBE = r"""([play, epoch, loss, stopBelow]) => {
  const probe = (window.benchProbe = { updates: [], done: false });
  const epochText = document.querySelector(epoch);
  const lossText = document.querySelector(loss);
  new MutationObserver(() => {
    const value = parseFloat(lossText.textContent);
    const epochNumber = parseInt(epochText.textContent.replace(/\D/g, ""), 10);
    probe.updates.push([performance.now(), epochNumber, value]);
    if (value < stopBelow) probe.done = true;
  }).observe(epochText, { childList: true, characterData: true, subtree: true });
  probe.start = performance.now();
  document.querySelector(play).click();
}"""


@dataclass(frozen=True)
class PageApp:
    """An app as the benchmark drives it: its address for a network and a seed, the CSS
    selectors of its play button, epoch counter and test-loss readout, and the factor that
    puts its test loss on TensorFlow Playground's scale."""

    name: str
    address: Callable[[tuple[int, ...], int], str]
    play: str
    epoch: str
    test_loss: str
    loss_scale: float
    served: bool = True  # trains in a server (False: in the page)


def sigmalab_app(url: str, speed: int) -> PageApp:
    """sigmalab's page at ``speed`` epochs per frame (0: full speed)."""

    def address(layers: tuple[int, ...], seed: int) -> str:
        shape = ",".join(map(str, layers))
        return (
            f"{url}?dataset=circle&layers={shape}&activation=tanh&batch=10&ratio=50"
            f"&speed={speed}&seed={seed}"
        )

    name = "sigmalab, full speed" if speed == 0 else f"sigmalab, {speed} epoch/frame"
    return PageApp(
        name,
        address,
        '[data-testid="play"]',
        '[data-testid="epoch"]',
        '[data-testid="test-loss"]',
        TF_LOSS_SCALE,
    )


def tf_playground_app(url: str) -> PageApp:
    """TensorFlow Playground, set up through its URL hash (read once at load)."""

    def address(layers: tuple[int, ...], seed: int) -> str:
        shape = ",".join(map(str, layers))
        return (
            f"{url}index.html#dataset=circle&networkShape={shape}&activation=tanh"
            f"&batchSize=10&percTrainData=50&noise=0&learningRate=0.03&seed={seed}"
        )

    return PageApp(
        "TensorFlow Playground",
        address,
        "#play-pause-button",
        "#iter-number",
        "#loss-test",
        1.0,
        served=False,
    )


@contextmanager
def static_server(folder: Path):
    """``python -m http.server`` on a free local port for ``folder``; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    process = subprocess.Popen(
        [*command, "--directory", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the static server for {folder} did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.wait(10)


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # fields from the state on


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """CPU time (user + system) of each live process in ``pids``."""
    tick = os.sysconf("SC_CLK_TCK")
    times = {}
    for pid in pids:
        fields = _stat(pid)
        if fields:
            times[pid] = (int(fields[11]) + int(fields[12])) / tick
    return times


def chromium_pids() -> list[int]:
    """This process's descendants that run Chromium (browser, renderers, GPU, utility)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))):
            parents[int(entry.name)] = int(fields[1])
    ours = {os.getpid()}
    changed = True
    while changed:
        found = {pid for pid, parent in parents.items() if parent in ours} - ours
        changed = bool(found)
        ours |= found
    chromium = []
    for pid in ours - {os.getpid()}:
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip().startswith("chromium"):
                chromium.append(pid)
        except OSError:
            continue
    return chromium


class Probe:
    """One page of one app: opened, made ready, played; what it recorded comes back."""

    def __init__(self, context, app: PageApp, address: str, stop_below: float = -1.0):
        self.app = app
        self.page = context.new_page()
        self.frames: list[int] = []  # sizes of the binary messages received since play
        self.requests: list[str] = []
        self.page.on("websocket", self._watch_socket)
        self.page.goto(address)
        self.page.wait_for_function(READY, arg=app.test_loss, timeout=30_000)
        self.cdp = context.new_cdp_session(self.page)
        self.cdp.send("Performance.enable")
        self.stop_below = stop_below

    def _watch_socket(self, ws) -> None:
        ws.on("framereceived", self._on_frame)

    def _on_frame(self, payload) -> None:
        if isinstance(payload, bytes):
            self.frames.append(len(payload))

    def main_thread(self) -> dict[str, float]:
        """Chrome's cumulative seconds of script and of all tasks on the page's main thread."""
        metrics = {
            m["name"]: m["value"] for m in self.cdp.send("Performance.getMetrics")["metrics"]
        }
        return {"script": metrics["ScriptDuration"], "tasks": metrics["TaskDuration"]}

    def play(self) -> float:
        """Press play; returns the wall clock at the press."""
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.frames.clear()
        started = time.perf_counter()
        self.page.evaluate(
            PROBE, [self.app.play, self.app.epoch, self.app.test_loss, self.stop_below]
        )
        return started

    def updates(self) -> tuple[float, list[list[float]]]:
        """The press's page time and every view update since: [time ms, epoch, test loss]."""
        probe = self.page.evaluate(
            "({start: window.benchProbe.start, updates: window.benchProbe.updates})"
        )
        return probe["start"], probe["updates"]

    def close(self) -> None:
        self.page.evaluate("(play) => document.querySelector(play).click()", self.app.play)
        self.page.close()


def measure_speed(
    context, app: PageApp, layers: tuple[int, ...], seconds: float, server_pid: int | None
) -> dict:
    """Play ``seconds`` on one network: epochs/s and view updates/s in steady state, bytes per
    frame, the page's main-thread time per update and the CPU used by Chromium and the server."""
    probe = Probe(context, app, app.address(layers, 0))
    browser_pids = chromium_pids()
    watched = browser_pids + ([server_pid] if server_pid and app.served else [])
    cpu_before, thread_before = cpu_seconds(watched), probe.main_thread()
    wall_start = probe.play()
    probe.page.wait_for_timeout(seconds * 1000)
    _, updates = probe.updates()
    cpu_after, thread_after = cpu_seconds(watched), probe.main_thread()
    wall = time.perf_counter() - wall_start
    probe.close()
    # Steady state: from the first update after the press to the last.
    (t0, e0, _), (t1, e1, _) = updates[0], updates[-1]
    span = (t1 - t0) / 1000

    def used(pids: list[int]) -> float:
        return sum(cpu_after[p] - cpu_before[p] for p in pids if p in cpu_after and p in cpu_before)

    return {
        "epochs_per_s": (e1 - e0) / span,
        "frames_per_s": (len(updates) - 1) / span,
        "messages_per_s": len(probe.frames) / wall,
        "bytes_per_frame": statistics.median(probe.frames) if probe.frames else 0,
        "requests": len(probe.requests),
        "script_ms": 1000 * (thread_after["script"] - thread_before["script"]) / len(updates),
        "main_thread_busy": (thread_after["tasks"] - thread_before["tasks"]) / wall,
        "chromium_cpu": used(browser_pids) / wall,
        "server_cpu": used([server_pid]) / wall if server_pid and app.served else 0.0,
    }


def first_below(start: float, updates: list[list[float]], threshold: float) -> tuple | None:
    """(seconds, epoch) of the first update whose test loss is below ``threshold``."""
    for at, epoch, loss in updates:
        if loss < threshold:
            return (at - start) / 1000, epoch
    return None


def time_to_loss(context, app: PageApp, seed: int, tf_threshold: float, limit: float) -> dict:
    """From the press of play to the first update whose test loss, on TensorFlow Playground's
    scale, is below ``tf_threshold``; also when the app's own readout is below that number."""
    equivalent = tf_threshold / app.loss_scale  # the same quantity on the app's readout
    probe = Probe(
        context,
        app,
        app.address(NETWORKS["default 4-2"], seed),
        stop_below=min(equivalent, tf_threshold),
    )
    probe.play()
    with suppress(PlaywrightTimeoutError):  # a seed that does not get there is reported so
        probe.page.wait_for_function("window.benchProbe.done", timeout=limit * 1000, polling=50)
    start, updates = probe.updates()
    probe.close()
    return {
        "tf_scale": first_below(start, updates, equivalent),
        "readout": first_below(start, updates, tf_threshold),
    }


def launch(playwright):
    """Debian's Chromium, headless (Playwright cannot download browsers here)."""
    return playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
