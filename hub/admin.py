"""Administration: users, units, locks, training dates, devices, cameras and feed tokens.

A user may belong to a partner agency (UserCreate.partner_agency): their slices
then await a supervisor's approval (hub.partners).

Every change is a hub audit event naming the administrator (`admin.*`, and
`auth.unlock` for a released lock).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import date, datetime
from typing import Any

import pyotp
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.schemas import (
    CameraPublic,
    DeviceStatusPublic,
    FeedTokenCreate,
    FeedTokenPublic,
    Role,
    UserCreate,
    UserCreatedPublic,
    UserPublic,
)
from hub.accounts import end_device_sessions, lock_account, release_lock
from hub.audit import record_hub_event
from hub.catalog import add_camera
from hub.core.security import PasswordService, token_digest
from hub.db.tables import cameras, devices, feed_tokens, sessions, users
from hub.errors import HubError
from hub.notify import SESSIONS, notify
from hub.sessions import EndReason, end_sessions
from hub.users import create_user, user_public

TOTP_ISSUER = "Platedesk hub"


ADMIN_NEEDS_TRAINING = (
    "An administrator needs current ALPR training too (they see the audit trail, hotlists "
    "and every user); give a training date from today on."
)


def _admin_check_training(
    connection: Connection, *, user_id: int | None, valid_until: date | None, now: datetime
) -> None:
    """Administrators sign in only with current training, as everyone does; so a training
    date that would leave no unlocked administrator with current training is refused
    (the last one setting their own date in the past locked everyone out of the API)."""
    today = now.date()
    if valid_until is not None and valid_until >= today:
        return
    if user_id is None:  # a new administrator who could not sign in
        raise HubError(422, ADMIN_NEEDS_TRAINING)
    others = connection.execute(
        sa.select(sa.func.count())
        .select_from(users)
        .where(
            users.c.role == Role.ADMIN.value,
            users.c.user_id != user_id,
            users.c.locked_at.is_(None),
            users.c.training_valid_until >= today,
        )
    ).scalar_one()
    if not others:
        raise HubError(
            409,
            "This would leave no administrator able to sign in: no other unlocked "
            "administrator has current ALPR training. Record another administrator's "
            "training first, or give a date from today on.",
        )


def _user_row(connection: Connection, username: str) -> Any:
    row = connection.execute(sa.select(users).where(users.c.username == username)).first()
    if row is None:
        raise HubError(404, f"No user named {username}; check the user name.")
    return row


def add_user(
    connection: Connection,
    passwords: PasswordService,
    body: UserCreate,
    *,
    by: str,
    session_id: str = "",
    now: datetime,
) -> UserCreatedPublic:
    """Create a user with a fresh TOTP secret; 409 when the name is taken.

    A partner agency's user is never an administrator (422).
    """
    partner = body.partner_agency.strip() if body.partner_agency is not None else None
    if partner == "":
        raise HubError(422, "The partner agency is empty; name the agency, or leave it out.")
    if partner is not None and body.role is Role.ADMIN:
        raise HubError(
            422, "A partner agency's user cannot be an administrator of this hub; pick a role."
        )
    taken = connection.execute(
        sa.select(users.c.user_id).where(users.c.username == body.username)
    ).first()
    if taken is not None:
        raise HubError(409, f"A user named {body.username} already exists.")
    if body.role is Role.ADMIN:
        _admin_check_training(
            connection, user_id=None, valid_until=body.training_valid_until, now=now
        )
    secret = pyotp.random_base32()
    create_user(
        connection,
        passwords,
        username=body.username,
        password=body.password,
        role=body.role,
        totp_secret=secret,
        now=now,
        display_name=body.display_name,
        training_valid_until=body.training_valid_until,
        unit=body.unit,
        partner_agency=partner,
    )
    record_hub_event(
        connection,
        action="admin.user_create",
        now=now,
        username=by,
        session_id=session_id,
        object_refs={"username": body.username},
        params={
            "role": body.role.value,
            "display_name": body.display_name,
            "training_valid_until": (
                body.training_valid_until.isoformat() if body.training_valid_until else None
            ),
            "unit": body.unit,
            **({"partner_agency": partner} if partner is not None else {}),
        },
    )
    row = _user_row(connection, body.username)
    user = user_public(row)
    uri = pyotp.TOTP(secret).provisioning_uri(name=body.username, issuer_name=TOTP_ISSUER)
    return UserCreatedPublic(user=user, totp_secret=secret, provisioning_uri=uri)


def set_training(
    connection: Connection,
    *,
    username: str,
    valid_until: date | None,
    by: str,
    session_id: str = "",
    now: datetime,
) -> UserPublic:
    notify(connection, SESSIONS)  # every node checks the user's sessions afresh
    row = _user_row(connection, username)
    if row.role == Role.ADMIN.value:
        _admin_check_training(
            connection, user_id=int(row.user_id), valid_until=valid_until, now=now
        )
    connection.execute(
        users.update()
        .where(users.c.user_id == row.user_id)
        .values(training_valid_until=valid_until)
    )
    record_hub_event(
        connection,
        action="admin.training_set",
        now=now,
        username=by,
        session_id=session_id,
        object_refs={"username": username},
        params={"training_valid_until": valid_until.isoformat() if valid_until else None},
    )
    return user_public(_user_row(connection, username))


def set_unit(
    connection: Connection,
    *,
    username: str,
    unit: str | None,
    by: str,
    session_id: str = "",
    now: datetime,
) -> UserPublic:
    """Put a user in a unit (None: no unit); audited with the old and new unit."""
    row = _user_row(connection, username)
    unit = unit.strip() if unit is not None else None
    if unit == "":
        raise HubError(422, "The unit name is empty; give a name, or null for no unit.")
    connection.execute(users.update().where(users.c.user_id == row.user_id).values(unit=unit))
    record_hub_event(
        connection,
        action="admin.unit_set",
        now=now,
        username=by,
        session_id=session_id,
        object_refs={"username": username},
        params={"old": row.unit, "new": unit},
    )
    return user_public(_user_row(connection, username))


def device_status(row: Any) -> DeviceStatusPublic:
    return DeviceStatusPublic(
        device_id=row.device_id,
        name=row.name,
        registered_at=row.registered_at,
        status="revoked" if row.revoked_at is not None else "active",
        revoked_at=row.revoked_at,
    )


def revoke_device(
    connection: Connection, *, device_id: str, by: str, session_id: str = "", now: datetime
) -> DeviceStatusPublic:
    """Revoke a workstation: every session opened from it or bound to it ends, every
    request naming it gets 403, and it wipes its cache."""
    row = connection.execute(sa.select(devices).where(devices.c.device_id == device_id)).first()
    if row is None:
        raise HubError(404, f"No device {device_id} is registered at this hub.")
    if row.revoked_at is None:
        connection.execute(
            devices.update().where(devices.c.device_id == device_id).values(revoked_at=now)
        )
        ended = end_device_sessions(connection, device_id=device_id, now=now)
        record_hub_event(
            connection,
            action="admin.device_revoke",
            now=now,
            username=by,
            session_id=session_id,
            object_refs={"device_id": device_id, "owner_user_id": int(row.user_id)},
            params={"sessions_ended": ended},
        )
    stored = connection.execute(sa.select(devices).where(devices.c.device_id == device_id)).one()
    return device_status(stored)


def _camera_known(connection: Connection, camera_id: str) -> bool:
    query = sa.select(cameras.c.camera_id).where(cameras.c.camera_id == camera_id)
    return connection.execute(query).first() is not None


def register_camera(
    connection: Connection, camera: CameraPublic, *, by: str, session_id: str = "", now: datetime
) -> CameraPublic:
    if _camera_known(connection, camera.camera_id):
        raise HubError(409, f"Camera {camera.camera_id} is already registered.")
    add_camera(connection, camera)
    record_hub_event(
        connection,
        action="admin.camera_add",
        now=now,
        username=by,
        session_id=session_id,
        object_refs={"camera_id": camera.camera_id},
        params=camera.model_dump(mode="json"),
    )
    return camera


def create_feed_token(
    connection: Connection, body: FeedTokenCreate, *, by: str, session_id: str = "", now: datetime
) -> FeedTokenPublic:
    """A new camera feed token (shown once, stored as its SHA-256)."""
    if body.camera_id is not None and not _camera_known(connection, body.camera_id):
        raise HubError(422, f"Unknown camera {body.camera_id}; register it first.")
    feed_id = uuid.uuid4().hex
    token = "pdf_" + secrets.token_urlsafe(32)
    connection.execute(
        feed_tokens.insert().values(
            feed_id=feed_id,
            name=body.name,
            camera_id=body.camera_id,
            token_hash=token_digest(token),
            created_at=now,
        )
    )
    record_hub_event(
        connection,
        action="admin.feed_create",
        now=now,
        username=by,
        session_id=session_id,
        object_refs={"feed_id": feed_id, "camera_id": body.camera_id},
        params={"name": body.name},
    )
    return FeedTokenPublic(feed_id=feed_id, name=body.name, camera_id=body.camera_id, token=token)


def revoke_feed(
    connection: Connection, *, feed_id: str, by: str, session_id: str = "", now: datetime
) -> None:
    row = connection.execute(
        sa.select(feed_tokens.c.revoked_at).where(feed_tokens.c.feed_id == feed_id)
    ).first()
    if row is None:
        raise HubError(404, f"No camera feed {feed_id} is registered at this hub.")
    if row.revoked_at is None:
        connection.execute(
            feed_tokens.update().where(feed_tokens.c.feed_id == feed_id).values(revoked_at=now)
        )
        record_hub_event(
            connection,
            action="admin.feed_revoke",
            now=now,
            username=by,
            session_id=session_id,
            object_refs={"feed_id": feed_id},
        )


def lock_user(
    connection: Connection, *, username: str, by: str, session_id: str = "", now: datetime
) -> UserPublic:
    """Lock an account (its sessions end at once); 404 for an unknown user; audited."""
    if not lock_account(connection, username=username, now=now, by=by, session_id=session_id):
        raise HubError(404, f"No user named {username}; check the user name.")
    return user_public(_user_row(connection, username))


def unlock_user(
    connection: Connection, *, username: str, by: str, session_id: str = "", now: datetime
) -> UserPublic:
    """Release a locked account and its sign-in throttle; 404 for an unknown user."""
    if not release_lock(connection, username=username, now=now, by=by, session_id=session_id):
        raise HubError(404, f"No user named {username}; check the user name.")
    return user_public(_user_row(connection, username))


def _end_user_sessions(connection: Connection, user_id: int, *, now: datetime) -> int:
    return end_sessions(
        connection, sessions.c.user_id == user_id, reason=EndReason.ACCOUNT_CHANGED, now=now
    )


def reset_totp(
    connection: Connection, *, username: str, by: str, session_id: str = "", now: datetime
) -> UserCreatedPublic:
    """A new TOTP secret for a user who lost their authenticator (shown this once); their
    sessions end, so the next sign-in takes a code of the new secret. Audited (never the
    secret)."""
    row = _user_row(connection, username)
    secret = pyotp.random_base32()
    connection.execute(
        users.update()
        .where(users.c.user_id == row.user_id)
        .values(totp_secret=secret, totp_last_step=None)
    )
    ended = _end_user_sessions(connection, int(row.user_id), now=now)
    record_hub_event(
        connection,
        action="admin.totp_reset",
        now=now,
        username=by,
        session_id=session_id,
        object_refs={"username": username},
        params={"sessions_ended": ended},
    )
    uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=TOTP_ISSUER)
    return UserCreatedPublic(
        user=user_public(_user_row(connection, username)), totp_secret=secret, provisioning_uri=uri
    )


def set_role(
    connection: Connection,
    *,
    username: str,
    role: Role,
    by: str,
    session_id: str = "",
    now: datetime,
) -> UserPublic:
    """Give a user another role; their sessions end (the next sign-in carries the new
    role). A partner agency's user never becomes an administrator, and the last
    administrator able to sign in keeps the role. Audited with the old and new role."""
    row = _user_row(connection, username)
    if role is Role.ADMIN and row.partner_agency is not None:
        raise HubError(
            422, "A partner agency's user cannot be an administrator of this hub; pick a role."
        )
    if role is Role.ADMIN:
        _admin_check_training(
            connection, user_id=None, valid_until=row.training_valid_until, now=now
        )
    elif row.role == Role.ADMIN.value:
        _admin_check_training(connection, user_id=int(row.user_id), valid_until=None, now=now)
    ended = 0
    if row.role != role.value:
        connection.execute(
            users.update().where(users.c.user_id == row.user_id).values(role=role.value)
        )
        ended = _end_user_sessions(connection, int(row.user_id), now=now)
    record_hub_event(
        connection,
        action="admin.role_set",
        now=now,
        username=by,
        session_id=session_id,
        object_refs={"username": username},
        params={"old": row.role, "new": role.value, "sessions_ended": ended},
    )
    return user_public(_user_row(connection, username))
