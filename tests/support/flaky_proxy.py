"""A loopback HTTP proxy that breaks some of the responses it relays, on a schedule.

Each client connection carries one request: the proxy reads it, relays it to the
hub on a fresh connection (asking the hub to close afterwards), reads the whole
response, and then, by the request's number in the schedule, passes it on whole,
cuts it in the middle, drops it without a word, or flips a byte in its body.
Deterministic, bounded, and only ever talks to 127.0.0.1.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

Fault = Literal["ok", "truncate", "drop", "corrupt"]
HEADER_END = b"\r\n\r\n"


def _read_request(sock: socket.socket) -> bytes:
    data = b""
    while HEADER_END not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(HEADER_END)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
    return b"\r\n".join([*lines, b"Connection: close"]) + HEADER_END + body


@dataclass
class FlakyProxy:
    upstream_port: int
    schedule: Sequence[Fault] = ("ok",)
    enabled: bool = False
    seen: Counter[str] = field(default_factory=Counter)
    _count: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def next_fault(self) -> Fault:
        with self._lock:
            if not self.enabled:
                return "ok"
            fault = self.schedule[self._count % len(self.schedule)]
            self._count += 1
            self.seen[fault] += 1
            return fault

    def start(self) -> str:
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                client: socket.socket = self.request
                request = _read_request(client)
                if not request:
                    return
                with socket.create_connection(("127.0.0.1", proxy.upstream_port), timeout=30) as up:
                    up.sendall(request)
                    response = b""
                    while chunk := up.recv(65536):
                        response += chunk
                fault = proxy.next_fault()
                if fault == "drop":
                    return
                if fault == "truncate":
                    response = response[: max(1, len(response) // 2)]
                elif fault == "corrupt":
                    head, _, body = response.partition(HEADER_END)
                    if body:
                        middle = len(body) // 2
                        body = body[:middle] + bytes([body[middle] ^ 0x01]) + body[middle + 1 :]
                    response = head + HEADER_END + body
                client.sendall(response)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
