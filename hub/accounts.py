"""Users, sign-in, sessions and devices.

Sign-in takes the same time and gives the same answer whatever was wrong (unknown
user, wrong password, wrong code): the password is checked against a dummy hash
when the user does not exist. Five failures within 15 minutes lock the account.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.policy import (
    ACCESS_TOKEN_LIFETIME,
    FAILED_SIGN_IN_WINDOW,
    MAX_FAILED_SIGN_INS,
    SESSION_LIFETIME,
    TOTP_CODE_USED,
)
from app.core.schemas import DevicePublic, Role, TokenPublic, UserPublic
from hub.audit import record_hub_event
from hub.core.security import (
    AccessClaims,
    PasswordService,
    TokenService,
    new_refresh_token,
    token_digest,
    totp_step,
)
from hub.db.tables import chain_heads, devices, refresh_tokens, sign_in_failures, users
from hub.errors import HubError, unauthorized
from hub.passwords import password_problem

log = logging.getLogger(__name__)

WRONG_CREDENTIALS = "Wrong user name, password or code."
LOCKED = (
    "This account is locked after repeated failed sign-ins; ask an administrator to release it."
)
SESSION_OVER = "Your session has ended; sign in again."
CODE_USED = TOTP_CODE_USED


@dataclass(frozen=True)
class LoginOutcome:
    """Either tokens or a refusal; the refusal is raised after its audit event commits."""

    token: TokenPublic | None
    error: HubError | None


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


def _issue(
    connection: Connection,
    tokens: TokenService,
    row: Any,
    *,
    session_id: str,
    session_started_at: datetime,
    now: datetime,
) -> TokenPublic:
    refresh = new_refresh_token()
    connection.execute(
        refresh_tokens.insert().values(
            token_hash=token_digest(refresh),
            user_id=row.user_id,
            session_id=session_id,
            session_started_at=session_started_at,
            created_at=now,
        )
    )
    access = tokens.issue(AccessClaims(int(row.user_id), row.username, session_id), now=now)
    return TokenPublic(
        access_token=access,
        refresh_token=refresh,
        expires_in=int(ACCESS_TOKEN_LIFETIME.total_seconds()),
        session_expires_at=session_started_at + SESSION_LIFETIME,
        user=user_public(row),
    )


def login(
    connection: Connection,
    passwords: PasswordService,
    tokens: TokenService,
    *,
    username: str,
    password: str,
    code: str,
    now: datetime,
    totp_drift_steps: int = 1,
) -> LoginOutcome:
    """Check password and code; records the attempt in the audit log either way."""
    row = connection.execute(sa.select(users).where(users.c.username == username)).first()
    password_ok = passwords.verify(row.password_hash if row is not None else None, password)
    step = (
        totp_step(row.totp_secret, code, at=now, drift=totp_drift_steps)
        if row is not None
        else None
    )
    refs = {"username": username}
    if row is not None and row.locked_at is not None:
        record_hub_event(
            connection,
            action="auth.login",
            now=now,
            username=username,
            object_refs=refs,
            outcome="locked",
        )
        return LoginOutcome(None, HubError(423, LOCKED))
    if row is None or not password_ok or step is None:
        return LoginOutcome(None, _refuse(connection, row, refs, now=now, outcome="refused"))
    if not _accept_step(connection, int(row.user_id), step):
        # The right code, seen before: a replayed or doubly submitted code (RFC 6238, 5.2).
        return LoginOutcome(None, _refuse(connection, row, refs, now=now, outcome="code_reused"))
    refusal = training_error(row, now=now)
    if refusal is not None:
        record_hub_event(
            connection,
            action="auth.login",
            now=now,
            username=username,
            object_refs=refs,
            outcome="training_expired",
        )
        return LoginOutcome(None, refusal)
    connection.execute(sign_in_failures.delete().where(sign_in_failures.c.user_id == row.user_id))
    session_id = uuid.uuid4().hex
    token = _issue(connection, tokens, row, session_id=session_id, session_started_at=now, now=now)
    record_hub_event(
        connection,
        action="auth.login",
        now=now,
        username=username,
        session_id=session_id,
        object_refs=refs,
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


def _refuse(
    connection: Connection, row: Any, refs: dict[str, str], *, now: datetime, outcome: str
) -> HubError:
    """A failed sign-in: counted (five in 15 minutes lock the account) and audited."""
    username = refs["username"]
    if row is not None:
        connection.execute(sign_in_failures.insert().values(user_id=row.user_id, failed_at=now))
        failures = connection.execute(
            sa.select(sa.func.count()).where(
                sign_in_failures.c.user_id == row.user_id,
                sign_in_failures.c.failed_at > now - FAILED_SIGN_IN_WINDOW,
            )
        ).scalar_one()
        if failures >= MAX_FAILED_SIGN_INS:
            connection.execute(
                users.update().where(users.c.user_id == row.user_id).values(locked_at=now)
            )
            record_hub_event(
                connection,
                action="auth.lock",
                now=now,
                username=username,
                object_refs=refs,
                params={"failures": int(failures)},
            )
    record_hub_event(
        connection, action="auth.login", now=now, username=username, object_refs=refs,
        outcome=outcome,
    )  # fmt: skip
    return unauthorized(CODE_USED if outcome == "code_reused" else WRONG_CREDENTIALS)


def release_lock(
    connection: Connection, *, username: str, now: datetime, by: str, session_id: str = ""
) -> bool:
    """An administrator releases a locked account (also used by the CLI); audited."""
    row = connection.execute(
        sa.select(users.c.user_id, users.c.locked_at).where(users.c.username == username)
    ).first()
    if row is None:
        return False
    connection.execute(users.update().where(users.c.user_id == row.user_id).values(locked_at=None))
    connection.execute(sign_in_failures.delete().where(sign_in_failures.c.user_id == row.user_id))
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


def refresh(
    connection: Connection, tokens: TokenService, *, refresh_token: str, now: datetime
) -> LoginOutcome:
    """Rotate a refresh token: the old one is revoked, the session keeps its start.

    A refusal is returned (not raised) so that revoking a reused session commits.
    """
    try:
        token = _refresh(connection, tokens, refresh_token=refresh_token, now=now)
    except HubError as refusal:
        return LoginOutcome(None, refusal)
    return LoginOutcome(token, None)


def _refresh(
    connection: Connection, tokens: TokenService, *, refresh_token: str, now: datetime
) -> TokenPublic:
    stored = connection.execute(
        sa.select(refresh_tokens).where(refresh_tokens.c.token_hash == token_digest(refresh_token))
    ).first()
    if stored is None:
        raise unauthorized(SESSION_OVER)
    if stored.revoked_at is not None:
        # A revoked token presented again: someone may hold a copy; end the session.
        record_hub_event(
            connection,
            action="auth.refresh",
            now=now,
            session_id=stored.session_id,
            outcome="reused_token_session_revoked",
        )
        connection.execute(
            refresh_tokens.update()
            .where(
                refresh_tokens.c.session_id == stored.session_id,
                refresh_tokens.c.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        raise unauthorized(SESSION_OVER)
    if now >= stored.session_started_at + SESSION_LIFETIME:
        raise unauthorized("Your 12-hour session has ended; sign in again.")
    row = connection.execute(sa.select(users).where(users.c.user_id == stored.user_id)).first()
    if row is None:
        raise unauthorized(SESSION_OVER)
    if row.locked_at is not None:
        raise HubError(423, LOCKED)
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
    stored = connection.execute(
        sa.select(refresh_tokens.c.session_id, refresh_tokens.c.user_id).where(
            refresh_tokens.c.token_hash == token_digest(refresh_token)
        )
    ).first()
    if stored is None:
        return
    connection.execute(
        refresh_tokens.update()
        .where(
            refresh_tokens.c.session_id == stored.session_id, refresh_tokens.c.revoked_at.is_(None)
        )
        .values(revoked_at=now)
    )
    name = connection.execute(
        sa.select(users.c.username).where(users.c.user_id == stored.user_id)
    ).scalar_one_or_none()
    record_hub_event(
        connection, action="auth.logout", now=now, username=name or "", session_id=stored.session_id
    )


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


DEVICE_REVOKED = "This device has been revoked by the agency; its cache must be wiped."


def session_problem(
    connection: Connection, *, user_id: int, session_id: str, device_id: str | None
) -> str | None:
    """Why a signed-in session may no longer receive data, or None while it may.

    An access token stays valid for its 15 minutes; a long-lived response (the alert
    stream) asks this again as it runs: the account locked, the session signed out
    (no refresh token of it left unrevoked), or the device revoked.
    """
    locked = connection.execute(
        sa.select(users.c.locked_at).where(users.c.user_id == user_id)
    ).first()
    if locked is None:
        return SESSION_OVER
    if locked[0] is not None:
        return LOCKED
    live = connection.execute(
        sa.select(refresh_tokens.c.token_id)
        .where(refresh_tokens.c.session_id == session_id, refresh_tokens.c.revoked_at.is_(None))
        .limit(1)
    ).first()
    if live is None:
        return SESSION_OVER
    if device_id and device_revoked(connection, device_id):
        return DEVICE_REVOKED
    return None


def device_revoked(connection: Connection, device_id: str) -> bool:
    revoked_at = connection.execute(
        sa.select(devices.c.revoked_at).where(devices.c.device_id == device_id)
    ).first()
    return revoked_at is not None and revoked_at[0] is not None
