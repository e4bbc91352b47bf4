"""Hotlist alerts from the hub: the server-sent-event stream, on a background thread.

AlertListener follows GET /api/v1/alerts/stream with httpx streaming and hands
each alert, as an AlertRecord, to a callback (on the listener's thread: a UI
marshals it to the GUI thread). When the stream ends or the hub cannot be
reached it reconnects with exponential backoff, passing the last alert id it
saw (Last-Event-ID), so an alert made while it was away still arrives. A 401
renews the access token once through `renew`. stop() ends it and joins the thread.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from pydantic import ValidationError

from app.core.records import AlertRecord
from app.core.schemas import API_PREFIX, AlertPublic

log = logging.getLogger(__name__)
STREAM_PATH = f"{API_PREFIX}/alerts/stream"
DEVICE_HEADER = "X-Platedesk-Device"

CONNECTING = "connecting"
CONNECTED = "connected"
OFFLINE = "offline"
SIGNED_OUT = "signed_out"
STOPPED = "stopped"


def alert_record(alert: AlertPublic) -> AlertRecord:
    return AlertRecord(
        alert_id=alert.alert_id,
        case_number=alert.case_number,
        entry_id=alert.entry_id,
        entry_plate=alert.entry_plate,
        entry_state=alert.entry_state,
        reason=alert.reason,
        source=alert.source,
        unit=alert.unit,
        match=alert.match,
        created_at=alert.created_at,
        read_id=alert.read_id,
        read_plate=alert.read_plate,
        read_state=alert.read_state,
        captured_at=alert.captured_at,
        camera_id=alert.camera_id,
        image_sha256=alert.image_sha256,
        crop_sha256=alert.crop_sha256,
        acknowledged_by=alert.acknowledged_by,
        acknowledged_at=alert.acknowledged_at,
        outcome=None if alert.outcome is None else alert.outcome.value,
        visual_confirmed=alert.visual_confirmed,
        state_match=alert.state_match,
        entry_confirmed=alert.entry_confirmed,
        note=alert.note,
    )


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, str, str | None]]:
    """(event, data, id) for each event of an SSE line stream; comments (pings) give
    ("", "", None) so a caller gets control at every ping."""
    event, event_id = "message", None
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield event, "\n".join(data), event_id
            event, event_id = "message", None
            data = []
            continue
        if line.startswith(":"):
            yield "", "", None
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            event_id = value


class _Unauthorized(Exception):
    pass


def _shut_down(network_stream: Any) -> None:
    """Wake a thread blocked reading this connection (httpcore's network stream).

    Closing a socket does not wake a thread blocked reading it (Linux); shutting it
    down does. Without that, stop() would wait for the hub's next ping, or for the
    read timeout when the network is gone or the hub does not answer.
    """
    sock = network_stream.get_extra_info("socket") if network_stream is not None else None
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class AlertListener:
    """Follows the hub's alert stream until stop(); see the module docstring."""

    def __init__(
        self,
        *,
        base_url: str,
        access_token: Callable[[], str | None],
        on_alert: Callable[[AlertRecord], None],
        renew: Callable[[], str | None] | None = None,
        on_state: Callable[[str], None] | None = None,
        after: int | None = None,
        device_id: str | None = None,
        transport: httpx.BaseTransport | None = None,
        ping_seconds: float = 1.0,
        first_backoff: float = 0.5,
        max_backoff: float = 30.0,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._access_token = access_token
        self._renew = renew
        self._on_alert = on_alert
        self._on_state = on_state
        self._cursor = after
        self._device_id = device_id
        self._transport = transport
        self._ping = ping_seconds
        self._first_backoff = first_backoff
        self._max_backoff = max_backoff
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._response: httpx.Response | None = None
        # The connection of the stream being opened or read, from the moment it is
        # connected (httpcore's trace): stop() can end a request still waiting for
        # the hub's answer, before there is a response to close.
        self._connection: Any = None
        self._lock = threading.Lock()
        self.state = STOPPED
        self.connections = 0  # streams opened so far (for status and tests)

    @property
    def cursor(self) -> int | None:
        """The last alert id seen (or the hub's position at the first connection)."""
        return self._cursor

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("this listener was started already")
        self._thread = threading.Thread(target=self._run, name="alert-listener", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """End the stream and join the thread (returns within a ping or so)."""
        self._stop.set()
        with self._lock:
            response, connection = self._response, self._connection
        _shut_down(connection)
        if response is not None:
            try:
                response.close()
            except Exception:
                log.debug("closing the alert stream from stop() failed", exc_info=True)
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                frame = sys._current_frames().get(self._thread.ident or 0)
                where = "".join(traceback.format_stack(frame)[-6:]) if frame else "unknown"
                log.warning(
                    "the alert listener did not stop within %.0f s; it is at\n%s", timeout, where
                )

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _set_state(self, state: str) -> None:
        if state == self.state:
            return
        self.state = state
        if self._on_state is not None:
            try:
                self._on_state(state)
            except Exception:
                log.exception("the alert state callback failed")

    def _run(self) -> None:
        backoff = self._first_backoff
        renewed = False
        with httpx.Client(
            base_url=self._base_url,
            transport=self._transport,
            # The hub pings every `ping` seconds: four missed pings end a stream (and
            # the listener reconnects), so a read stop() could not wake (seen, rarely,
            # under load) still ends within the AlertsPanel's 5 s wait.
            timeout=httpx.Timeout(self._ping * 4, connect=5.0),
        ) as http:
            while not self._stop.is_set():
                self._set_state(CONNECTING)
                try:
                    if self._listen(http):
                        backoff = self._first_backoff  # a clean end: reconnect at once
                        renewed = False
                        continue
                except _Unauthorized:
                    fresh = None if renewed or self._renew is None else self._safe_renew()
                    renewed = True
                    if fresh:
                        continue
                    self._set_state(SIGNED_OUT)
                except (httpx.HTTPError, OSError) as exc:
                    if self._stop.is_set():
                        break
                    log.warning("alert stream interrupted (%s); retrying", type(exc).__name__)
                    self._set_state(OFFLINE)
                if self._stop.wait(backoff):
                    break
                backoff = min(backoff * 2, self._max_backoff)
        self._set_state(STOPPED)

    def _safe_renew(self) -> str | None:
        try:
            return self._renew() if self._renew is not None else None
        except Exception as exc:
            log.warning("renewing the access token failed (%s)", type(exc).__name__)
            return None

    def _listen(self, http: httpx.Client) -> bool:
        """One stream: True when it ended cleanly after connecting."""
        token = self._access_token()
        if not token:
            raise _Unauthorized
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if self._device_id:
            headers[DEVICE_HEADER] = self._device_id
        params: dict[str, Any] = {"ping": self._ping}
        if self._cursor is not None:
            headers["Last-Event-ID"] = str(self._cursor)
        with http.stream(
            "GET", STREAM_PATH, headers=headers, params=params, extensions={"trace": self._trace}
        ) as response:
            if response.status_code == 401:
                raise _Unauthorized
            if response.status_code >= 400:
                response.read()
                raise httpx.HTTPStatusError(
                    f"HTTP {response.status_code}", request=response.request, response=response
                )
            with self._lock:
                self._response = response
            if self._stop.is_set():
                # stop() came while the stream was opening, before there was a response
                # for it to close: do not wait for the first event to notice.
                return True
            try:
                return self._consume(response)
            finally:
                with self._lock:
                    self._response = None

    def _trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's progress events: keep the connection once it is made."""
        if event not in (
            "connection.connect_tcp.complete",
            "connection.connect_unix_socket.complete",
        ):
            return
        with self._lock:
            self._connection = info.get("return_value")
        if self._stop.is_set():  # stop() came while connecting: it saw no connection
            _shut_down(self._connection)

    def _consume(self, response: httpx.Response) -> bool:
        ready = False
        for event, data, event_id in sse_events(response.iter_lines()):
            if self._stop.is_set():
                return True
            if event == "ready":
                ready = True
                self.connections += 1
                self._set_state(CONNECTED)
                if self._cursor is None:
                    self._cursor = int(json.loads(data)["cursor"])
            elif event == "alert":
                self._deliver(data, event_id)
        return ready

    def _deliver(self, data: str, event_id: str | None) -> None:
        try:
            alert = AlertPublic.model_validate_json(data)
        except ValidationError:
            log.warning("the hub sent an alert Platedesk cannot read (id %s); skipped", event_id)
            return
        self._cursor = alert.alert_id
        try:
            self._on_alert(alert_record(alert))
        except Exception:
            log.exception("the alert callback failed for alert %s", alert.alert_id)
