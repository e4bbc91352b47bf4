"""Sign-in, token refresh, sign-out, and who am I."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse

from app.core.schemas import LoginRequest, RefreshRequest, TokenPublic, UserPublic
from hub import sign_in
from hub.api.deps import DEVICE_HEADER, ContextDep, CurrentUser, NowDep, error_responses
from hub.db.tables import users
from hub.sessions import invalidate_sessions
from hub.sign_in_throttle import Throttled
from hub.users import user_public

router = APIRouter(tags=["auth"])

DeviceHeader = Annotated[
    str | None,
    Header(
        alias=DEVICE_HEADER,
        max_length=64,
        description="The workstation's device id: the session is bound to it.",
    ),
]


def client_address(request: Request) -> str:
    """The client's address (behind a proxy: as uvicorn's --proxy-headers gives it)."""
    return (request.client.host if request.client else "unknown")[:64]


@router.post("/auth/login", response_model=TokenPublic, responses=error_responses(403, 423, 429))
def login(
    body: LoginRequest,
    request: Request,
    context: ContextDep,
    now: NowDep,
    device_header: DeviceHeader = None,
) -> TokenPublic | JSONResponse:
    attempt = sign_in.SignIn(
        username=body.username,
        password=body.password,
        code=body.totp,
        address=client_address(request),
        device_id=device_header,
    )
    try:
        return sign_in.login(
            context.database,
            context.passwords,
            context.tokens,
            attempt,
            now=now,
            totp_drift_steps=context.settings.totp_drift_steps,
        )
    except Throttled as throttled:
        return JSONResponse(
            {"detail": throttled.message},
            status_code=429,
            headers={"Retry-After": str(throttled.retry_after)},
        )


@router.post("/auth/refresh", response_model=TokenPublic, responses=error_responses(403, 423))
def refresh(
    body: RefreshRequest, context: ContextDep, now: NowDep, device_header: DeviceHeader = None
) -> TokenPublic:
    with context.database.write() as connection:
        outcome = sign_in.refresh(
            connection,
            context.tokens,
            refresh_token=body.refresh_token,
            now=now,
            device_header=device_header,
        )
    invalidate_sessions()  # a reused token may have ended its session
    if outcome.error is not None:
        raise outcome.error
    assert outcome.token is not None
    return outcome.token


@router.post("/auth/logout", status_code=204, response_class=Response)
def logout(body: RefreshRequest, context: ContextDep, now: NowDep) -> Response:
    with context.database.write() as connection:
        sign_in.logout(connection, refresh_token=body.refresh_token, now=now)
    invalidate_sessions()
    return Response(status_code=204)


@router.get("/me", response_model=UserPublic, responses=error_responses())
def me(caller: CurrentUser, context: ContextDep) -> UserPublic:
    with context.database.read() as connection:
        row = connection.execute(sa.select(users).where(users.c.user_id == caller.user_id)).one()
    return user_public(row)
