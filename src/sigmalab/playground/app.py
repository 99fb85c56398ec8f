"""The web app: the page's files, and one WebSocket per open page that drives a Session.

Safe by default: only the files in ``static/`` (listed when the app starts) can be
fetched, nothing else on the disk; requests must name an allowed host (a web page on
another site that resolves its name to 127.0.0.1 is refused: DNS rebinding); a WebSocket
opened by a page from another origin is refused; and the number of open pages is capped.
A page that sends nothing for ``idle_seconds`` (it pings while visible) is closed, which
stops its training and frees its memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from importlib import resources

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.responses import Response
from starlette.middleware.trustedhost import TrustedHostMiddleware

from ..json_values import json_safe
from .session import Outbox, Session

log = logging.getLogger(__name__)

MAX_SESSIONS = 4
IDLE_SECONDS = 300.0
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
# The page loads nothing from elsewhere; the policy says so to the browser as well.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self'; img-src 'self' data: blob:; "
        "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def static_files() -> dict[str, bytes]:
    """The page's files by name, read once from the installed package (nothing else is served)."""
    folder = resources.files("sigmalab.playground") / "static"
    files = {}
    for entry in folder.iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        if entry.is_file() and suffix in CONTENT_TYPES:
            files[entry.name] = entry.read_bytes()
    return files


def create_app(
    hosts: tuple[str, ...] = LOCAL_HOSTS,
    max_sessions: int = MAX_SESSIONS,
    idle_seconds: float = IDLE_SECONDS,
) -> FastAPI:
    """The playground app; ``hosts`` are the host names requests may use."""
    app = FastAPI(title="sigmalab playground", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(hosts))
    files = static_files()
    sessions: set[Session] = set()
    app.state.sessions = sessions

    def serve(name: str) -> Response:
        if name not in files:
            return Response("not found", status_code=404, media_type="text/plain")
        suffix = "." + name.rsplit(".", 1)[-1]
        return Response(files[name], media_type=CONTENT_TYPES[suffix], headers=SECURITY_HEADERS)

    @app.get("/")
    def index() -> Response:
        return serve("index.html")

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        return serve(name)

    async def open_session(socket: WebSocket, compact: bool, full: str) -> None:
        if not same_origin(socket):
            await socket.close(code=1008, reason="another origin")
            return
        await socket.accept()
        if len(sessions) >= max_sessions:
            await socket.send_text(json.dumps({"type": "error", "message": full}))
            await socket.close(code=1013)
            return
        await run_session(socket, sessions, idle_seconds, compact)

    @app.websocket("/ws")
    async def websocket(socket: WebSocket) -> None:
        await open_session(
            socket,
            compact=False,
            full=f"too many open pages: at most {max_sessions} train at once; "
            "close another playground tab and reload",
        )

    @app.websocket("/ws/compare")
    async def compare(socket: WebSocket) -> None:
        """A compare panel: a session of its own, counted against the same cap as pages."""
        await open_session(
            socket,
            compact=True,
            full=f"compare: the server trains at most {max_sessions} setups at once (open "
            "pages and compare panels together); remove a panel or close another playground tab",
        )

    return app


def same_origin(socket: WebSocket) -> bool:
    """A browser names the page's origin; it must be this server's own (Host is checked
    already). Clients that send no Origin are not web pages, so cannot be forged by one."""
    origin = socket.headers.get("origin")
    if origin is None:
        return True
    host = socket.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


async def run_session(
    socket: WebSocket, sessions: set[Session], idle_seconds: float, compact: bool = False
) -> None:
    """Relay commands to a new Session and its messages back until the page goes or idles."""
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()

    def notify() -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody to tell
            loop.call_soon_threadsafe(wake.set)

    outbox = Outbox(notify=notify)
    session = Session(outbox, query=socket.url.query, compact=compact)
    sessions.add(session)
    session.start()
    sender = asyncio.create_task(send_loop(socket, outbox, wake))
    try:
        while True:
            try:
                text = await asyncio.wait_for(socket.receive_text(), timeout=idle_seconds)
            except TimeoutError:
                minutes = idle_seconds / 60
                await socket.send_text(
                    json.dumps(
                        {
                            "type": "error",
                            "message": f"idle for {minutes:g} minutes: training stopped and "
                            "memory freed; reload the page to continue",
                        }
                    )
                )
                break
            try:
                message = json.loads(text)
            except (ValueError, RecursionError):  # not JSON, too many digits, nested too deep
                message = None
            if isinstance(message, dict):
                session.submit(message)
            else:
                session.outbox.send(unreadable_message(text, message))
    except (WebSocketDisconnect, RuntimeError):
        pass  # the page closed (RuntimeError: it closed while a message was being read)
    finally:
        # Nothing here may wait: the server can be cancelling this task as the page leaves.
        sender.cancel()
        sessions.discard(session)
        session.close()
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):  # the page closed it first
            await socket.close()


def unreadable_message(text: str, message: object) -> dict:
    """The error for a WebSocket message that is not one JSON object; the session goes on."""
    if message is None and text.strip()[:1] not in ("{", "["):
        what = "text that is not JSON"
    elif message is None:
        what = "JSON this server does not read (nested or with numbers beyond its limits)"
    else:
        what = f"JSON {type(message).__name__}"
    problem = f'a message must be one JSON object such as {{"type": "play"}} (received {what})'
    return {"type": "error", "message": problem, "problems": [problem]}


async def send_loop(socket: WebSocket, outbox: Outbox, wake: asyncio.Event) -> None:
    """Send what the session published whenever it says so: JSON as text, the rest binary."""
    try:
        while True:
            await wake.wait()
            wake.clear()
            for message in outbox.take():
                if isinstance(message, bytes):
                    await socket.send_bytes(message)
                else:
                    await socket.send_text(json.dumps(json_safe(message), allow_nan=False))
            if outbox.ended:  # the session stopped on an error it has sent: the page reloads
                await socket.close(code=1011)
                return
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the page went away; the receiving side ends the session
