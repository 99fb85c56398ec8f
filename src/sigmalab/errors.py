"""Exceptions users see: one base class, so ``except sigmalab.SigmalabError`` catches them all."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class SigmalabError(ValueError):
    """Base class for every error sigmalab raises about user input."""


class ShapeError(SigmalabError):
    """Arrays whose shapes do not fit the model or each other."""


class NotFiniteError(SigmalabError):
    """NaN or Inf where finite numbers are required."""


class DivergenceWarning(UserWarning):
    """Training stopped early because the loss became NaN or infinite."""


def unknown_name(what: str, name: object, allowed: Iterable[str], error: type = SigmalabError):
    """The error for a name not in ``allowed``: it names the value, a close match and the rest."""
    allowed = list(allowed)
    return error(
        f"unknown {what} {name!r}.{closest(str(name), allowed)} Allowed: {', '.join(allowed)}"
    )


def closest(name: str, choices: Iterable[str]) -> str:
    """A ' did you mean ...?' hint for a misspelt name, or an empty string."""
    match = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" Did you mean {match[0]!r}?" if match else ""
