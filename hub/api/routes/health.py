"""GET /healthz: anonymous liveness, with the database kind and the retention figure."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter

from app.core.schemas import HealthPublic
from hub import __version__
from hub.api.deps import ContextDep, NowDep

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthPublic)
def healthz(context: ContextDep, now: NowDep) -> HealthPublic:
    with context.database.read() as connection:
        connection.execute(sa.text("SELECT 1"))
    return HealthPublic(
        status="ok",
        version=__version__,
        database=context.database.kind,
        retention_days=context.settings.retention_days,
        time=now,
    )
