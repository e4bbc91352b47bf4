"""Sign-in sessions and the checks every request makes of its own.

A sign-in opens a session (the `sessions` table): bound to the device it signed in
from (the X-Platedesk-Device header) or the device it then registers, named in its
access tokens (claim `dev`), and ended by sign-out, an account lock or the device's
revocation. Every request checks its session, its user's lock and training, and its
device (SessionCache: per process, cached for SESSION_CHECK_SECONDS, cleared by this
process's own changes; on PostgreSQL, while the process listens for the other nodes'
changes (hub.notify), for LISTENED_TTL: a change anywhere clears it).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.errors import ErrorKind
from hub import notify as notify_channels
from hub.core.db import Database
from hub.core.security import AccessClaims
from hub.db.tables import devices, refresh_tokens, sessions, users
from hub.errors import HubError, forbidden, unauthorized
from hub.notify import notify
from hub.users import training_error

LOCKED = "This account is locked; ask an administrator to release it."
SESSION_OVER = "Your session has ended; sign in again."
SIGN_IN_FIRST = "Sign in first: this request needs a valid access token."
DEVICE_REVOKED = "This device has been revoked by the agency; its cache must be wiped."
OTHER_DEVICE = "This session was opened on another workstation; sign in again from this one."
SESSION_CHECK_SECONDS = 2.0  # how stale a process's view of a session may be


class EndReason(StrEnum):
    """Why a session ended (sessions.end_reason)."""

    SIGNED_OUT = "signed_out"
    LOCKED = "locked"
    DEVICE_REVOKED = "device_revoked"
    TOKEN_REUSED = "token_reused"  # noqa: S105 (a reason, not a secret)
    ACCOUNT_CHANGED = "account_changed"  # an administrator reset its TOTP or changed its role


def start_session(
    connection: Connection, *, user_id: int, device_id: str | None, now: datetime
) -> str:
    session_id = uuid.uuid4().hex
    connection.execute(
        sessions.insert().values(
            session_id=session_id, user_id=user_id, device_id=device_id, started_at=now
        )
    )
    return session_id


def end_sessions(
    connection: Connection, condition: Any, *, reason: EndReason, now: datetime
) -> int:
    """End the live sessions matching `condition` (on `sessions`) and revoke their
    refresh tokens; returns how many ended. Call invalidate_sessions() after commit
    (the other nodes are told on commit: hub.notify)."""
    notify(connection, notify_channels.SESSIONS)
    ended = connection.execute(
        sessions.update()
        .where(condition, sessions.c.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason.value)
    ).rowcount
    connection.execute(
        refresh_tokens.update()
        .where(
            refresh_tokens.c.session_id.in_(sa.select(sessions.c.session_id).where(condition)),
            refresh_tokens.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return int(ended)


def ended_error(reason: str | None) -> HubError:
    if reason == EndReason.DEVICE_REVOKED:
        return forbidden(DEVICE_REVOKED, ErrorKind.DEVICE_REVOKED)
    if reason == EndReason.LOCKED:
        return HubError(423, LOCKED)
    return unauthorized(SESSION_OVER)


@dataclass(frozen=True)
class SessionState:
    """What a request's checks need of its session, user and device (one query)."""

    session_id: str
    user_id: int
    username: str
    role: str
    locked: bool
    training_valid_until: date | None
    device_id: str | None
    device_revoked: bool
    end_reason: str | None  # None while the session is live


_SESSION_STATE = (
    sa.select(
        sessions.c.session_id,
        sessions.c.user_id,
        sessions.c.device_id,
        sessions.c.ended_at,
        sessions.c.end_reason,
        users.c.username,
        users.c.role,
        users.c.locked_at,
        users.c.training_valid_until,
        devices.c.revoked_at.label("device_revoked_at"),
    )
    .select_from(
        sessions.join(users, users.c.user_id == sessions.c.user_id).outerjoin(
            devices, devices.c.device_id == sessions.c.device_id
        )
    )
    .where(sessions.c.session_id == sa.bindparam("session_id"))
)
DEVICE_STATE = sa.select(devices.c.user_id, devices.c.revoked_at).where(
    devices.c.device_id == sa.bindparam("device_id")
)


def load_session(connection: Connection, session_id: str) -> SessionState | None:
    row = connection.execute(_SESSION_STATE, {"session_id": session_id}).first()
    if row is None:
        return None
    return SessionState(
        session_id=row.session_id,
        user_id=int(row.user_id),
        username=row.username,
        role=row.role,
        locked=row.locked_at is not None,
        training_valid_until=row.training_valid_until,
        device_id=row.device_id,
        device_revoked=row.device_revoked_at is not None,
        end_reason=(row.end_reason or EndReason.SIGNED_OUT) if row.ended_at is not None else None,
    )


