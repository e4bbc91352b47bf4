"""Sign-in, token refresh, sign-out, and who am I."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Response

from app.core.schemas import LoginRequest, RefreshRequest, TokenPublic, UserPublic
from hub import accounts
from hub.api.deps import ContextDep, CurrentUser, NowDep, error_responses
from hub.db.tables import users

router = APIRouter(tags=["auth"])


@router.post("/auth/login", response_model=TokenPublic, responses=error_responses(403, 423))
def login(body: LoginRequest, context: ContextDep, now: NowDep) -> TokenPublic:
    with context.database.write() as connection:
        outcome = accounts.login(
            connection,
            context.passwords,
            context.tokens,
            username=body.username,
            password=body.password,
            code=body.totp,
            now=now,
            totp_drift_steps=context.settings.totp_drift_steps,
        )
    if outcome.error is not None:
        raise outcome.error
    assert outcome.token is not None
    return outcome.token


@router.post("/auth/refresh", response_model=TokenPublic, responses=error_responses(423))
def refresh(body: RefreshRequest, context: ContextDep, now: NowDep) -> TokenPublic:
    with context.database.write() as connection:
        outcome = accounts.refresh(
            connection, context.tokens, refresh_token=body.refresh_token, now=now
        )
    if outcome.error is not None:
        raise outcome.error
    assert outcome.token is not None
    return outcome.token


@router.post("/auth/logout", status_code=204, response_class=Response)
def logout(body: RefreshRequest, context: ContextDep, now: NowDep) -> Response:
    with context.database.write() as connection:
        accounts.logout(connection, refresh_token=body.refresh_token, now=now)
    return Response(status_code=204)


@router.get("/me", response_model=UserPublic, responses=error_responses())
def me(caller: CurrentUser, context: ContextDep) -> UserPublic:
    with context.database.read() as connection:
        row = connection.execute(sa.select(users).where(users.c.user_id == caller.user_id)).one()
    return accounts.user_public(row)
