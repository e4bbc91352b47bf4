"""Request dependencies as Annotated aliases: the hub context, the clock, the caller."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.core.schemas import Role
from hub.context import HubContext
from hub.core.db import Database
from hub.core.security import token_digest
from hub.db.tables import feed_tokens
from hub.errors import forbidden, unauthorized
from hub.sessions import SESSIONS, SIGN_IN_FIRST
from hub.slices import Caller

_bearer = HTTPBearer(auto_error=False, description="The access token from /api/v1/auth/login")

DEVICE_HEADER = "X-Platedesk-Device"
MAX_ROW_ID = 2**63 - 1  # the largest 64-bit integer the databases store: bound every id and count
ADMIN_ONLY = "Only an administrator may do this."
FEED_TOKEN_FIRST = "This route takes a camera feed token: Authorization: Bearer <feed token>."  # noqa: S105 (a message)


def get_context(request: Request) -> HubContext:
    context: HubContext = request.app.state.hub
    return context


ContextDep = Annotated[HubContext, Depends(get_context)]


def get_database(context: ContextDep) -> Database:
    return context.database


DatabaseDep = Annotated[Database, Depends(get_database)]


def get_now(context: ContextDep) -> datetime:
    return context.clock()


NowDep = Annotated[datetime, Depends(get_now)]


def get_current_user(
    context: ContextDep,
    now: NowDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    device_header: Annotated[
        str | None,
        Header(
            alias=DEVICE_HEADER,
            max_length=64,
            description="The calling workstation's device id; a revoked device gets 403.",
        ),
    ] = None,
) -> Caller:
    """The signed-in caller: a valid access token whose session is still live (not
    signed out, locked or revoked), of a user whose training is current, from the
    workstation the session is bound to (hub.sessions.SessionCache: seconds stale)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized(SIGN_IN_FIRST)
    claims = context.tokens.check(credentials.credentials, now=now)
    if claims is None:
        raise unauthorized("Your access token is not valid or has expired; refresh it or sign in.")
    state = SESSIONS.check(context.database, claims, device_header=device_header, now=now)
    return Caller(
        user_id=state.user_id,
        username=state.username,
        role=Role(state.role),
        session_id=claims.session_id,
    )


CurrentUser = Annotated[Caller, Depends(get_current_user)]


def get_admin(caller: CurrentUser) -> Caller:
    if caller.role is not Role.ADMIN:
        raise forbidden(ADMIN_ONLY)
    return caller


AdminUser = Annotated[Caller, Depends(get_admin)]


@dataclass(frozen=True)
class Feed:
    feed_id: str
    name: str
    camera_id: str | None  # None: any registered camera


def get_feed(
    context: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Feed:
    """The camera feed a feed token belongs to; 401 for anything else (user tokens too)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized(FEED_TOKEN_FIRST)
    with context.database.read() as connection:
        row: Any = connection.execute(
            sa.select(feed_tokens).where(
                feed_tokens.c.token_hash == token_digest(credentials.credentials)
            )
        ).first()
    if row is None:
        raise unauthorized(FEED_TOKEN_FIRST)
    if row.revoked_at is not None:
        raise forbidden("This camera feed's token has been revoked; ask an administrator.")
    return Feed(feed_id=row.feed_id, name=row.name, camera_id=row.camera_id)


CameraFeed = Annotated[Feed, Depends(get_feed)]


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error replies of a route (all ErrorPublic)."""
    from app.core.schemas import ErrorPublic

    return {code: {"model": ErrorPublic} for code in (401, *codes)}
