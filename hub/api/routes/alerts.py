"""Alerts: list mine after a cursor, acknowledge one, or follow them as server-sent events.

GET /alerts/stream sends `ready` (data: {"cursor": N}) once connected, then each new
alert as event `alert` with id = alert_id (data: AlertPublic JSON), and pings as
SSE comments. A reconnecting client passes Last-Event-ID (or `after`) and misses
nothing. The stream ends by itself after `max_seconds` (the client reconnects),
when the access token expires (the client renews it and reconnects), when the
client goes away, or when the server shuts down (sse-starlette watches uvicorn).
A stream opens only for a live session (hub.api.deps.get_current_user); after a
sign-out, an account lock, a device revocation or the training's expiry it sends
`closed` (data: {"reason": ...}) and ends: no alert goes out after that. On
PostgreSQL new alerts and session changes made through any node wake the streams at
once (hub.notify: LISTEN/NOTIFY), and an idle stream sleeps until then or until its
session's own expiry (its access token's, its training's), checking by itself only
every PUSHED_CHECK_SECONDS; on SQLite, or while a node's listener is down, a stream
polls for alerts every POLL_SECONDS and checks its session every
SESSION_CHECK_SECONDS.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Path, Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from app.core.schemas import AlertAcknowledgeCreate, AlertPage, AlertPublic
from hub import alerts
from hub.api.deps import (
    DEVICE_HEADER,
    MAX_ROW_ID,
    ContextDep,
    CurrentUser,
    NowDep,
    error_responses,
)
from hub.context import HubContext
from hub.errors import HubError
from hub.sessions import SESSIONS, NotCached, own_expiry
from hub.slices import Caller

router = APIRouter(tags=["alerts"])

# How often a stream looks for new alerts when nothing tells it (SQLite, or PostgreSQL
# while the node's listener is down); otherwise hub.notify wakes it.
POLL_SECONDS = 0.25
SESSION_CHECK_SECONDS = 2.0  # how often a polling stream checks its session may still receive
# While the node listens (hub.notify), a session change anywhere wakes the stream and
# its session's own expiry is computed: it checks by itself only this often, in case.
PUSHED_CHECK_SECONDS = 300.0
SHUTDOWN_GRACE_SECONDS = 2.0


@router.get("/alerts", response_model=AlertPage, responses=error_responses(422))
def list_alerts(
    caller: CurrentUser,
    context: ContextDep,
    after: Annotated[
        int, Query(ge=0, le=MAX_ROW_ID, description="the cursor of the previous page")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=alerts.MAX_PAGE)] = 100,
) -> AlertPage:
    """My alerts (assigned cases, my unit) with an id above `after`, oldest first."""
    with context.database.read() as connection:
        return alerts.list_alerts(connection, caller, after=after, limit=limit)


@router.post(
    "/alerts/{alert_id}/acknowledge",
    response_model=AlertPublic,
    responses=error_responses(404, 409, 422),
)
def acknowledge_alert(
    alert_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)],
    body: AlertAcknowledgeCreate,
    caller: CurrentUser,
    context: ContextDep,
    now: NowDep,
) -> AlertPublic:
    with context.database.write() as connection:
        return alerts.acknowledge(connection, caller, alert_id=alert_id, request=body, now=now)


def _token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@router.get(
    "/alerts/stream",
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "The alert stream."},
        **error_responses(422),
    },
)
async def stream_alerts(
    request: Request,
    caller: CurrentUser,
    context: ContextDep,
    after: Annotated[
        int | None,
        Query(ge=0, le=MAX_ROW_ID, description="start after this alert id (default: only new)"),
    ] = None,
    ping: Annotated[float, Query(ge=1, le=60, description="seconds between pings")] = 15,
    max_seconds: Annotated[float, Query(ge=1, le=3600)] = 600,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=20)] = None,
) -> EventSourceResponse:
    cursor = after
    if last_event_id and last_event_id.strip().isdigit():
        cursor = min(int(last_event_id.strip()), MAX_ROW_ID)
    shutdown = anyio.Event()  # set by sse-starlette when the server shuts down
    events = _events(
        context,
        caller,
        _token(request),
        device_id=request.headers.get(DEVICE_HEADER),
        cursor=cursor,
        max_seconds=max_seconds,
        shutdown=shutdown,
    )
    return EventSourceResponse(
        events,
        ping=ping,
        send_timeout=30,
        shutdown_event=shutdown,
        shutdown_grace_period=SHUTDOWN_GRACE_SECONDS,
    )


async def _events(
    context: HubContext,
    caller: Caller,
    token: str,
    *,
    device_id: str | None,
    cursor: int | None,
    max_seconds: float,
    shutdown: anyio.Event,
) -> AsyncIterator[ServerSentEvent]:
    def page(after: int) -> AlertPage:
        with context.database.read() as connection:
            return alerts.list_alerts(connection, caller, after=after, limit=alerts.MAX_PAGE)

    def latest() -> int:
        with context.database.read() as connection:
            return alerts.latest_alert_id(connection)

    def problem(*, cached_only: bool = False) -> tuple[str | None, datetime | None]:
        """Why the session may no longer receive alerts (None while it may), and when
        it stops by time alone (its token's or training's end). With `cached_only` it
        raises NotCached rather than query the database."""
        now = context.clock()
        claims = context.tokens.check(token, now=now)
        if claims is None:
            return None, None  # the token expired: the loop below ends the stream
        check = SESSIONS.check_cached if cached_only else SESSIONS.check
        try:
            state = check(context.database, claims, device_header=device_id, now=now)
        except HubError as refusal:
            return refusal.message, None
        return None, own_expiry(claims, state)

    async def session_problem() -> tuple[str | None, datetime | None]:
        """problem() on the event loop when the session cache answers (no I/O: the
        usual case while the node listens), else in a thread."""
        try:
            return problem(cached_only=True)
        except NotCached:
            return await anyio.to_thread.run_sync(problem)

    def after_check(expiry: datetime | None, *, heard: bool) -> float:
        """When the stream checks its session next by itself (anyio time)."""
        if heard:
            return anyio.current_time() + _until(expiry, context.clock(), PUSHED_CHECK_SECONDS)
        return anyio.current_time() + SESSION_CHECK_SECONDS

    position = cursor if cursor is not None else await anyio.to_thread.run_sync(latest)
    listener = context.listener
    # Its session's own expiry is known before the stream says it is ready.
    reason, expiry = await session_problem()
    if reason is not None:
        yield ServerSentEvent(event="closed", data=json.dumps({"reason": reason}))
        return
    next_check = after_check(expiry, heard=listener is not None and listener.listening)
    yield ServerSentEvent(event="ready", data=json.dumps({"cursor": position}))
    deadline = anyio.current_time() + max_seconds
    looked: tuple[int, int] | None = None  # the listener's generations at the last look
    while not shutdown.is_set():
        heard = listener is not None and listener.listening
        seen = listener.seen if listener is not None else (0, 0)
        sessions_changed = heard and looked is not None and seen[1] != looked[1]
        if not heard:
            # Polling (SQLite, or the listener is down): check at least this often.
            next_check = min(next_check, anyio.current_time() + SESSION_CHECK_SECONDS)
        if sessions_changed or anyio.current_time() >= next_check:
            reason, expiry = await session_problem()
            if reason is not None:
                # Signed out, locked or revoked meanwhile: no alert goes out after that.
                yield ServerSentEvent(event="closed", data=json.dumps({"reason": reason}))
                return
            next_check = after_check(expiry, heard=heard)
        if not heard or looked is None or seen[0] != looked[0]:
            found = await anyio.to_thread.run_sync(page, position)
            for alert in found.alerts:
                yield ServerSentEvent(
                    event="alert", id=str(alert.alert_id), data=alert.model_dump_json()
                )
            position = found.cursor
            if len(found.alerts) == alerts.MAX_PAGE:
                continue
        looked = seen
        if context.tokens.check(token, now=context.clock()) is None:
            return  # the token expired: the client renews it and reconnects
        remaining = deadline - anyio.current_time()
        if remaining <= 0:
            return
        if heard and listener is not None:
            # Pushed (PostgreSQL): asleep until an alert or a session change anywhere,
            # the session's own expiry (its token's, its training's), the long safety
            # check, or the shutdown.
            until_check = max(0.0, next_check - anyio.current_time())
            await listener.wait(seen=seen, timeout=min(until_check, remaining), also=shutdown)
            continue
        with anyio.move_on_after(min(POLL_SECONDS, remaining)):
            await shutdown.wait()
    # Shutting down: end the response properly, so the client sees a clean end and
    # reconnects (to another hub process, or this one once it is back).


def _until(expiry: datetime | None, now: datetime, longest: float) -> float:
    """Seconds from `now` until `expiry` (none when past), at most `longest`."""
    if expiry is None:
        return longest
    return min(longest, max(0.0, (expiry - now).total_seconds()))
