"""The text's claims, in the order the text makes them; each module is one experiment."""

from __future__ import annotations

from collections.abc import Sequence

from ...errors import unknown_name
from ..claim import Claim
from . import (
    any_activation,
    dead_relu,
    dropout,
    exploding_gradients,
    nonlinearity,
    relu_vs_sigmoid,
    sigmoid_saturation,
    vanishing_gradients,
)

CLAIMS: dict[str, Claim] = {
    module.CLAIM.name: module.CLAIM
    for module in (
        nonlinearity,
        relu_vs_sigmoid,
        sigmoid_saturation,
        vanishing_gradients,
        exploding_gradients,
        dead_relu,
        dropout,
        any_activation,
    )
}


def select(names: Sequence[str] = ()) -> list[Claim]:
    """The claims named (all of them for none), in the text's order; an unknown name is an
    error that lists the valid ones."""
    for name in names:
        if name not in CLAIMS:
            raise unknown_name("claim", name, CLAIMS)
    return [claim for claim in CLAIMS.values() if not names or claim.name in names]
