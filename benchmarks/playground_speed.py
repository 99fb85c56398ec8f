"""How fast the playground trains and shows it: epochs/s, frames/s, bytes per frame, click
latency and time to a test loss below 0.1, measured against a real server, and side by side
with TensorFlow Playground in the same headless Chromium.

    python benchmarks/playground_speed.py              # the server alone, about a minute
    python benchmarks/playground_speed.py --browser    # also the page in headless Chromium
    python benchmarks/playground_speed.py --tf-playground DIR   # and TensorFlow Playground

The server runs as ``sigmalab playground`` in its own process; a WebSocket client (the
``websockets`` package) plays as the page does and times what arrives. With ``--browser``
the real page runs in Debian's Chromium (Playwright) on the same machine. ``--tf-playground``
names TensorFlow Playground's built folder (built from its public repository with
``npm ci && npm run build``: the ``dist`` folder); it is served locally and measured in the
same browser, in rounds that alternate with sigmalab's page, through its own play button
and readouts. Without it, that half is skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np
from websockets.sync.client import connect

from sigmalab.playground.frames import unpack

DEFAULT = "dataset=circle&layers=4,2&activation=tanh&batch=10&ratio=50&speed=0"
DEEP = "dataset=circle&layers=8,8,8,8,8,8&activation=tanh&batch=10&ratio=50&speed=0"
PACED = DEFAULT.replace("speed=0", "speed=1")


@contextmanager
def playground_server(port: int = 18_900):
    """``sigmalab playground`` in a subprocess; yields its base URL and process id."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sigmalab", "playground", "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )  # its stderr (uvicorn's warnings) goes to ours: a full pipe would stall the server
    try:
        for line in process.stdout:
            if "sigmalab playground: http://" in line:
                yield line.split(": ", 1)[1].split()[0], process.pid
                break
        else:
            raise RuntimeError("the playground did not start")
    finally:
        process.terminate()
        process.wait(10)


def messages(ws, timeout: float = 30.0):
    """Decoded messages: (header, arrays, size in bytes)."""
    while True:
        raw = ws.recv(timeout=timeout)
        if isinstance(raw, bytes):
            header, arrays = unpack(raw)
            yield header, arrays, len(raw)
        else:
            yield json.loads(raw), {}, len(raw)


def first_frame(stream):
    for header, _, _ in stream:
        if header["type"] == "frame":
            return header


def measure_training(url: str, query: str, seconds: float) -> dict:
    """Play for ``seconds``; count epochs, frames and bytes as the page receives them."""
    with connect(f"{url.replace('http', 'ws')}ws?{query}", max_size=None) as ws:
        stream = messages(ws)
        first_frame(stream)
        ws.send(json.dumps({"type": "play"}))
        start = time.perf_counter()
        frames, sizes, epochs, gaps, last = 0, [], [], [], start
        for header, _, size in stream:
            if header["type"] != "frame":
                continue
            now = time.perf_counter()
            frames += 1
            sizes.append(size)
            epochs.append(header["epoch"])
            gaps.append(now - last)
            last = now
            if now - start >= seconds:
                break
        ws.send(json.dumps({"type": "pause"}))
    elapsed = last - start
    return {
        "epochs_per_s": epochs[-1] / elapsed,
        "frames_per_s": frames / elapsed,
        "bytes_per_frame": statistics.median(sizes),
        "longest_gap_ms": 1000 * max(gaps[1:] or gaps),
        "p95_gap_ms": 1000 * float(np.percentile(gaps[1:] or gaps, 95)),
    }


def time_to_loss(url: str, seed: int, threshold: float, limit: float = 30.0) -> tuple:
    """Seconds and epochs from play to the first frame with test loss below ``threshold``."""
    query = f"{DEFAULT}&seed={seed}"
    with connect(f"{url.replace('http', 'ws')}ws?{query}", max_size=None) as ws:
        stream = messages(ws)
        first_frame(stream)
        ws.send(json.dumps({"type": "play"}))
        start = time.perf_counter()
        for header, _, _ in stream:
            now = time.perf_counter()
            if header["type"] == "frame" and header["test_loss"] < threshold:
                ws.send(json.dumps({"type": "pause"}))
                return now - start, header["epoch"]
            if now - start > limit:
                return None, None


