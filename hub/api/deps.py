"""Request dependencies as Annotated aliases: the hub context, the clock, the caller."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.core.schemas import Role
from hub.context import HubContext
from hub.core.db import Database
from hub.db.tables import users
from hub.errors import HubError, unauthorized
from hub.slices import Caller

_bearer = HTTPBearer(auto_error=False, description="The access token from /api/v1/auth/login")

SIGN_IN_FIRST = "Sign in first: this request needs a valid access token."


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
) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized(SIGN_IN_FIRST)
    claims = context.tokens.check(credentials.credentials, now=now)
    if claims is None:
        raise unauthorized("Your access token is not valid or has expired; refresh it or sign in.")
    with context.database.read() as connection:
        row: Any = connection.execute(
            sa.select(users.c.user_id, users.c.username, users.c.role, users.c.locked_at).where(
                users.c.user_id == claims.user_id
            )
        ).first()
    if row is None or row.username != claims.username:
        raise unauthorized(SIGN_IN_FIRST)
    if row.locked_at is not None:
        raise HubError(423, "This account is locked; ask an administrator to release it.")
    return Caller(
        user_id=int(row.user_id),
        username=row.username,
        role=Role(row.role),
        session_id=claims.session_id,
    )


CurrentUser = Annotated[Caller, Depends(get_current_user)]


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error replies of a route (all ErrorPublic)."""
    from app.core.schemas import ErrorPublic

    return {code: {"model": ErrorPublic} for code in (401, *codes)}
