"""Overrides of single run-file keys, such as ``train.optimizer.lr=0.1``.

``sigmalab train --set KEY=VALUE`` varies a run without editing its file, and a sweep can
set the same key paths to many values. A key path names a table key with dots and a list
item with ``[index]`` (``model.layers[0].activation``); a value is read as a TOML value
where it is one (``0.1``, ``3``, ``true``, ``"x"``, ``[1, 2]``, ``{type = "dropout", rate =
0.1}``) and as a plain string otherwise (``relu``, ``x * sigmoid(x)``). Overrides change the
parsed run file; validating the result (``RunConfig.from_dict``) then checks every key and
value exactly as in a file, and names the closest valid key for a misspelt one.
"""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import SigmalabError, closest

KeyPath = tuple[str | int, ...]

_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)((?:\[\d+\])*)")
_INDEX = re.compile(r"\[(\d+)\]")
_EXAMPLE = "model.layers[0].activation"


def parse_key_path(text: str) -> KeyPath:
    """``"model.layers[0].activation"`` -> ``("model", "layers", 0, "activation")``."""
    path: list[str | int] = []
    for part in text.strip().split("."):
        match = _PART.fullmatch(part)
        if match is None:
            raise SigmalabError(f"{text!r} is not a key path such as {_EXAMPLE}")
        path.append(match.group(1))
        path.extend(int(index) for index in _INDEX.findall(match.group(2)))
    return tuple(path)


def format_key_path(path: KeyPath) -> str:
    """The inverse of ``parse_key_path``: ``("model", "layers", 0)`` -> ``"model.layers[0]"``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else part
    return text


def parse_value(text: str) -> Any:
    """A TOML value (number, boolean, quoted string, array, inline table) or the text itself."""
    try:
        return tomllib.loads(f"value = {text.strip()}")["value"]
    except tomllib.TOMLDecodeError:
        return text.strip()


def parse_overrides(assignments: Iterable[str]) -> dict[str, Any]:
    """``["train.epochs=50", ...]`` -> ``{"train.epochs": 50, ...}``; a later key wins."""
    overrides: dict[str, Any] = {}
    for assignment in assignments:
        key, equals, value = assignment.partition("=")
        if not equals or not key.strip():
            raise SigmalabError(
                f"--set expects KEY=VALUE such as {_EXAMPLE}=relu (received {assignment!r})"
            )
        parse_key_path(key)  # a malformed path fails here, naming the whole assignment's key
        overrides[key.strip()] = parse_value(value)
    return overrides


def apply_overrides(run: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the run dict with each ``key path -> value`` set; ``run`` is left unchanged.

    A missing table key is created (validation then rejects an unknown one, naming the
    closest valid key); a list item must already exist.
    """
    result = copy.deepcopy(dict(run))
    for key, value in overrides.items():
        path = parse_key_path(key)
        node: Any = result
        for depth, part in enumerate(path):
            here = format_key_path(path[:depth])
            if isinstance(part, int):
                if not isinstance(node, list):
                    raise SigmalabError(f"{here} is not a list, so it has no item [{part}]")
                if part >= len(node):
                    raise SigmalabError(
                        f"{here}[{part}]: index out of range; {here} has {len(node)} item(s)"
                    )
            elif not isinstance(node, dict):
                hint = f"; give an index such as {here}[0].{part}" if isinstance(node, list) else ""
                raise SigmalabError(f"{here} is not a table, so it has no key {part!r}{hint}")
            if depth == len(path) - 1:
                node[part] = copy.deepcopy(value)
            else:
                if isinstance(part, str) and part not in node:
                    if isinstance(path[depth + 1], int):
                        where = format_key_path(path[: depth + 1])
                        raise SigmalabError(
                            f"{where}: no such list in the run file.{closest(part, node)}"
                        )
                    node[part] = {}
                node = node[part]
    return result
