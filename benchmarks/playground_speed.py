"""How fast the playground trains and shows it: epochs/s, frames/s, bytes per frame, click
latency and time to a test loss below 0.1, measured against a real server.

    python benchmarks/playground_speed.py              # about a minute
    python benchmarks/playground_speed.py --browser    # also in headless Chromium (Playwright)

The server runs as ``sigmalab playground`` in its own process; a WebSocket client (the
``websockets`` package) plays as the page does and times what arrives. With ``--browser``
the real page runs in Debian's Chromium on the same machine and counts the frames it draws.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager

import numpy as np
from websockets.sync.client import connect

from sigmalab.playground.frames import unpack

DEFAULT = "dataset=circle&layers=4,2&activation=tanh&batch=10&ratio=50&speed=0"
DEEP = "dataset=circle&layers=8,8,8,8,8,8&activation=tanh&batch=10&ratio=50&speed=0"
PACED = DEFAULT.replace("speed=0", "speed=1")


@contextmanager
def playground_server(port: int = 18_900):
    """``sigmalab playground`` in a subprocess; yields its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sigmalab", "playground", "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )  # its stderr (uvicorn's warnings) goes to ours: a full pipe would stall the server
    try:
        for line in process.stdout:
            if "sigmalab playground: http://" in line:
                yield line.split(": ", 1)[1].split()[0]
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


def measure_browser(url: str, query: str, seconds: float) -> dict:
    """The real page in headless Chromium: frames received and drawn per second."""
    from playwright.sync_api import sync_playwright

    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=args)
        page = browser.new_page(viewport={"width": 1500, "height": 950}, bypass_csp=True)
        page.goto(f"{url}?{query}")
        page.wait_for_function("window.playgroundStats && window.playgroundStats.drawn > 0")
        before = page.evaluate("({...window.playgroundStats, now: performance.now()})")
        page.get_by_test_id("play").click()
        page.wait_for_timeout(seconds * 1000)
        after = page.evaluate("({...window.playgroundStats, now: performance.now()})")
        page.get_by_test_id("play").click()
        browser.close()
    elapsed = (after["now"] - before["now"]) / 1000
    drawn = max(1, after["drawn"] - before["drawn"])
    received = max(1, after["frames"] - before["frames"])
    return {
        "epochs_per_s": (after["epoch"] - before["epoch"]) / elapsed,
        "frames_received_per_s": received / elapsed,
        "frames_drawn_per_s": drawn / elapsed,
        "draw_ms": (after["drawMs"] - before["drawMs"]) / drawn,
        "decode_ms": (after["decodeMs"] - before["decodeMs"]) / received,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each run")
    parser.add_argument("--seeds", type=int, default=10, help="seeds for time to test loss")
    parser.add_argument("--browser", action="store_true", help="also measure in Chromium")
    options = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")
    results: dict = {}
    with playground_server() as url:
        for name, query in (("default 4-2", DEFAULT), ("6 x 8", DEEP), ("paced 1/frame", PACED)):
            results[name] = measure_training(url, query, options.seconds)
            row = results[name]
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
            runs = [time_to_loss(url, seed, threshold) for seed in range(options.seeds)]
            reached = [run for run in runs if run[0] is not None]
            if reached:
                seconds = statistics.median(run[0] for run in reached)
                epochs = statistics.median(run[1] for run in reached)
                print(
                    f"circle, test loss < {threshold}: median {seconds:.2f} s, median "
                    f"{epochs:.0f} epochs ({len(reached)} of {len(runs)} seeds)"
                )
        if options.browser:
            for name, query in (
                ("default 4-2", DEFAULT),
                ("6 x 8", DEEP),
                ("paced 1/frame", PACED),
            ):
                row = measure_browser(url, query, options.seconds)
                print(
                    f"browser {name:14s} {row['epochs_per_s']:8.0f} epochs/s "
                    f"{row['frames_received_per_s']:6.1f} frames received/s "
                    f"{row['frames_drawn_per_s']:6.1f} drawn/s, script {row['draw_ms']:.1f} ms "
                    f"a draw + {row['decode_ms']:.1f} ms a message"
                )


if __name__ == "__main__":
    main()