def click_latency(url: str, clicks: int = 20) -> list[float]:
    """Milliseconds from a changed setting (the dataset) to the new run's first frame."""
    latencies = []
    with connect(f"{url.replace('http', 'ws')}ws?{DEFAULT}", max_size=None) as ws:
        stream = messages(ws)
        first_frame(stream)
        for i in range(clicks):
            dataset = ("xor", "circle", "spiral", "gauss")[i % 4]
            start = time.perf_counter()
            ws.send(json.dumps({"type": "settings", "settings": {"dataset": dataset}}))
            for header, _, _ in stream:
                if header["type"] == "frame" and header["epoch"] == 0:
                    break
            latencies.append(1000 * (time.perf_counter() - start))
    return latencies


def column(runs: list[dict], key: str) -> list[float]:
    """One measure of every run."""
    return [run[key] for run in runs]


def spread(numbers: list[float], digits: int = 0) -> str:
    """Best (highest), median and range of one measure over the rounds."""
    best, median, low = (
        f"{v:.{digits}f}" for v in (max(numbers), statistics.median(numbers), min(numbers))
    )
    return f"best {best}, median {median} ({low}-{best})"


def compare_pages(url: str, server_pid: int, options: argparse.Namespace) -> None:
    """sigmalab's page (full speed and one epoch per frame) and, when its folder is given,
    TensorFlow Playground, in one headless Chromium, in alternating rounds."""
    import playground_pages as pages
    from playwright.sync_api import sync_playwright

    apps = [pages.sigmalab_app(url, 0), pages.sigmalab_app(url, 1)]
    with ExitStack() as stack:
        if options.tf_playground:
            tf_url = stack.enter_context(pages.static_server(options.tf_playground))
            apps.insert(1, pages.tf_playground_app(tf_url))
        else:
            print(
                "TensorFlow Playground: skipped (give --tf-playground DIR, its folder built from "
                "its public repository with npm ci && npm run build)"
            )
        browser = pages.launch(stack.enter_context(sync_playwright()))
        # bypass_csp: the probe's polling evaluates a string, which sigmalab's policy forbids
        context = browser.new_context(viewport={"width": 1500, "height": 950}, bypass_csp=True)
        print(
            f"Chromium {browser.version}, headless, software rendering; {options.rounds} "
            f"rounds of {options.seconds:.0f} s per app and network, order reversed every "
            "other round"
        )
        rows: dict[tuple[str, str], list[dict]] = {}
        for round_ in range(options.rounds):
            order = [(network, app) for network in pages.NETWORKS for app in apps]
            for network, app in order[:: -1 if round_ % 2 else 1]:
                row = pages.measure_speed(
                    context, app, pages.NETWORKS[network], options.seconds, server_pid
                )
                rows.setdefault((network, app.name), []).append(row)
        for network in pages.NETWORKS:
            print(f"\n{network} (circle, tanh, batch 10, 250 training points):")
            print_speed(apps, {app.name: rows[network, app.name] for app in apps})
        print(
            f"\ntime to test loss < 0.1 on TensorFlow Playground's scale (its 0.5 (output - "
            f"label)^2 on labels -1/+1; sigmalab's mse on labels 0/1 below "
            f"{0.1 / pages.TF_LOSS_SCALE:g}), circle with defaults, seeds 0-{options.seeds - 1}, "
            f"at most {options.limit:.0f} s each, from the press of play:"
        )
        reached: dict[str, list[dict]] = {app.name: [] for app in apps}
        for seed in range(options.seeds):
            for app in apps[:: -1 if seed % 2 else 1]:
                run = pages.time_to_loss(context, app, seed, 0.1, options.limit)
                reached[app.name].append(run)
        print_time_to_loss(apps, reached, options.seeds)


def print_speed(apps: list, rows: dict[str, list[dict]]) -> None:
    """Each app's measures over the rounds, then sigmalab's against TensorFlow Playground's."""
    for app in apps:
        runs = rows[app.name]
        where = (
            f"{statistics.median(column(runs, 'bytes_per_frame')):.0f} bytes/frame (WebSocket), "
            f"{statistics.median(column(runs, 'messages_per_s')):.1f} frames received/s, "
            f"server {statistics.median(column(runs, 'server_cpu')):.2f} cores"
            if app.served
            else f"0 bytes/frame: trains in the page ({max(column(runs, 'requests'))} "
            "requests while playing)"
        )
        print(
            f"  {app.name:24s} epochs/s {spread(column(runs, 'epochs_per_s'))}\n"
            f"  {'':24s} frames/s {spread(column(runs, 'frames_per_s'), 1)}\n"
            f"  {'':24s} {where}\n"
            f"  {'':24s} page main thread: "
            f"{statistics.median(column(runs, 'script_ms')):.1f} ms of script per frame, busy "
            f"{100 * statistics.median(column(runs, 'main_thread_busy')):.0f} % of the time; "
            f"Chromium {statistics.median(column(runs, 'chromium_cpu')):.2f} cores"
        )
    in_page = [rows[app.name] for app in apps if not app.served]  # TensorFlow Playground
    compared = [app for app in apps if app.served] if in_page else []
    for app in compared:
        for key, label in (("epochs_per_s", "epochs/s"), ("frames_per_s", "frames/s")):
            ours, tf = column(rows[app.name], key), column(in_page[0], key)
            paired = [a / b for a, b in zip(ours, tf, strict=True)]
            print(
                f"  {app.name} / TensorFlow Playground, {label}: best {max(ours) / max(tf):.2f}x, "
                f"within a round median {statistics.median(paired):.2f}x "
                f"({min(paired):.2f}-{max(paired):.2f})"
            )


