"""The alert listener stops at once, whatever the hub is doing."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from app.sync.alerts import AlertListener


@pytest.fixture
def silent_hub() -> Iterator[tuple[str, threading.Event]]:
    """A hub that accepts the connection and never answers (busy, or half dead)."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        try:
            connection, _ = server.accept()
        except OSError:
            return
        held.append(connection)
        accepted.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", accepted
    server.close()
    for connection in held:
        connection.close()
    thread.join(5)


def test_stop_ends_a_stream_the_hub_has_not_answered_yet(
    silent_hub: tuple[str, threading.Event],
) -> None:
    url, accepted = silent_hub
    listener = AlertListener(
        base_url=url, access_token=lambda: "token", on_alert=lambda _alert: None
    )
    listener.start()
    assert accepted.wait(10)  # the request is sent; its answer never comes
    began = time.monotonic()
    listener.stop(timeout=5.0)
    assert not listener.running
    assert time.monotonic() - began < 2.0  # not the 10 s read timeout
