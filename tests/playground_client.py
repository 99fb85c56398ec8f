"""Helpers for the playground's WebSocket tests: read messages until the one wanted."""

from __future__ import annotations

import json
from collections.abc import Callable

from sigmalab.playground.frames import unpack

MESSAGE_LIMIT = 20_000  # a run that never produces the awaited message fails, never hangs


def receive(ws) -> tuple[dict, dict]:
    """The next message as (header, arrays); JSON messages have no arrays."""
    message = ws.receive()
    if message["type"] == "websocket.close":
        return {"type": "closed", "code": message.get("code")}, {}
    if message.get("bytes") is not None:
        return unpack(message["bytes"])
    return json.loads(message["text"]), {}


def wait_for(ws, kind: str, where: Callable[[dict], bool] = lambda header: True):
    """Read messages until one of type ``kind`` satisfies ``where``; returns (header, arrays)."""
    for _ in range(MESSAGE_LIMIT):
        header, arrays = receive(ws)
        if header["type"] == kind and where(header):
            return header, arrays
        if header["type"] == "closed":
            raise AssertionError(f"the socket closed while waiting for {kind!r}")
    raise AssertionError(f"no {kind!r} message in {MESSAGE_LIMIT} messages")


def start(ws) -> tuple[dict, dict, dict]:
    """The setup message and the first frame of a new connection (setup, frame, arrays)."""
    setup, _ = wait_for(ws, "setup")
    frame, arrays = wait_for(ws, "frame", lambda h: h["run"] == setup["run"])
    return setup, frame, arrays
