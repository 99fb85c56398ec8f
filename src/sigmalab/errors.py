"""Exceptions users see: one base class, so ``except sigmalab.SigmalabError`` catches them all."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class SigmalabError(ValueError):
    """Base class for every error sigmalab raises about user input."""


class ArgumentError(SigmalabError):
    """One argument outside its bounds. ``argument``, ``requirement`` and ``received`` stay
    separate so a run file can report the problem at its own key path."""

    def __init__(self, argument: str, requirement: str, received: object) -> None:
        self.argument = argument
        self.requirement = requirement
        self.received = received
        super().__init__(f"{argument} {requirement}, received: {argument}={received!r}")


class ShapeError(SigmalabError):
    """Arrays whose shapes do not fit the model or each other."""


class NotFiniteError(SigmalabError):
    """NaN or Inf where finite numbers are required."""


class DivergenceWarning(UserWarning):
    """Training stopped early because the loss became NaN or infinite.

    ``what`` says what happened and ``advice`` what to do about it in Python; kept apart,
    so that the command line can give its own advice after the same account.
    """

    def __init__(self, what: str, advice: str = "") -> None:
        super().__init__(what, advice)
        self.what = what
        self.advice = advice

    def __str__(self) -> str:
        return f"{self.what} {self.advice}".strip()

    def advised(self, advice: str) -> DivergenceWarning:
        """The same warning with ``advice`` in place of its own."""
        return DivergenceWarning(self.what, advice)


def unknown_name_message(
    what: str, name: object, allowed: Iterable[str], also: str = "", hint_from: Iterable[str] = ()
) -> str:
    """``unknown loss 'mae'. Did you mean 'mse'? Allowed: mse, bce, cross_entropy``.

    The one wording for a name sigmalab does not know: the value, a close match (among
    ``allowed`` and ``hint_from``, such as aliases) and what is allowed, then ``also``.
    """
    allowed = list(allowed)
    hint = closest(str(name), [*allowed, *hint_from])
    return f"unknown {what} {name!r}.{hint} Allowed: {', '.join(allowed)}{also}"


def unknown_name(
    what: str,
    name: object,
    allowed: Iterable[str],
    error: type = SigmalabError,
    also: str = "",
    hint_from: Iterable[str] = (),
) -> SigmalabError:
    """The error for a name not in ``allowed``, worded by ``unknown_name_message``."""
    return error(unknown_name_message(what, name, allowed, also, hint_from))


def closest(name: str, choices: Iterable[str]) -> str:
    """A ' did you mean ...?' hint for a misspelt name, or an empty string."""
    match = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" Did you mean {match[0]!r}?" if match else ""
