"""Users, sign-in, sessions and devices.

Sign-in takes the same time and gives the same answer whatever was wrong (unknown
user, wrong password, wrong code, a locked account): the password is checked against
a dummy hash when the user does not exist. The password hash runs outside any
transaction; the write transaction that follows only records the outcome.

Failed sign-ins are counted by the name tried (known or not) and by the client's
address, and throttle further tries (429 with Retry-After) without checking the
password: five failures of one name from one address within 15 minutes, twenty from
one address, a hundred of one name from anywhere. They never lock an account, so a
guesser cannot keep the real user out from another address (an administrator locks
an account: hub.admin routes).

A sign-in opens a session (the `sessions` table): bound to the device it signed in
from (the X-Platedesk-Device header) or the device it then registers, named in its
access tokens (claim `dev`), and ended by sign-out, an account lock or the device's
revocation. Every request checks its session, its user's lock and training, and its
device (SessionCache: per process, cached for SESSION_CHECK_SECONDS, cleared by this
process's own changes).
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.errors import ErrorKind
from app.core.policy import (
    ACCESS_TOKEN_LIFETIME,
    FAILED_SIGN_IN_WINDOW,
    MAX_FAILED_SIGN_INS,
    SESSION_LIFETIME,
    TOTP_CODE_USED,
)
from app.core.schemas import DevicePublic, Role, TokenPublic, UserPublic
from hub.audit import record_hub_event
from hub.core.db import Database
from hub.core.security import (
    AccessClaims,
    PasswordService,
    TokenService,
    new_refresh_token,
    token_digest,
    totp_step,
)
from hub.db.tables import (
    chain_heads,
    devices,
    failed_sign_ins,
    refresh_tokens,
    sessions,
    users,
)
from hub.errors import HubError, forbidden, unauthorized
from hub.passwords import password_problem

log = logging.getLogger(__name__)

WRONG_CREDENTIALS = "Wrong user name, password or code."
LOCKED = "This account is locked; ask an administrator to release it."
SESSION_OVER = "Your session has ended; sign in again."
SIGN_IN_FIRST = "Sign in first: this request needs a valid access token."
CODE_USED = TOTP_CODE_USED
DEVICE_REVOKED = "This device has been revoked by the agency; its cache must be wiped."
OTHER_DEVICE = "This session was opened on another workstation; sign in again from this one."

# Failed sign-ins that throttle further tries within FAILED_SIGN_IN_WINDOW.
MAX_FAILED_PER_NAME_AND_ADDRESS = MAX_FAILED_SIGN_INS
MAX_FAILED_PER_ADDRESS = 20
MAX_FAILED_PER_NAME = 100
SESSION_CHECK_SECONDS = 2.0  # how stale a process's view of a session may be


class EndReason(StrEnum):
    """Why a session ended (sessions.end_reason)."""

    SIGNED_OUT = "signed_out"
    LOCKED = "locked"
    DEVICE_REVOKED = "device_revoked"
    TOKEN_REUSED = "token_reused"  # noqa: S105 (a reason, not a secret)
    ACCOUNT_CHANGED = "account_changed"  # an administrator reset its TOTP or changed its role


class Throttled(HubError):
    """Too many failed sign-ins for this name or from this address: 429, Retry-After."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            429,
            "Too many failed sign-ins from this address or for this user name; "
            f"try again in {retry_after} seconds.",
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class LoginOutcome:
    """Either tokens or a refusal; the refusal is raised after its audit event commits."""

    token: TokenPublic | None
    error: HubError | None


@dataclass(frozen=True)
class SignIn:
    """One sign-in attempt: the credentials, the client's address and device header."""

    username: str
    password: str
    code: str
    address: str
    device_id: str | None = None


