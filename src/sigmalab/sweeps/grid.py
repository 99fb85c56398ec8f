"""A sweep's grid: which run-file keys take which values, times how many seeds.

Each combination of the swept values, times each seed, is one run: a run file with those
keys overridden (``sigmalab.overrides``) and validated like a file, so a bad value fails
before anything trains. A run's id hashes its resolved config, seed included, so the same
run always has the same id: that is what lets a sweep resume without repeating one.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import ConfigError, RunConfig, load_run
from ..errors import SigmalabError
from ..overrides import apply_overrides, parse_key_path, parse_value
from ..validation import check_int

MODEL_SEED = "model.seed"
DATA_SEED = "data.seed"
_OPENING = {"[": "]", "{": "}"}


@dataclass(frozen=True)
class SweepRun:
    """One run of a sweep: its id, the swept values that made it, its seed and config."""

    id: str
    values: dict[str, Any]
    seed: int
    config: RunConfig


def parse_grid_option(text: str) -> tuple[str, list[Any]]:
    """``"train.optimizer.lr=0.1,0.03"`` -> ``("train.optimizer.lr", [0.1, 0.03])``.

    Values are split at top-level commas, so arrays and inline tables (``[1, 2]``,
    ``{type = "dropout", rate = 0.1}``) stay whole; each is read as ``--set`` reads one.
    """
    key, equals, values = text.partition("=")
    if not equals or not key.strip() or not values.strip():
        raise SigmalabError(
            f"--grid expects KEY=V1,V2,... such as train.optimizer.lr=0.1,0.03 (received {text!r})"
        )
    parse_key_path(key)
    return key.strip(), [parse_value(part) for part in _split_top_level(values)]


def parse_grid_options(texts: Iterable[str]) -> dict[str, list[Any]]:
    """Every ``--grid`` option as ``{key: [values]}``; a key given twice is refused, since
    the later values would silently replace the earlier ones."""
    grid: dict[str, list[Any]] = {}
    for text in texts:
        key, values = parse_grid_option(text)
        if key in grid:
            raise SigmalabError(
                f"--grid {key} is given twice ({key}={_shown(grid[key])} and "
                f"{key}={_shown(values)}); list all its values in one option"
            )
        grid[key] = values
    return grid


def _shown(values: list[Any]) -> str:
    return ",".join(json.dumps(value, default=str) for value in values)


def _split_top_level(text: str) -> list[str]:
    """Split at commas outside brackets, braces and quotes."""
    parts, depth, quote, start = [], 0, "", 0
    for index, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in _OPENING:
            depth += 1
        elif char in _OPENING.values():
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return [part for part in (part.strip() for part in parts) if part]


def check_grid(grid: Mapping[str, Sequence[Any]], seeds: int, data_seeds: bool) -> dict:
    """The grid as ``{key: [values]}``, checked: key paths, non-empty, distinct values."""
    if not isinstance(grid, Mapping) or not grid:
        raise SigmalabError(
            "grid must map at least one run-file key to its values, such as "
            f"{{'train.optimizer.lr': [0.1, 0.03]}} (received {grid!r})"
        )
    checked: dict[str, list[Any]] = {}
    for key, values in grid.items():
        if not isinstance(key, str):
            raise SigmalabError(f"grid keys are key paths such as train.epochs, received {key!r}")
        parse_key_path(key)
        if isinstance(values, str | bytes) or not isinstance(values, Iterable):
            raise SigmalabError(f"grid[{key!r}] must be a list of values, received {values!r}")
        values = list(values)
        if not values:
            raise SigmalabError(f"grid[{key!r}] lists no values; give at least one")
        shown = [json.dumps(value, sort_keys=True, default=str) for value in values]
        repeated = sorted({text for text in shown if shown.count(text) > 1})
        if repeated:
            raise SigmalabError(f"grid[{key!r}]: value {repeated[0]} is listed twice")
        checked[key] = values
    check_int("seeds", seeds, low=1)
    varied = [MODEL_SEED] + ([DATA_SEED] if data_seeds else [])
    clash = [key for key in varied if key in checked]
    if clash and seeds > 1:
        raise SigmalabError(
            f"{clash[0]} is swept by the grid and by seeds={seeds}: use one of the two"
        )
    return checked


def expand(
    run: str | os.PathLike | RunConfig | Mapping[str, Any],
    grid: Mapping[str, Sequence[Any]],
    seeds: int = 1,
    data_seeds: bool = False,
) -> list[SweepRun]:
    """Every combination of the grid's values times every seed, each validated as a run file.

    Seed i adds i to the run file's model seed (and, with ``data_seeds``, its data seed),
    so ``seeds=1`` runs the file as written.
    """
    grid = check_grid(grid, seeds, data_seeds)
    base, base_dir, source = _base_dict(run)
    model_seed = base.get("model", {}).get("seed", 0)
    data_seed = base.get("data", {}).get("seed", 0)
    runs = []
    for combination in itertools.product(*grid.values()):
        values = dict(zip(grid, combination, strict=True))
        for seed in range(seeds):
            overrides = dict(values)
            if seeds > 1:
                overrides[MODEL_SEED] = model_seed + seed
                if data_seeds:
                    overrides[DATA_SEED] = data_seed + seed
            config = _validated(base, overrides, base_dir, source, values)
            runs.append(SweepRun(run_id(config), values, seed, config))
    ids = [run.id for run in runs]
    if len(set(ids)) != len(ids):
        raise SigmalabError(
            "two grid settings give the same run (a swept value equals another once "
            "validated); list each setting once"
        )
    return runs


def _base_dict(
    run: str | os.PathLike | RunConfig | Mapping[str, Any],
) -> tuple[dict[str, Any], Path | None, str]:
    """The run as a plain dict, the folder its relative paths resolve against, its name."""
    if isinstance(run, RunConfig):
        return run.to_dict(), run.base_dir, "run"
    if isinstance(run, Mapping):
        config = RunConfig.from_dict(run)
        return dict(run), config.base_dir, "run"
    if isinstance(run, str | os.PathLike):
        config = load_run(run)  # the file's own problems, named as such
        return _toml_dict(Path(run)), config.base_dir, str(run)
    raise SigmalabError(
        f"run must be a run file path, a RunConfig or a dict, received {type(run).__name__}"
    )


def _toml_dict(path: Path) -> dict[str, Any]:
    import tomllib

    with path.open("rb") as stream:
        return tomllib.load(stream)


def _validated(
    base: dict[str, Any],
    overrides: Mapping[str, Any],
    base_dir: Path | None,
    source: str,
    values: Mapping[str, Any],
) -> RunConfig:
    """The run with ``overrides`` applied and validated; a problem names the swept values."""
    try:
        return RunConfig.from_dict(apply_overrides(base, overrides), base_dir)
    except ConfigError as error:
        setting = ", ".join(f"{key}={value!r}" for key, value in values.items())
        raise ConfigError(f"{source} with {setting}", error.problems) from None
    except SigmalabError as error:
        raise ConfigError(source, [str(error)]) from None


def run_id(config: RunConfig) -> str:
    """A short hash of everything that decides the run (its resolved config, seeds included)."""
    resolved = config.to_dict()
    if config.data.csv_path is not None:
        resolved["data"]["dataset"] = str(config.data.csv_path)
    text = json.dumps(resolved, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
