"""Sign-in, token refresh and sign-out.

Sign-in takes the same time and gives the same answer whatever was wrong (unknown
user, wrong password, wrong code, a locked account): the password is checked against
a dummy hash when the user does not exist. The password hash runs outside any
transaction; the write transaction that follows only records the outcome. Failed
sign-ins throttle further tries (hub.sign_in_throttle). A sign-in opens a session
(hub.sessions); a refresh rotates its refresh token; a sign-out ends it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.errors import ErrorKind
from app.core.policy import ACCESS_TOKEN_LIFETIME, SESSION_LIFETIME, TOTP_CODE_USED
from app.core.schemas import TokenPublic
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
from hub.db.tables import refresh_tokens, sessions, users
from hub.errors import HubError, forbidden, unauthorized
from hub.sessions import (
    DEVICE_REVOKED,
    DEVICE_STATE,
    LOCKED,
    SESSION_OVER,
    EndReason,
    device_revoked,
    end_sessions,
    ended_error,
    load_session,
    refuse_unless_active,
    start_session,
)
from hub.sign_in_throttle import Throttled, forget_failures, record_failure, throttle_wait
from hub.users import training_error, user_public

log = logging.getLogger(__name__)

WRONG_CREDENTIALS = "Wrong user name, password or code."
CODE_USED = TOTP_CODE_USED


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


def issue_tokens(
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
        device = connection.execute(DEVICE_STATE, {"device_id": attempt.device_id}).first()
        if device is not None and int(device.user_id) == user_id:
            if device.revoked_at is not None:
                return refused(
                    "device_revoked", forbidden(DEVICE_REVOKED, ErrorKind.DEVICE_REVOKED)
                )
            device_id = attempt.device_id
    forget_failures(connection, username=attempt.username, address=attempt.address)
    session_id = start_session(connection, user_id=user_id, device_id=device_id, now=now)
    token = issue_tokens(
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
    record_failure(connection, username=attempt.username, address=attempt.address, now=now)
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
            raise ended_error(state.end_reason)  # ended already: nothing more to end
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
    token = issue_tokens(
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
