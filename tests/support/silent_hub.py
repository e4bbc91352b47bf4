"""Hubs that are not there: one that refuses the connection, one that accepts it and
never answers (busy, or half dead). Real sockets on loopback."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


def refused_url() -> str:
    """The address of a port nothing listens on: connecting is refused at once."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@contextmanager
def silent_hub() -> Iterator[str]:
    """A hub address that accepts every connection and never sends a byte back."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                return
            held.append(connection)

    thread = threading.Thread(target=serve, name="silent-hub", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        server.close()
        for connection in held:
            connection.close()
        thread.join(5)
