"""Start the playground: pick a free port, say where it is, run uvicorn."""

from __future__ import annotations

import errno
import ipaddress
import socket
import threading
import webbrowser
from collections.abc import Callable

from ..errors import SigmalabError
from .app import LOCAL_HOSTS, create_app
from .uploads import MAX_UPLOAD_BYTES

PORT_TRIES = 20
WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def bind_free_port(host: str, port: int, tries: int = PORT_TRIES) -> tuple[socket.socket, int]:
    """A listening socket on ``port`` or the next free one after it (up to ``tries`` ports).

    The socket is handed to uvicorn as it is, so no other program can take the port between
    the check and the start.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for candidate in range(port, min(port + tries, 65536)):
        # IPPROTO_TCP named explicitly: asyncio turns Nagle's algorithm off (TCP_NODELAY) only
        # for sockets that say so, and with it on a frame after a setup waited 40 ms for an ACK.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, candidate))
        except OSError as error:
            sock.close()
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                continue
            raise SigmalabError(f"--host {host}: cannot listen there ({error.strerror})") from None
        sock.listen(128)
        return sock, candidate
    raise SigmalabError(f"--port {port}: ports {port}-{port + tries - 1} are all busy")


def host_warning(host: str) -> str | None:
    """The warning for an address other machines can reach (None for loopback ones)."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name other than localhost: it may resolve to anything
        loopback = False
    if loopback:
        return None
    return (
        f"warning: --host {host} lets other machines open the playground; it has no "
        "login, and anyone who can reach it can train on this computer"
    )


def allowed_hosts(host: str) -> tuple[str, ...]:
    """Host names requests may use: the loopback names, plus the one asked for; any name when
    listening on every interface (the user chose to be reachable)."""
    if host in WILDCARD_HOSTS:
        return ("*",)
    return tuple(dict.fromkeys((*LOCAL_HOSTS, host)))


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    open_browser: bool = False,
    say: Callable[[str], None] = print,
) -> None:
    """Run the playground until Ctrl-C; ``say`` prints the address and any warning."""
    import uvicorn

    warning = host_warning(host)
    if warning:
        say(warning)
    sock, chosen = bind_free_port(host, port)
    if chosen != port:
        say(f"port {port} is busy; using {chosen}")
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{chosen}/"
    say(f"sigmalab playground: {url}  (Ctrl-C stops it)")
    config = uvicorn.Config(
        create_app(hosts=allowed_hosts(host)),
        log_level="warning",
        ws_max_size=2 * MAX_UPLOAD_BYTES,
        ws_ping_interval=20.0,
    )
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    uvicorn.Server(config).run(sockets=[sock])