def training_ends(state: SessionState) -> datetime | None:
    """When the session's user stops passing the training check by time alone: the
    start (UTC) of the day after training_valid_until (None: no training on record,
    which refuses already)."""
    valid_until = state.training_valid_until
    if valid_until is None:
        return None
    day_after = valid_until + timedelta(days=1)
    return datetime(day_after.year, day_after.month, day_after.day, tzinfo=UTC)


def own_expiry(claims: AccessClaims, state: SessionState) -> datetime | None:
    """The earliest moment this session's access ends by time alone, with no change
    made anywhere: its access token expires, or its user's training does."""
    moments = [m for m in (claims.expires_at, training_ends(state)) if m is not None]
    return min(moments) if moments else None


def device_revoked(connection: Connection, device_id: str) -> bool:
    row = connection.execute(DEVICE_STATE, {"device_id": device_id}).first()
    return row is not None and row.revoked_at is not None


def refuse_unless_active(
    state: SessionState,
    *,
    device_header: str | None,
    device_revoked: Callable[[str], bool],
    now: datetime,
) -> None:
    """Raise the HubError that says why this session may not act (a revoked device, an
    ended session, a locked account, expired training, another device's header)."""
    if state.device_revoked:
        raise forbidden(DEVICE_REVOKED, ErrorKind.DEVICE_REVOKED)
    if state.end_reason is not None:
        raise ended_error(state.end_reason)
    if state.locked:
        raise HubError(423, LOCKED)
    refusal = training_error(state, now=now)
    if refusal is not None:
        raise refusal
    if device_header:
        if state.device_id is not None and device_header != state.device_id:
            raise forbidden(OTHER_DEVICE)
        if state.device_id is None and device_revoked(device_header):
            raise forbidden(DEVICE_REVOKED, ErrorKind.DEVICE_REVOKED)


class NotCached(Exception):
    """SessionCache.check_cached needed the database."""


class _CachedOnly(threading.local):
    active = False


LISTENED_TTL = 60.0  # seconds; a training that expires meanwhile is still caught by time


class SessionCache:
    """Sessions and devices as this process last read them, for SESSION_CHECK_SECONDS.

    Another process (`serve --workers N`) sees a change within that time; this process
    at once, as every change here calls invalidate() once committed. A read that began
    before an invalidate() is not kept.
    """

    def __init__(
        self, ttl: float = SESSION_CHECK_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        # Databases whose changes this process hears of (hub.notify.ChangeListener):
        # their entries are kept LISTENED_TTL, the listener clearing them on a change.
        self.listened: set[str] = set()
        self._cached_only = _CachedOnly()
        self.clock = clock
        self._entries: dict[tuple[str, str, str], tuple[float, Any]] = {}
        self._generation = 0
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def _get(self, database: Database, kind: str, key: str) -> Any:
        cache_key = (database.url, kind, key)
        now = self.clock()
        with self._lock:
            entry = self._entries.get(cache_key)
            if entry is not None and entry[0] > now:
                return entry[1]
            if self._cached_only.active:
                raise NotCached
            generation = self._generation
        with database.read() as connection:
            if kind == "session":
                value: Any = load_session(connection, key)
            else:
                value = device_revoked(connection, key)
        with self._lock:
            if generation == self._generation:
                if len(self._entries) > 10_000:
                    self._entries.clear()
                ttl = LISTENED_TTL if database.url in self.listened else self.ttl
                self._entries[cache_key] = (now + ttl, value)
        return value

    def check_cached(
        self,
        database: Database,
        claims: AccessClaims,
        *,
        device_header: str | None,
        now: datetime,
    ) -> SessionState:
        """check() from the cache alone, without I/O (for the event loop); raises
        NotCached when an entry it needs is not cached (then run check() in a thread)."""
        self._cached_only.active = True
        try:
            return self.check(database, claims, device_header=device_header, now=now)
        finally:
            self._cached_only.active = False

    def session(self, database: Database, session_id: str) -> SessionState | None:
        state: SessionState | None = self._get(database, "session", session_id)
        return state

    def device_revoked(self, database: Database, device_id: str) -> bool:
        return bool(self._get(database, "device", device_id))

    def check(
        self,
        database: Database,
        claims: AccessClaims,
        *,
        device_header: str | None,
        now: datetime,
    ) -> SessionState:
        """The caller's session when it may still act; raises the HubError saying why not:
        ended (401, or 403 for a revoked device, 423 for a locked account), another
        workstation's token (403), training expired (403)."""
        state = self.session(database, claims.session_id)
        if state is None or state.user_id != claims.user_id or state.username != claims.username:
            raise unauthorized(SIGN_IN_FIRST)
        if claims.device_id is not None and claims.device_id != state.device_id:
            raise unauthorized(SIGN_IN_FIRST)
        refuse_unless_active(
            state,
            device_header=device_header,
            device_revoked=lambda device_id: self.device_revoked(database, device_id),
            now=now,
        )
        return state


SESSIONS = SessionCache()


def invalidate_sessions() -> None:
    """This process changed sessions, users or devices: check them afresh."""
    SESSIONS.invalidate()
