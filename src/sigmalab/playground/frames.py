"""The binary message format: a JSON header and raw arrays, read in the page with typed arrays.

Layout: a little-endian uint32 with the header's length, the UTF-8 JSON header padded with
spaces to a multiple of 4 bytes, then each array's bytes at the offset the header gives
(4-byte aligned, so a Float32Array can view them without copying). The header lists
``arrays``: ``{"name", "dtype" ("uint8" | "float32" | "int32"), "shape", "offset"}``.
A frame of the default network is about 14 KB, almost all of it the heat-map bytes.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..json_values import json_safe

DTYPES = {"uint8": np.uint8, "float32": np.float32, "int32": np.int32}


def pack(header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> bytes:
    """One binary message holding ``header`` (JSON-safe after ``json_safe``) and ``arrays``."""
    described, chunks, offset = [], [], 0
    for name, array in arrays.items():
        dtype = np.dtype(array.dtype).name
        if dtype not in DTYPES:
            raise ValueError(f"array {name!r} has dtype {dtype}; allowed: {', '.join(DTYPES)}")
        data = np.ascontiguousarray(array).tobytes()
        described.append(
            {"name": name, "dtype": dtype, "shape": list(array.shape), "offset": offset}
        )
        padding = -len(data) % 4
        chunks.append(data + b"\0" * padding)
        offset += len(data) + padding
    text = json.dumps(json_safe({**header, "arrays": described}), allow_nan=False).encode()
    text += b" " * (-len(text) % 4)
    return struct.pack("<I", len(text)) + text + b"".join(chunks)


def unpack(message: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header and arrays of a ``pack`` message (for tests and the benchmark)."""
    (length,) = struct.unpack_from("<I", message)
    header = json.loads(message[4 : 4 + length])
    start = 4 + length
    arrays = {}
    for entry in header.pop("arrays"):
        dtype = np.dtype(DTYPES[entry["dtype"]])
        count = int(np.prod(entry["shape"], dtype=np.int64))
        array = np.frombuffer(message, dtype, count, start + entry["offset"])
        arrays[entry["name"]] = array.reshape(entry["shape"])
    return header, arrays
