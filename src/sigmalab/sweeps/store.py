"""The sweep's results file, ``DIR/results.sqlite``: one row per run, written as runs finish.

Every run is inserted as ``pending`` before training starts and updated to ``done`` or
``failed`` when its batch finishes, one transaction per batch, with the run id as primary
key (a write-ahead log, so that each commit is one fast append): a
sweep killed at any moment loses at most the runs in flight, never records one twice, and
the same command resumes by training only what is still pending. The grid is stored too,
so that a different grid cannot be mixed into the same folder, and a database that no sweep
wrote is refused before anything is written to it.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import SigmalabError
from ..json_values import json_safe
from .grid import SweepRun

RESULTS_FILE = "results.sqlite"
PENDING, DONE, FAILED = "pending", "done", "failed"
METRICS = (
    "train_loss",
    "train_accuracy",
    "validation_loss",
    "validation_accuracy",
    "test_loss",
    "test_accuracy",
)
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS sweep (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    swept TEXT NOT NULL,
    seed INTEGER NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    {", ".join(f"{name} REAL" for name in METRICS)},
    epochs INTEGER,
    seconds REAL,
    findings TEXT,
    measures TEXT
);
"""
_TABLES = {"sweep", "runs"}
_RUN_KEYS = {"id", "position", "swept", "seed", "status"}  # what every results file has


class ResultStore:
    """The runs of one sweep in ``folder/results.sqlite`` (made if missing)."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        if self.folder.exists() and not self.folder.is_dir():
            raise SigmalabError(
                f"{self.folder} is a file: a sweep's results go into a folder; choose another --out"
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / RESULTS_FILE
        try:
            self.connection = sqlite3.connect(self.path, timeout=30)
        except sqlite3.Error as error:
            raise SigmalabError(f"{self.path}: cannot open it ({error})") from None
        try:
            self._prepare()
        except BaseException as error:
            self.connection.close()
            if isinstance(error, sqlite3.DatabaseError):
                raise SigmalabError(f"{self.path}: not a sweep results file ({error})") from None
            raise

    def _prepare(self) -> None:
        """Refuse a database that no sweep wrote before writing anything, then make the
        tables (or add what an older results file lacks)."""
        others = _foreign_contents(self.connection)
        if others:
            raise SigmalabError(
                f"{self.path}: not a sweep results file (an SQLite database of something "
                f"else: {', '.join(others)}), left as it is; choose another folder"
            )
        # Write-ahead log: a commit survives the process being killed at any moment
        # (NORMAL skips only the fsync that guards against a power cut).
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=NORMAL")
        with self.connection:
            self.connection.executescript(_SCHEMA)
            self._add_measures_column()

    def _add_measures_column(self) -> None:
        """Give a results file written before ``measures`` existed that column (empty)."""
        columns = {row[1] for row in self.connection.execute("PRAGMA table_info(runs)")}
        if "measures" not in columns:
            self.connection.execute("ALTER TABLE runs ADD COLUMN measures TEXT")

    def close(self) -> None:
        """Close the file."""
        self.connection.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def register(self, grid_description: Mapping[str, Any], runs: Sequence[SweepRun]) -> None:
        """Record the grid and every run as pending; refuse a different grid in this folder.

        Runs already recorded keep their status, so a second call resumes the sweep.
        """
        described = json.dumps(json_safe(dict(grid_description)), sort_keys=True)
        with self.connection:
            row = self.connection.execute("SELECT value FROM sweep WHERE key = 'grid'").fetchone()
            if row is not None and row[0] != described:
                raise SigmalabError(
                    f"{self.folder} holds a different sweep: its grid, seeds or run file "
                    f"differ (stored {row[0]}, received {described}); choose another --out "
                    f"folder or remove {self.path}"
                )
            self.connection.execute(
                "INSERT OR IGNORE INTO sweep (key, value) VALUES ('grid', ?)", (described,)
            )
            self.connection.executemany(
                "INSERT OR IGNORE INTO runs (id, position, swept, seed, status) "
                "VALUES (?, ?, ?, ?, ?)",
                [
                    (run.id, position, _json(run.values), run.seed, PENDING)
                    for position, run in enumerate(runs)
                ],
            )

    def grid(self) -> dict[str, Any]:
        """The grid this folder's sweep ran (as ``register`` stored it)."""
        row = self.connection.execute("SELECT value FROM sweep WHERE key = 'grid'").fetchone()
        if row is None:
            raise SigmalabError(f"{self.folder} holds no sweep (no grid in {self.path})")
        return json.loads(row[0])

    def pending(self, ids: Iterable[str]) -> set[str]:
        """Those of ``ids`` that have not finished (done or failed)."""
        rows = self.connection.execute("SELECT id FROM runs WHERE status = ?", (PENDING,))
        waiting = {row[0] for row in rows}
        return {run_id for run_id in ids if run_id in waiting}

    def record(self, outcomes: Sequence[Mapping[str, Any]]) -> None:
        """Store finished runs' outcomes (see ``training.train_batch``) in one transaction."""
        with self.connection:
            self.connection.executemany(
                f"UPDATE runs SET status = ?, error = ?, "
                f"{', '.join(f'{name} = ?' for name in METRICS)}, "
                "epochs = ?, seconds = ?, findings = ?, measures = ? WHERE id = ?",
                [_record_values(outcome) for outcome in outcomes],
            )

    def rows(self) -> list[dict[str, Any]]:
        """Every run as a dict, in grid order: swept values decoded, findings as a list,
        measures as a dict (empty without a measure; 'nan' and 'inf' back as floats)."""
        cursor = self.connection.execute("SELECT * FROM runs ORDER BY position")
        names = [column[0] for column in cursor.description]
        rows = []
        for values in cursor.fetchall():
            row = dict(zip(names, values, strict=True))
            row["swept"] = json.loads(row["swept"])
            row["findings"] = json.loads(row["findings"]) if row["findings"] else []
            measures = json.loads(row["measures"]) if row["measures"] else {}
            row["measures"] = {name: float(value) for name, value in measures.items()}
            del row["position"]
            rows.append(row)
        return rows


def is_results_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a sweep's results file; it is only read."""
    try:
        connection = sqlite3.connect(f"{Path(path).absolute().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        return not _foreign_contents(connection)
    except sqlite3.DatabaseError:
        return False
    finally:
        connection.close()


def _foreign_contents(connection: sqlite3.Connection) -> list[str]:
    """The names in the database that a sweep did not make: none for a results file, even
    one whose sweep stopped before making all of its tables."""
    names = {
        name
        for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite^_%' ESCAPE '^'"
        )
    }
    if names - _TABLES:
        return sorted(names)
    columns = {row[1] for row in connection.execute("PRAGMA table_info(runs)")}
    return ["runs"] if "runs" in names and not columns >= _RUN_KEYS else []


def _record_values(outcome: Mapping[str, Any]) -> tuple:
    metrics = outcome.get("metrics", {})
    return (
        outcome["status"],
        outcome.get("error"),
        *(_number(metrics.get(name)) for name in METRICS),
        outcome.get("epochs"),
        outcome.get("seconds"),
        _json(outcome.get("findings", [])),
        _json(outcome["measures"]) if "measures" in outcome else None,
        outcome["id"],
    )


def _json(value: Any) -> str:
    return json.dumps(json_safe(value), sort_keys=True)


def _number(value: Any) -> float | None:
    """A metric as a float; NaN and infinities (a diverged run) as they are."""
    return None if value is None else float(value)
