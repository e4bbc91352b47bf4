"""Administration routes (admin role only): users, locks, training, devices, cameras, feeds."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Path, Response

from app.core.schemas import (
    CameraPublic,
    DeviceStatusPublic,
    FeedTokenCreate,
    FeedTokenPublic,
    TrainingUpdate,
    UserCreate,
    UserCreatedPublic,
    UserPublic,
)
from hub import accounts, admin
from hub.api.deps import AdminUser, ContextDep, NowDep, error_responses
from hub.db.tables import users
from hub.errors import HubError

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
        return accounts.user_public(row)


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
        return admin.set_training(
            connection,
            username=username,
            valid_until=body.training_valid_until,
            by=caller.username,
            session_id=caller.session_id,
            now=now,
        )


@router.post(
    "/devices/{device_id}/revoke",
    response_model=DeviceStatusPublic,
    responses=error_responses(403, 404),
)
def revoke_device(
    caller: AdminUser, context: ContextDep, now: NowDep, device_id: Identifier
) -> DeviceStatusPublic:
    with context.database.write() as connection:
        return admin.revoke_device(
            connection,
            device_id=device_id,
            by=caller.username,
            session_id=caller.session_id,
            now=now,
        )


@router.post(
    "/cameras",
    response_model=CameraPublic,
    status_code=201,
    responses=error_responses(403, 409, 422),
)
def add_camera(
    body: CameraPublic, caller: AdminUser, context: ContextDep, now: NowDep
) -> CameraPublic:
    with context.database.write() as connection:
        return admin.register_camera(
            connection, body, by=caller.username, session_id=caller.session_id, now=now
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
