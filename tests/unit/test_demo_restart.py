"""`make demo` started again right after closing keeps its hub address, so its profile."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from app import demo


def _serve_and_stop(port: int) -> None:
    """Listen on `port`, take a connection and stop, closing first as a stopping hub does:
    the server's side of the connection stays in TIME_WAIT for a minute."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen()
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = server.accept()
            accepted.close()
            client.recv(1)  # the server's FIN arrived


def test_a_quick_restart_keeps_the_hub_port_and_so_the_profile(tmp_path: Path) -> None:
    data = tmp_path / "demo-data"
    first = demo.demo_port(data, preferred=demo.free_port())
    _serve_and_stop(first)  # the first demo's hub ran and stopped a moment ago
    with socket.socket() as plain, pytest.raises(OSError, match="in use"):
        plain.bind(("127.0.0.1", first))  # a plain bind (the old probe) is refused now
    second = demo.demo_port(data)
    assert second == first
    assert demo.demo_profile(
        data, username="detective", hub_url=f"http://127.0.0.1:{second}"
    ) == demo.demo_profile(data, username="detective", hub_url=f"http://127.0.0.1:{first}")


def test_a_port_taken_by_another_program_is_said_plainly(tmp_path: Path) -> None:
    data = tmp_path / "demo-data"
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = int(other.getsockname()[1])
        (data).mkdir()
        (data / demo.PORT_FILE).write_text(f'{{"port": {port}}}', encoding="utf-8")
        with pytest.raises(demo.LaunchError, match=f"Port {port}.*in use by another program"):
            demo.demo_port(data, wait_s=0.2)
