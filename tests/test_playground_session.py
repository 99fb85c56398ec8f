"""The playground's training session on its own, without a web server: commands that
arrive together between two epochs keep their meaning."""

import time

from sigmalab.playground.frames import unpack
from sigmalab.playground.session import Outbox, Session


def quiet(outbox: Outbox, seconds: float = 0.3) -> list[dict]:
    """Every message header (frames are latest-only) until none has come for ``seconds``."""
    collected, last = [], time.monotonic()
    while time.monotonic() - last < seconds:
        new = [
            unpack(message)[0] if isinstance(message, bytes) else message
            for message in outbox.take()
        ]
        if new:
            collected += new
            last = time.monotonic()
        time.sleep(0.01)
    return collected


def test_a_step_right_after_a_pause_trains_exactly_one_more_epoch():
    """Both commands arrive during one long epoch, so they are read together after it: the
    step is the next epoch, not the one that just ended (which once showed the paused
    epoch again and trained nothing)."""
    outbox = Outbox()
    session = Session(outbox, "samples=2000&ratio=90&batch=1")  # 1,800 steps an epoch
    session.start()
    try:
        quiet(outbox)
        session.submit({"type": "play"})
        deadline = time.monotonic() + 30
        while session.epoch < 1 and time.monotonic() < deadline:
            time.sleep(0.005)
        session.submit({"type": "pause"})
        session.submit({"type": "step"})
        messages = quiet(outbox, seconds=1.0)
    finally:
        session.close(timeout=5)
    paused = next(m for m in messages if m["type"] == "status" and not m["playing"])
    last_frame = [m for m in messages if m["type"] == "frame"][-1]
    assert last_frame["epoch"] == paused["epoch"] + 1 == session.epoch
    assert not session.alive
