"""The hub's FastAPI application: create_app(settings) builds it."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.errors import KIND_FIELD
from app.core.heap import freeze_startup_objects
from app.core.schemas import API_PREFIX
from hub import __version__
from hub.api.limits import BodyLimitMiddleware
from hub.api.nul import NulRefusalMiddleware
from hub.api.openapi import allowed_methods, install_error_docs, method_table
from hub.api.routes import (
    admin,
    alerts,
    audit,
    audit_search,
    auth,
    catalog,
    devices,
    feed,
    health,
    holds,
    hotlists,
    images,
    ingest,
    insights,
    packets,
    partners,
    review,
    search,
    slices,
    transparency,
)
from hub.context import Clock, HubContext, system_clock
from hub.core.config import HubSettings, load_secret
from hub.core.db import Database
from hub.core.security import CursorSigner, PasswordService, TokenService
from hub.errors import HubError
from hub.images import open_image_store
from hub.jobs import RetentionJob
from hub.notify import ChangeListener
from hub.sessions import SESSIONS

log = logging.getLogger(__name__)


def _validation_message(exc: RequestValidationError) -> str:
    errors = exc.errors()
    for error in errors:
        if error.get("type") == "json_invalid":
            reason = (error.get("ctx") or {}).get("error", "it cannot be parsed")
            return f"The request body is not valid JSON: {reason}."
    parts = []
    for error in errors[:3]:
        where = ".".join(str(item) for item in error.get("loc", ()) if item != "body")
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg")))
    return "The request is not valid: " + "; ".join(parts) + "."


def _change_listener(database: Database) -> ChangeListener:
    """The other nodes' changes: alerts wake the streams, session changes clear the
    session cache, which keeps its entries longer while it hears of them."""

    def on_listening(listening: bool) -> None:
        if listening:
            SESSIONS.listened.add(database.url)
        else:
            SESSIONS.listened.discard(database.url)
            SESSIONS.invalidate()

    return ChangeListener(database.url, on_sessions=SESSIONS.invalidate, on_listening=on_listening)


def create_app(
    settings: HubSettings, *, database: Database | None = None, clock: Clock = system_clock
) -> FastAPI:
    """The hub app; refuses to build without the hub secret (run `platedesk-hub init`)."""
    secret = load_secret(settings)
    db = database or Database(settings.sqlalchemy_url)
    context = HubContext(
        settings=settings,
        database=db,
        passwords=PasswordService(settings),
        tokens=TokenService(secret),
        cursors=CursorSigner(secret),
        images=open_image_store(settings),
        clock=clock,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        job = RetentionJob(context) if settings.retention_job else None
        if job is not None:
            job.start()
        if db.is_postgresql and settings.listen_for_changes:
            context.listener = _change_listener(db)
            context.listener.start()
        yield
        if context.listener is not None:
            await context.listener.stop()
            context.listener = None
        if job is not None:
            await job.stop()
        if database is None:
            db.dispose()

    app = FastAPI(title="Platedesk hub", version=__version__, lifespan=lifespan)
    app.state.hub = context

    @app.exception_handler(HubError)
    async def _hub_error(_request: Request, exc: HubError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        body: dict[str, str] = {"detail": exc.message}
        if exc.kind is not None:
            body[KIND_FIELD] = exc.kind.value
        return JSONResponse(body, status_code=exc.status_code, headers=headers)

    methods: list[tuple[re.Pattern[str], frozenset[str]]] = []  # filled on first use

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code != 405:
            return await http_exception_handler(request, exc)
        # The path exists, the method does not: say which do (all of the path's routes,
        # not only the first one matched), and answer OPTIONS with them.
        if not methods:
            methods.extend(method_table(app.routes))
        allow = ", ".join(allowed_methods(methods, request.scope["path"]))
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"Allow": allow})
        return JSONResponse(
            {"detail": f"{request.method} is not allowed here; this path answers {allow}."},
            status_code=405,
            headers={"Allow": allow},
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _validation_message(exc)}, status_code=422)

    @app.exception_handler(DataError)
    async def _data_error(_request: Request, exc: DataError) -> JSONResponse:
        # A value the request carried does not fit its column (too long, out of range):
        # the request's fault, so a 422, and nothing was stored.
        log.warning(
            "refused a request whose values do not fit the database (%s)", type(exc.orig).__name__
        )  # the message may quote the value: not logged
        return JSONResponse(
            {"detail": "A value in the request is too long or out of range for the hub; "
                       "check the lengths and ranges in the API description (/openapi.json)."},
            status_code=422,
        )  # fmt: skip

    @app.exception_handler(Exception)
    async def _bug(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected %s while handling a request", type(exc).__name__)
        return JSONResponse(
            {"detail": "The hub hit an internal error; it has been logged. Try again later."},
            status_code=500,
        )

    app.include_router(health.router)
    app.include_router(transparency.router)
    for module in (
        auth, devices, catalog, slices, search, feed, images, audit, ingest, admin, holds,
        hotlists, alerts, packets, review, partners, insights, audit_search,
    ):  # fmt: skip
        app.include_router(module.router, prefix=API_PREFIX)
    ingest_path = f"{API_PREFIX}/ingest/"

    def body_limit(path: str) -> int:
        if path.startswith(ingest_path):
            return settings.max_ingest_bytes
        return settings.max_body_bytes

    app.add_middleware(NulRefusalMiddleware)  # inside the body limit: reads a bounded body
    app.add_middleware(BodyLimitMiddleware, limit_for=body_limit)
    install_error_docs(app)
    return app


def create_worker_app() -> FastAPI:
    """The app of one `platedesk-hub serve --workers N` worker process.

    uvicorn imports and calls this in each worker; the settings come from the
    PLATEDESK_HUB_* variables that `serve` sets before it starts them (the data
    folder, the database, and the retention job off: the supervising process runs
    it). `serve` has applied the migrations already.
    """
    app = create_app(HubSettings())  # data_dir and the rest: from the environment
    freeze_startup_objects()  # before serving: requests' garbage is collected alone
    return app
