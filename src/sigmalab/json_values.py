"""Plain JSON values from what runs produce: NumPy scalars and non-finite floats included.

JSON has no NaN or Infinity, and a diverged run's metrics are exactly those, so they are
written as the strings 'nan', 'inf' and '-inf'; summaries, findings and repair reports all
go through this one function.
"""

from __future__ import annotations

import math


def json_safe(value: object) -> object:
    """``value`` with NumPy scalars made plain and non-finite floats as 'nan', 'inf', '-inf'."""
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if hasattr(value, "item"):  # NumPy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value
