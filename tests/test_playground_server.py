"""Starting the playground: the printed address, a busy port, a non-local host, the extra."""

import socket
import subprocess
import sys
import time

import pytest

pytest.importorskip("uvicorn")

from sigmalab.playground.server import allowed_hosts, bind_free_port, host_warning  # noqa: E402


def test_a_busy_port_moves_to_the_next_free_one():
    taken, port = bind_free_port("127.0.0.1", 18_700)
    try:
        moved, chosen = bind_free_port("127.0.0.1", port)
        moved.close()
        assert chosen > port
    finally:
        taken.close()


def test_the_listening_socket_lets_asyncio_turn_nagle_off():
    """asyncio sets TCP_NODELAY only on sockets whose protocol is TCP; without it a frame
    right after a setup message waited ~40 ms for the page's delayed ACK."""
    sock, _ = bind_free_port("127.0.0.1", 18_710)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


def test_an_address_other_machines_can_reach_gets_a_warning():
    for local in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"):
        assert host_warning(local) is None
    for public in ("0.0.0.0", "192.168.1.5", "example.org"):
        assert "lets other machines open the playground" in host_warning(public)


def test_only_local_names_are_allowed_unless_asked():
    assert set(allowed_hosts("127.0.0.1")) == {"127.0.0.1", "localhost", "[::1]", "::1"}
    assert "192.168.1.5" in allowed_hosts("192.168.1.5")
    assert allowed_hosts("0.0.0.0") == ("*",)


def read_until(process, text, seconds=30.0):
    """Lines of the process's output up to the first containing ``text``."""
    lines = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if text in line:
            return lines
    raise AssertionError(f"{text!r} never printed; output: {lines}")


def test_the_command_prints_its_url_says_when_the_port_moves_and_serves_the_page():
    busy, port = bind_free_port("127.0.0.1", 18_720)
    process = subprocess.Popen(
        [sys.executable, "-m", "sigmalab", "playground", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = read_until(process, "sigmalab playground: http://")
        text = "".join(lines)
        assert "warning" not in text  # 127.0.0.1, the default
        assert f"port {port} is busy; using" in text
        url = lines[-1].split(": ", 1)[1].split()[0]
        host, served_port = url.removeprefix("http://").rstrip("/").split(":")
        with socket.create_connection((host, int(served_port)), timeout=10) as connection:
            request = (
                f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{served_port}\r\nConnection: close\r\n\r\n"
            )
            connection.sendall(request.encode())
            reply = b""
            while chunk := connection.recv(65536):
                reply += chunk
            reply = reply.decode(errors="replace")
        assert reply.startswith("HTTP/1.1 200") and "sigmalab playground" in reply
    finally:
        process.terminate()
        process.wait(timeout=10)
        busy.close()


def test_importing_sigmalab_and_its_cli_loads_no_web_framework():
    code = (
        "import sys, sigmalab, sigmalab.cli; "
        "print(sorted(m for m in ('fastapi', 'starlette', 'uvicorn') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr
