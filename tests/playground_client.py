"""Helpers for the playground's WebSocket tests: read messages until the one wanted.

The server's control messages (setup, findings, settings, errors) may come in either order
around a frame, so ``wait_for`` keeps the control messages it passes over for later calls;
frames passed over are dropped (a later frame supersedes them).
"""

from __future__ import annotations

import json
import weakref
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


_PENDING: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _pending(ws) -> list:
    """The control messages read from ``ws`` but not yet asked for."""
    return _PENDING.setdefault(ws, [])


def wait_for(ws, kind: str, where: Callable[[dict], bool] = lambda header: True):
    """The first message of type ``kind`` satisfying ``where``, as (header, arrays)."""
    pending = _pending(ws)
    for index, (header, arrays) in enumerate(pending):
        if header["type"] == kind and where(header):
            del pending[index]
            return header, arrays
    for _ in range(MESSAGE_LIMIT):
        header, arrays = receive(ws)
        if header["type"] == kind and where(header):
            return header, arrays
        if header["type"] == "closed":
            raise AssertionError(f"the socket closed while waiting for {kind!r}")
        if header["type"] == "error" and header["message"].startswith("internal error"):
            raise AssertionError(f"the session failed while waiting for {kind!r}: {header}")
        if header["type"] != "frame":
            pending.append((header, arrays))
    raise AssertionError(f"no {kind!r} message in {MESSAGE_LIMIT} messages")


def passed_over(ws, kind: str) -> list[dict]:
    """The control messages of type ``kind`` read while waiting for others, not yet asked for."""
    return [header for header, _ in _pending(ws) if header["type"] == kind]


def start(ws) -> tuple[dict, dict, dict]:
    """The setup message and the first frame of the newest run (setup, frame, arrays).

    Older runs' control messages still waiting are dropped: the test moved past them.
    """
    setup, _ = wait_for(ws, "setup")
    pending = _pending(ws)
    pending[:] = [(h, a) for h, a in pending if h.get("run", setup["run"]) >= setup["run"]]
    frame, arrays = wait_for(ws, "frame", lambda h: h["run"] == setup["run"])
    return setup, frame, arrays