def print_time_to_loss(apps: list, reached: dict[str, list[dict]], seeds: int) -> None:
    """Median epochs and seconds to the loss, over the seeds that got there."""
    for app in apps:
        for key, label in (
            ("tf_scale", "< 0.1 on TF Playground's scale"),
            ("readout", "its own readout < 0.1"),
        ):
            if app.loss_scale == 1.0 and key == "readout":
                continue  # the same number
            hits = [run[key] for run in reached[app.name] if run[key]]
            if not hits:
                print(f"  {app.name:24s} {label}: no seed got there")
                continue
            seconds, epochs = [hit[0] for hit in hits], [hit[1] for hit in hits]
            print(
                f"  {app.name:24s} {label}: median {statistics.median(epochs):.0f} epochs "
                f"({min(epochs):.0f}-{max(epochs):.0f}), {statistics.median(seconds):.2f} s "
                f"({min(seconds):.2f}-{max(seconds):.2f}); {len(hits)} of {seeds} seeds"
            )


def cpu_model() -> str:
    """The CPU's model name as Linux reports it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each run")
    parser.add_argument("--seeds", type=int, default=10, help="seeds for time to test loss")
    parser.add_argument("--browser", action="store_true", help="also measure in Chromium")
    parser.add_argument(
        "--tf-playground",
        type=Path,
        metavar="DIR",
        help="TensorFlow Playground's built folder: measure it side by side (implies --browser)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the page runs")
    parser.add_argument("--limit", type=float, default=10.0, help="seconds a seed may take")
    parser.add_argument("--pages-only", action="store_true", help="skip the WebSocket client")
    options = parser.parse_args()
    if options.tf_playground and not (options.tf_playground / "index.html").is_file():
        parser.error(
            f"--tf-playground {options.tf_playground}: no index.html there (the folder that "
            "npm ci && npm run build writes: dist)"
        )
    print(
        f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    with playground_server() as (url, server_pid):
        if not options.pages_only:
            measure_server(url, options.seconds, options.seeds)
        if options.browser or options.tf_playground:
            compare_pages(url, server_pid, options)
    print(f"load average {os.getloadavg()[0]:.1f}")


def measure_server(url: str, seconds: float, seeds: int) -> None:
    """The server as a WebSocket client sees it: speed, click latency, time to a loss."""
    for name, query in (("default 4-2", DEFAULT), ("6 x 8", DEEP), ("paced 1/frame", PACED)):
        row = measure_training(url, query, seconds)
        print(
            f"{name:14s} {row['epochs_per_s']:8.0f} epochs/s {row['frames_per_s']:6.1f} "
            f"frames/s {row['bytes_per_frame']:8.0f} bytes/frame  longest gap "
            f"{row['longest_gap_ms']:.0f} ms (p95 {row['p95_gap_ms']:.0f} ms)"
        )
    latencies = click_latency(url)
    print(
        f"click to new frame: median {statistics.median(latencies):.0f} ms, "
        f"max {max(latencies):.0f} ms over {len(latencies)} clicks"
    )
    for threshold in (0.1, 0.05):
        runs = [time_to_loss(url, seed, threshold) for seed in range(seeds)]
        reached = [run for run in runs if run[0] is not None]
        if reached:
            median_seconds = statistics.median(run[0] for run in reached)
            epochs = statistics.median(run[1] for run in reached)
            print(
                f"circle, test loss < {threshold}: median {median_seconds:.2f} s, median "
                f"{epochs:.0f} epochs ({len(reached)} of {len(runs)} seeds)"
            )


if __name__ == "__main__":
    main()
