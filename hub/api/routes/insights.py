"""/review/operators and /review/charts: operator insights and the oversight charts for
supervisors (their unit) and administrators; anyone else is refused, and the attempt
audited (hub.api.routes.review.get_reviewer)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.core.insights import (
    DEFAULT_DAYS,
    MAX_DAYS,
    InsightItemCreate,
    OperatorInsightsPublic,
    OversightChartsPublic,
)
from app.core.schemas import ReviewItemPublic
from hub import insights
from hub.api.deps import ContextDep, NowDep, error_responses
from hub.api.routes.review import Reviewer

router = APIRouter(prefix="/review", tags=["review"])

Days = Annotated[int, Query(ge=1, le=MAX_DAYS, description="the last N days")]


@router.get(
    "/operators", response_model=OperatorInsightsPublic, responses=error_responses(403, 422)
)
def operators(
    caller: Reviewer, context: ContextDep, now: NowDep, days: Days = DEFAULT_DAYS
) -> OperatorInsightsPublic:
    """Per user of the caller's unit (never the caller): searches per day against their
    baseline, repeatedly tracked plates, isolated sessions, searches per case and
    purpose, refusals; each with the audit event ids behind it. Audited."""
    with context.database.write() as connection:
        found = insights.operator_insights(connection, caller, days=days, now=now)
        insights.record_view(connection, caller, what="operators", days=days, now=now)
    return found


@router.post(
    "/operators/items",
    response_model=ReviewItemPublic,
    status_code=201,
    responses=error_responses(403, 404, 422),
)
def file_insight(
    body: InsightItemCreate, caller: Reviewer, context: ContextDep, now: NowDep
) -> ReviewItemPublic:
    """Turn an insight into an open review item of the user's unit; audited."""
    with context.database.write() as connection:
        return insights.file_insight(connection, caller, body, now=now)


@router.get("/charts", response_model=OversightChartsPublic, responses=error_responses(403, 422))
def charts(
    caller: Reviewer, context: ContextDep, now: NowDep, days: Days = DEFAULT_DAYS
) -> OversightChartsPublic:
    """Searches per day, flags per rule, decisions per day, users by volume. Audited."""
    with context.database.write() as connection:
        found = insights.charts(connection, caller, days=days, now=now)
        insights.record_view(connection, caller, what="charts", days=days, now=now)
    return found
