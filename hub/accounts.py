"""Account locks and devices.

The rest of what was once here lives by concept: users (hub.users), sessions and
their checks (hub.sessions), sign-in, refresh and sign-out (hub.sign_in), and
sign-in throttling (hub.sign_in_throttle).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.schemas import DevicePublic
from hub import notify as notify_channels
from hub.audit import record_hub_event
from hub.db.tables import chain_heads, devices, sessions, users
from hub.notify import notify
from hub.sessions import EndReason, end_sessions
from hub.sign_in_throttle import forget_failures


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
    notify(connection, notify_channels.SESSIONS)
    row = connection.execute(
        sa.select(users.c.user_id, users.c.locked_at).where(users.c.username == username)
    ).first()
    if row is None:
        return False
    connection.execute(users.update().where(users.c.user_id == row.user_id).values(locked_at=None))
    forget_failures(connection, username=username)
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
    notify(connection, notify_channels.SESSIONS)  # the session is bound to the device
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
