"""/audit/search and /audit/chains: the audit trail browser, for supervisors (their
unit) and administrators; anyone else is refused, and the attempt audited."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from app.core.audit_trail import PAGE_LIMIT, AuditSearchPage, DeviceChainPublic
from hub import audit_search
from hub.api.deps import ContextDep, NowDep, error_responses
from hub.api.routes.review import Reviewer

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("/search", response_model=AuditSearchPage, responses=error_responses(403, 422))
def search(
    caller: Reviewer,
    context: ContextDep,
    now: NowDep,
    user: Annotated[str | None, Query(max_length=64, description="one user's events")] = None,
    device: Annotated[str | None, Query(max_length=64, description="one device's")] = None,
    case: Annotated[str | None, Query(max_length=32, description="about one case")] = None,
    action: Annotated[str | None, Query(max_length=64, description="one action")] = None,
    event: Annotated[
        list[str] | None,
        Query(description=f"these events (an insight's event ids; the first {PAGE_LIMIT})"),
    ] = None,
    time_from: Annotated[
        datetime | None, Query(alias="from", description="at or after (ISO 8601, UTC)")
    ] = None,
    time_to: Annotated[
        datetime | None, Query(alias="to", description="before (ISO 8601, UTC)")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=80, description="the next page")] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT)] = 100,
) -> AuditSearchPage:
    """The audit events of the caller's unit (every event for an administrator) that
    match every filter, newest first; the search is audited."""
    filters = {
        "user": user, "device": device, "case": case, "action": action,
        "events": str(len(event)) if event else None,
        "from": time_from.isoformat() if time_from else None,
        "to": time_to.isoformat() if time_to else None,
    }  # fmt: skip
    with context.database.write() as connection:
        page = audit_search.search_events(
            connection, caller, username=user, device_id=device, case_number=case,
            action=action, event_ids=event, time_from=time_from, time_to=time_to, cursor=cursor, limit=limit,
        )  # fmt: skip
        if cursor is None:
            audit_search.record_search(connection, caller, filters, now=now)
    return page


@router.get("/chains", response_model=list[DeviceChainPublic], responses=error_responses(403))
def chains(caller: Reviewer, context: ContextDep) -> list[DeviceChainPublic]:
    """Each device's hash chain: intact, gap or broken, in plain words."""
    with context.database.read() as connection:
        return audit_search.device_chains(connection, caller)
