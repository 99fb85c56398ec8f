"""Time sigmalab's CSV loading on large generated files (the fastest of a few rounds).

    .venv/bin/python benchmarks/csv_load.py                 # 1,000,000 rows, 3 rounds
    .venv/bin/python benchmarks/csv_load.py --rows 100000 --repeats 5

Three files of four float features and a target: integer classes, text class names and a
float regression target, written with six significant digits as a spreadsheet would.
``load_csv`` reads each whole file; ``read_columns`` (what ``sigmalab predict`` uses) reads
the features of the text-labelled one.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from sigmalab.data import load_csv, read_columns

FEATURES = ["a", "b", "c", "d"]


def write_files(folder: Path, rows: int) -> dict[str, Path]:
    """The three benchmark files, generated from one seed."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, len(FEATURES)))
    classes = (X[:, 0] > 0).astype(int) + (X[:, 1] > 1)
    targets = {
        "integer classes": classes.astype(str),
        "text class names": np.array(["cat", "dog", "emu"])[classes],
        "float regression": np.char.mod("%.6g", X @ [0.5, -1.0, 2.0, 0.25]),
    }
    features = np.char.mod("%.6g", X)
    paths = {}
    for index, (kind, target) in enumerate(targets.items()):
        path = folder / f"file{index}.csv"
        lines = [",".join([*FEATURES, "target"])]
        lines += [",".join(row) for row in np.column_stack([features, target])]
        path.write_text("\n".join(lines) + "\n")
        paths[kind] = path
    return paths


def fastest(call, repeats: int) -> float:
    """The fastest of ``repeats`` timed calls, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    """Write the files, time each reader, print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        paths = write_files(Path(folder), args.rows)
        size = paths["integer classes"].stat().st_size / 2**20
        print(f"{args.rows:,} rows, {size:.0f} MiB per file, fastest of {args.repeats} rounds\n")
        print("| call | target | seconds |\n|---|---|---|")
        for kind, path in paths.items():
            seconds = fastest(lambda path=path: load_csv(path), args.repeats)
            print(f"| load_csv | {kind} | {seconds:.2f} |")
        path = paths["text class names"]
        seconds = fastest(lambda: read_columns(path, FEATURES), args.repeats)
        print(f"| read_columns | text class names (ignored) | {seconds:.2f} |")


if __name__ == "__main__":
    main()
