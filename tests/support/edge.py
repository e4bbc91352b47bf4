"""Doubles at the network edge only: an httpx transport in front of a real hub."""

from __future__ import annotations

import httpx


class SwitchableTransport(httpx.HTTPTransport):
    """The real transport, with a cable that can be pulled: while `down`, every request
    fails to connect, as it does when the hub's host is off the network."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("the network cable is out", request=request)
        return super().handle_request(request)