def create_user(
    connection: Connection,
    passwords: PasswordService,
    *,
    username: str,
    password: str,
    role: Role,
    totp_secret: str,
    now: datetime,
    display_name: str | None = None,
    training_valid_until: date | None = None,
    unit: str | None = None,
    partner_agency: str | None = None,
) -> int:
    problem = password_problem(password, username=username)
    if problem is not None:
        raise HubError(422, problem)
    result = connection.execute(
        users.insert().values(
            username=username,
            display_name=display_name or username,
            role=role.value,
            password_hash=passwords.hash(password),
            totp_secret=totp_secret,
            training_valid_until=training_valid_until,
            created_at=now,
            unit=unit,
            partner_agency=partner_agency,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def user_public(row: Any) -> UserPublic:
    return UserPublic(
        username=row.username,
        display_name=row.display_name,
        role=Role(row.role),
        training_valid_until=row.training_valid_until,
        unit=row.unit,
        partner_agency=row.partner_agency,
    )


def training_error(row: Any, *, now: datetime) -> HubError | None:
    valid_until: date | None = row.training_valid_until
    if valid_until is None:
        return HubError(
            403, "No ALPR training is on record for you; ask an administrator to record it."
        )
    if valid_until < now.date():
        return HubError(
            403,
            f"Your ALPR training expired on {valid_until.isoformat()}; renew it before searching.",
        )
    return None


# sessions ---------------------------------------------------------------------------
def _start_session(
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
    refresh tokens; returns how many ended. Call invalidate_sessions() after commit."""
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


def _ended_error(reason: str | None) -> HubError:
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
_DEVICE_STATE = sa.select(devices.c.user_id, devices.c.revoked_at).where(
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


def device_revoked(connection: Connection, device_id: str) -> bool:
    row = connection.execute(_DEVICE_STATE, {"device_id": device_id}).first()
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
        raise _ended_error(state.end_reason)
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
                self._entries[cache_key] = (now + self.ttl, value)
        return value

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


# sign-in ----------------------------------------------------------------------------
def _issue(
    connection: Connection,
    tokens: TokenService,
    row: Any,
    *,
    session_id: str,
    session_started_at: datetime,
    device_id: str | None,
    now: datetime,
) -> TokenPublic:
    refresh_token = new_refresh_token()
    connection.execute(
        refresh_tokens.insert().values(
            token_hash=token_digest(refresh_token),
            user_id=row.user_id,
            session_id=session_id,
            session_started_at=session_started_at,
            created_at=now,
        )
    )
    access = tokens.issue(
        AccessClaims(int(row.user_id), row.username, session_id, device_id), now=now
    )
    return TokenPublic(
        access_token=access,
        refresh_token=refresh_token,
        expires_in=int(ACCESS_TOKEN_LIFETIME.total_seconds()),
        session_expires_at=session_started_at + SESSION_LIFETIME,
        user=user_public(row),
    )


def _wait_for(failures: list[datetime], limit: int, *, now: datetime) -> int | None:
    """Seconds until fewer than `limit` of these failures (newest first) are recent."""
    if len(failures) < limit:
        return None
    free_at = failures[limit - 1] + FAILED_SIGN_IN_WINDOW
    return max(1, math.ceil((free_at - now).total_seconds()))


def throttle_wait(
    connection: Connection, *, username: str, address: str, now: datetime
) -> int | None:
    """Seconds this name or address must wait before another try, or None."""
    since = now - FAILED_SIGN_IN_WINDOW
    waits = []
    for condition, limit in (
        (
            sa.and_(failed_sign_ins.c.username == username, failed_sign_ins.c.address == address),
            MAX_FAILED_PER_NAME_AND_ADDRESS,
        ),
        (failed_sign_ins.c.address == address, MAX_FAILED_PER_ADDRESS),
        (failed_sign_ins.c.username == username, MAX_FAILED_PER_NAME),
    ):
        recent = list(
            connection.execute(
                sa.select(failed_sign_ins.c.failed_at)
                .where(condition, failed_sign_ins.c.failed_at > since)
                .order_by(failed_sign_ins.c.failed_at.desc())
                .limit(limit)
            ).scalars()
        )
        wait = _wait_for(recent, limit, now=now)
        if wait is not None:
            waits.append(wait)
    return max(waits) if waits else None


def login(
    database: Database,
    passwords: PasswordService,
    tokens: TokenService,
    attempt: SignIn,
    *,
    now: datetime,
    totp_drift_steps: int = 1,
) -> TokenPublic:
    """Check password and code, then record the attempt (audited either way).

    A throttled name or address gets Throttled (429) without a password check. The
    password hash runs outside any transaction, so sign-ins never hold the write lock
    while hashing. Raises the refusal (HubError) once its audit event is committed.
    """
    with database.read() as connection:
        wait = throttle_wait(
            connection, username=attempt.username, address=attempt.address, now=now
        )
        row = connection.execute(
            sa.select(users.c.user_id, users.c.password_hash, users.c.totp_secret).where(
                users.c.username == attempt.username
            )
        ).first()
    if wait is not None:
        log.info("a sign-in was throttled (%d s to wait)", wait)
        raise Throttled(wait)
    password_ok = passwords.verify(row.password_hash if row is not None else None, attempt.password)
    step = (
        totp_step(row.totp_secret, attempt.code, at=now, drift=totp_drift_steps)
        if row is not None and password_ok
        else None
    )
    with database.write() as connection:
        outcome = _record_login(
            connection,
            tokens,
            attempt,
            user_id=int(row.user_id) if row is not None and password_ok else None,
            step=step,
            now=now,
        )
    if outcome.error is not None:
        raise outcome.error
    assert outcome.token is not None
    return outcome.token


def _record_login(
    connection: Connection,
    tokens: TokenService,
    attempt: SignIn,
    *,
    user_id: int | None,
    step: int | None,
    now: datetime,
) -> LoginOutcome:
    """The bookkeeping of a checked sign-in, in its write transaction. `user_id` is set
    when the password matched, `step` when the code did too."""
    refs = {"username": attempt.username}
    if user_id is None or step is None:
        return LoginOutcome(None, _refuse(connection, attempt, now=now, outcome="refused"))
    row = connection.execute(sa.select(users).where(users.c.user_id == user_id)).one()

    def refused(outcome: str, error: HubError) -> LoginOutcome:
        record_hub_event(
            connection, action="auth.login", now=now, username=attempt.username,
            object_refs=refs, outcome=outcome,
        )  # fmt: skip
        return LoginOutcome(None, error)

    if row.locked_at is not None:
        # Only with the right password and code: a wrong guess gets the same 401 as ever.
        return refused("locked", HubError(423, LOCKED))
    if not _accept_step(connection, user_id, step):
        # The right code, seen before: a replayed or doubly submitted code (RFC 6238, 5.2).
        return LoginOutcome(None, _refuse(connection, attempt, now=now, outcome="code_reused"))
    refusal = training_error(row, now=now)
    if refusal is not None:
        return refused("training_expired", refusal)
    device_id = None
    if attempt.device_id:
        device = connection.execute(_DEVICE_STATE, {"device_id": attempt.device_id}).first()
        if device is not None and int(device.user_id) == user_id:
            if device.revoked_at is not None:
                return refused(
                    "device_revoked", forbidden(DEVICE_REVOKED, ErrorKind.DEVICE_REVOKED)
                )
            device_id = attempt.device_id
    connection.execute(
        failed_sign_ins.delete().where(
            failed_sign_ins.c.username == attempt.username,
            failed_sign_ins.c.address == attempt.address,
        )
    )
    session_id = _start_session(connection, user_id=user_id, device_id=device_id, now=now)
    token = _issue(
        connection,
        tokens,
        row,
        session_id=session_id,
        session_started_at=now,
        device_id=device_id,
        now=now,
    )
    record_hub_event(
        connection,
        action="auth.login",
        now=now,
        username=attempt.username,
        session_id=session_id,
        object_refs=refs,
        params={"device_id": device_id} if device_id else None,
    )
    return LoginOutcome(token, None)


def _accept_step(connection: Connection, user_id: int, step: int) -> bool:
    """Record the code's step unless a code of this step or a later one was accepted."""
    updated = connection.execute(
        users.update()
        .where(
            users.c.user_id == user_id,
            sa.or_(users.c.totp_last_step.is_(None), users.c.totp_last_step < step),
        )
        .values(totp_last_step=step)
    )
    return updated.rowcount == 1


def _refuse(connection: Connection, attempt: SignIn, *, now: datetime, outcome: str) -> HubError:
    """A failed sign-in: counted by name and address (to throttle), and audited."""
    connection.execute(
        failed_sign_ins.delete().where(failed_sign_ins.c.failed_at <= now - FAILED_SIGN_IN_WINDOW)
    )
    connection.execute(
        failed_sign_ins.insert().values(
            username=attempt.username, address=attempt.address, failed_at=now
        )
    )
    refs = {"username": attempt.username}
    record_hub_event(
        connection, action="auth.login", now=now, username=attempt.username, object_refs=refs,
        params={"address": attempt.address}, outcome=outcome,
    )  # fmt: skip
    wait = throttle_wait(connection, username=attempt.username, address=attempt.address, now=now)
    if wait is not None:
        # This failure reached a limit: audited once (the throttled tries write nothing).
        record_hub_event(
            connection, action="auth.throttle", now=now, username=attempt.username,
            object_refs=refs, params={"address": attempt.address, "seconds": wait},
        )  # fmt: skip
    return unauthorized(CODE_USED if outcome == "code_reused" else WRONG_CREDENTIALS)


def lock_account(
    connection: Connection, *, username: str, now: datetime, by: str, session_id: str = ""
) -> bool:
    """An administrator locks an account: its sessions end at once; audited."""
    row = connection.execute(
        sa.select(users.c.user_id, users.c.locked_at).where(users.c.username == username)
    ).first()
    if row is None:
        return False
    if row.locked_at is None:
        connection.execute(
            users.update().where(users.c.user_id == row.user_id).values(locked_at=now)
        )
    ended = end_sessions(
        connection, sessions.c.user_id == row.user_id, reason=EndReason.LOCKED, now=now
    )
    record_hub_event(
        connection,
        action="auth.lock",
        now=now,
        username=by,
        session_id=session_id,
        object_refs={"username": username},
        params={"sessions_ended": ended},
    )
    return True


def release_lock(
    connection: Connection, *, username: str, now: datetime, by: str, session_id: str = ""
) -> bool:
    """An administrator releases a locked account and its throttle (also used by the
    CLI); audited."""
    row = connection.execute(
        sa.select(users.c.user_id, users.c.locked_at).where(users.c.username == username)
    ).first()
    if row is None:
        return False
    connection.execute(users.update().where(users.c.user_id == row.user_id).values(locked_at=None))
    connection.execute(failed_sign_ins.delete().where(failed_sign_ins.c.username == username))
    record_hub_event(
        connection,
        action="auth.unlock",
        now=now,
        username=by,
        session_id=session_id,
        object_refs={"username": username},
        params={"was_locked": row.locked_at is not None},
    )
    return True


# refresh and sign-out -----------------------------------------------------------------
def refresh(
    connection: Connection,
    tokens: TokenService,
    *,
    refresh_token: str,
    now: datetime,
    device_header: str | None = None,
) -> LoginOutcome:
    """Rotate a refresh token: the old one is revoked, the session keeps its start.

    A refusal is returned (not raised) so that revoking a reused session commits.
    """
    try:
        token = _refresh(
            connection, tokens, refresh_token=refresh_token, now=now, device_header=device_header
        )
    except HubError as refusal:
        return LoginOutcome(None, refusal)
    return LoginOutcome(token, None)


def _refresh(
    connection: Connection,
    tokens: TokenService,
    *,
    refresh_token: str,
    now: datetime,
    device_header: str | None,
) -> TokenPublic:
    stored = connection.execute(
        sa.select(refresh_tokens).where(refresh_tokens.c.token_hash == token_digest(refresh_token))
    ).first()
    if stored is None:
        raise unauthorized(SESSION_OVER)
    if stored.revoked_at is not None:
        state = load_session(connection, stored.session_id)
        if state is not None and state.end_reason is not None:
            raise _ended_error(state.end_reason)  # ended already: nothing more to end
        # A revoked token presented again: someone may hold a copy; end the session.
        record_hub_event(
            connection,
            action="auth.refresh",
            now=now,
            session_id=stored.session_id,
            outcome="reused_token_session_revoked",
        )
        end_sessions(
            connection,
            sessions.c.session_id == stored.session_id,
            reason=EndReason.TOKEN_REUSED,
            now=now,
        )
        raise unauthorized(SESSION_OVER)
    if now >= stored.session_started_at + SESSION_LIFETIME:
        raise unauthorized("Your 12-hour session has ended; sign in again.")
    state = load_session(connection, stored.session_id)
    if state is None:
        raise unauthorized(SESSION_OVER)
    refuse_unless_active(
        state,
        device_header=device_header,
        device_revoked=lambda device_id: device_revoked(connection, device_id),
        now=now,
    )
    row = connection.execute(sa.select(users).where(users.c.user_id == stored.user_id)).one()
    connection.execute(
        refresh_tokens.update()
        .where(refresh_tokens.c.token_id == stored.token_id)
        .values(revoked_at=now)
    )
    token = _issue(
        connection,
        tokens,
        row,
        session_id=stored.session_id,
        session_started_at=stored.session_started_at,
        device_id=state.device_id,
        now=now,
    )
    record_hub_event(
        connection,
        action="auth.refresh",
        now=now,
        username=row.username,
        session_id=stored.session_id,
    )
    return token


def logout(connection: Connection, *, refresh_token: str, now: datetime) -> None:
    """End the refresh token's session: its access tokens stop answering at once."""
    stored = connection.execute(
        sa.select(refresh_tokens.c.session_id, refresh_tokens.c.user_id).where(
            refresh_tokens.c.token_hash == token_digest(refresh_token)
        )
    ).first()
    if stored is None:
        return
    end_sessions(
        connection,
        sessions.c.session_id == stored.session_id,
        reason=EndReason.SIGNED_OUT,
        now=now,
    )
    name = connection.execute(
        sa.select(users.c.username).where(users.c.user_id == stored.user_id)
    ).scalar_one_or_none()
    record_hub_event(
        connection, action="auth.logout", now=now, username=name or "", session_id=stored.session_id
    )


# devices ------------------------------------------------------------------------------
def register_device(
    connection: Connection,
    *,
    user_id: int,
    username: str,
    session_id: str,
    name: str,
    public_key: str | None,
    now: datetime,
) -> DevicePublic:
    """Register the caller's workstation; a session not yet bound to a device is bound
    to it (a session stays bound to the first device it registered or signed in from)."""
    device_id = uuid.uuid4().hex
    connection.execute(
        devices.insert().values(
            device_id=device_id,
            user_id=user_id,
            name=name,
            public_key=public_key,
            registered_at=now,
        )
    )
    connection.execute(
        chain_heads.insert().values(device_id=device_id, last_seq=0, last_hash="0" * 64)
    )
    connection.execute(
        sessions.update()
        .where(sessions.c.session_id == session_id, sessions.c.device_id.is_(None))
        .values(device_id=device_id)
    )
    record_hub_event(
        connection,
        action="device.register",
        now=now,
        username=username,
        session_id=session_id,
        object_refs={"device_id": device_id},
        params={"name": name},
    )
    return DevicePublic(device_id=device_id, name=name, registered_at=now)


def end_device_sessions(connection: Connection, *, device_id: str, now: datetime) -> int:
    """A revoked device: every session opened from it or bound to it ends."""
    return end_sessions(
        connection, sessions.c.device_id == device_id, reason=EndReason.DEVICE_REVOKED, now=now
    )
