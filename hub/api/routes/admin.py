"""Administration routes (admin role only): users, units, locks, training, devices, cameras,
feeds and the flag policy."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Body, Path, Response

from app.core.errors import KnownError
from app.core.flag_rules import FlagPolicy
from app.core.schemas import (
    CameraCreate,
    CameraPublic,
    DeviceStatusPublic,
    FeedTokenCreate,
    FeedTokenPublic,
    TrainingUpdate,
    UserCreate,
    UserCreatedPublic,
    UserPublic,
    UserUnitUpdate,
)
from hub import accounts, admin, flag_policy
from hub.api.deps import AdminUser, ContextDep, NowDep, error_responses
from hub.db.tables import users
from hub.errors import HubError
from hub.flag_policy import load_policy
from hub.sessions import invalidate_sessions
from hub.users import user_public

router = APIRouter(prefix="/admin", tags=["admin"])

Username = Annotated[str, Path(min_length=1, max_length=64)]
Identifier = Annotated[str, Path(min_length=1, max_length=64)]


@router.post(
    "/users",
    response_model=UserCreatedPublic,
    status_code=201,
    responses=error_responses(403, 409, 422),
)
def create_user(
    body: UserCreate, caller: AdminUser, context: ContextDep, now: NowDep
) -> UserCreatedPublic:
    with context.database.write() as connection:
        return admin.add_user(
            connection,
            context.passwords,
            body,
            by=caller.username,
            session_id=caller.session_id,
            now=now,
        )


@router.post(
    "/users/{username}/lock", response_model=UserPublic, responses=error_responses(403, 404)
)
def lock_user(
    caller: AdminUser, context: ContextDep, now: NowDep, username: Username
) -> UserPublic:
    """Lock an account: every session of it ends at once (its tokens answer 423)."""
    with context.database.write() as connection:
        found = accounts.lock_account(
            connection, username=username, now=now, by=caller.username, session_id=caller.session_id
        )
        if not found:
            raise HubError(404, f"No user named {username}; check the user name.")
        row = connection.execute(sa.select(users).where(users.c.username == username)).one()
    invalidate_sessions()
    return user_public(row)


@router.post(
    "/users/{username}/unlock", response_model=UserPublic, responses=error_responses(403, 404)
)
def unlock_user(
    caller: AdminUser, context: ContextDep, now: NowDep, username: Username
) -> UserPublic:
    with context.database.write() as connection:
        released = accounts.release_lock(
            connection, username=username, now=now, by=caller.username, session_id=caller.session_id
        )
        if not released:
            raise HubError(404, f"No user named {username}; check the user name.")
        row = connection.execute(sa.select(users).where(users.c.username == username)).one()
    invalidate_sessions()
    return user_public(row)


@router.put(
    "/users/{username}/training",
    response_model=UserPublic,
    responses=error_responses(403, 404, 422),
)
def set_training(
    body: TrainingUpdate,
    caller: AdminUser,
    context: ContextDep,
    now: NowDep,
    username: Username,
) -> UserPublic:
    with context.database.write() as connection:
        user = admin.set_training(
            connection,
            username=username,
            valid_until=body.training_valid_until,
            by=caller.username,
            session_id=caller.session_id,
            now=now,
        )
    invalidate_sessions()  # an expired training ends access at the next request
    return user


@router.put(
    "/users/{username}/unit",
    response_model=UserPublic,
    responses=error_responses(403, 404, 422),
)
def set_unit(
    body: UserUnitUpdate,
    caller: AdminUser,
    context: ContextDep,
    now: NowDep,
    username: Username,
) -> UserPublic:
    with context.database.write() as connection:
        return admin.set_unit(
            connection,
            username=username,
            unit=body.unit,
            by=caller.username,
            session_id=caller.session_id,
            now=now,
        )


@router.get("/policy", response_model=FlagPolicy, responses=error_responses(403, 422))
def read_policy(_caller: AdminUser, context: ContextDep) -> FlagPolicy:
    """The flag rules' thresholds (the policy file in the data folder, or the defaults)."""
    try:
        return load_policy(context.settings.data_dir)
    except KnownError as exc:
        raise HubError(422, str(exc)) from None


@router.patch("/policy", response_model=FlagPolicy, responses=error_responses(403, 422))
def change_policy(
    changes: Annotated[dict[str, Any], Body(examples=[{"max_window_days": 5}])],
    caller: AdminUser,
    context: ContextDep,
    now: NowDep,
) -> FlagPolicy:
    """Change some thresholds (validated together; audited with old and new values)."""
    try:
        with context.database.write() as connection:
            return flag_policy.change_policy(
                connection,
                context.settings.data_dir,
                changes,
                by=caller.username,
                session_id=caller.session_id,
                now=now,
            )
    except HubError:
        raise
    except KnownError as exc:
        raise HubError(422, str(exc)) from None


@router.post(
    "/devices/{device_id}/revoke",
    response_model=DeviceStatusPublic,
    responses=error_responses(403, 404),
)
def revoke_device(
    caller: AdminUser, context: ContextDep, now: NowDep, device_id: Identifier
) -> DeviceStatusPublic:
    with context.database.write() as connection:
        status = admin.revoke_device(
            connection,
            device_id=device_id,
            by=caller.username,
            session_id=caller.session_id,
            now=now,
        )
    invalidate_sessions()
    return status


@router.post(
    "/cameras",
    response_model=CameraPublic,
    status_code=201,
    responses=error_responses(403, 409, 422),
)
def add_camera(
    body: CameraCreate, caller: AdminUser, context: ContextDep, now: NowDep
) -> CameraPublic:
    with context.database.write() as connection:
        return admin.register_camera(
            connection,
            CameraPublic(**body.model_dump()),
            by=caller.username,
            session_id=caller.session_id,
            now=now,
        )


@router.post(
    "/feeds",
    response_model=FeedTokenPublic,
    status_code=201,
    responses=error_responses(403, 422),
)
def create_feed(
    body: FeedTokenCreate, caller: AdminUser, context: ContextDep, now: NowDep
) -> FeedTokenPublic:
    with context.database.write() as connection:
        return admin.create_feed_token(
            connection, body, by=caller.username, session_id=caller.session_id, now=now
        )


@router.post(
    "/feeds/{feed_id}/revoke",
    status_code=204,
    response_class=Response,
    responses=error_responses(403, 404),
)
def revoke_feed(
    caller: AdminUser, context: ContextDep, now: NowDep, feed_id: Identifier
) -> Response:
    with context.database.write() as connection:
        admin.revoke_feed(
            connection, feed_id=feed_id, by=caller.username, session_id=caller.session_id, now=now
        )
    return Response(status_code=204)
