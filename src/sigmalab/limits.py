"""Caps on sizes, checked before anything is allocated, so that a typo (``samples = 5e9``) or
a tampered model file ends in a clear error instead of exhausting memory.

Each cap is an environment variable with a default, read when it is checked, so the same
setting lifts it for the command line and for Python:
``SIGMALAB_MAX_SAMPLES=5000000 sigmalab train run.toml`` or
``os.environ["SIGMALAB_MAX_SAMPLES"] = "5000000"``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import SigmalabError


@dataclass(frozen=True)
class Cap:
    """An upper bound on one size, liftable through the environment variable ``variable``."""

    variable: str
    default: int

    @property
    def value(self) -> int:
        """The cap in force: the environment variable if set, else the default."""
        text = os.environ.get(self.variable)
        if text is None:
            return self.default
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1:
            raise SigmalabError(
                f"the environment variable {self.variable} must be a whole number >= 1, "
                f"received {text!r}"
            )
        return value

    def problem(self, received: int) -> str | None:
        """None within the cap; else what is wrong and how to lift the cap, for a message."""
        cap = self.value
        if received <= cap:
            return None
        return (
            f"must be <= {cap:,} (received {received:,}), a cap that guards memory; to lift "
            f"it, set the environment variable {self.variable}, e.g. {self.variable}={received}"
        )

    def check(self, name: str, received: int) -> None:
        """Raise a SigmalabError naming ``name`` when ``received`` is above the cap."""
        problem = self.problem(received)
        if problem is not None:
            raise SigmalabError(f"{name} {problem}")


MAX_SAMPLES = Cap("SIGMALAB_MAX_SAMPLES", 1_000_000)  # rows of a generated dataset
MAX_UNITS = Cap("SIGMALAB_MAX_UNITS", 65_536)  # units of one Dense layer
# Every number a model stores (parameters and BatchNorm statistics): 100 million is 400 MB
# of float32 weights, with as much again for gradients and twice that for Adam's moments.
MAX_WEIGHTS = Cap("SIGMALAB_MAX_WEIGHTS", 100_000_000)
