"""Hotlists: add, import (CSV), list and remove entries; administrators and supervisors."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query

from app.core.schemas import HotlistEntryCreate, HotlistEntryPublic, HotlistImportPublic
from hub import hotlists
from hub.api.deps import ContextDep, CurrentUser, NowDep, error_responses
from hub.errors import HubError
from hub.flag_policy import current_policy
from hub.slices import Caller

router = APIRouter(tags=["hotlists"])


def get_manager(caller: CurrentUser) -> Caller:
    hotlists.require_manager(caller)
    return caller


HotlistManager = Annotated[Caller, Depends(get_manager)]


@router.post(
    "/hotlists",
    response_model=HotlistEntryPublic,
    status_code=201,
    responses=error_responses(403, 404, 422),
)
def add_entry(
    body: HotlistEntryCreate, caller: HotlistManager, context: ContextDep, now: NowDep
) -> HotlistEntryPublic:
    with context.database.write() as connection:
        return hotlists.add_entry(
            connection,
            caller,
            body,
            now=now,
            case_number_pattern=context.settings.case_number_pattern,
            policy=current_policy(context.settings.data_dir),
        )


@router.post(
    "/hotlists/import",
    response_model=HotlistImportPublic,
    status_code=201,
    responses=error_responses(403, 413, 422),
)
def import_entries(
    body: Annotated[
        bytes,
        Body(
            media_type="text/csv",
            description="A CSV with the header plate,state,reason,source,case_number,"
            "expires_at[,unit]; all lines are imported or none.",
        ),
    ],
    caller: HotlistManager,
    context: ContextDep,
    now: NowDep,
) -> HotlistImportPublic:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise HubError(422, "The CSV is not UTF-8 text; save it as UTF-8 and try again.") from None
    with context.database.write() as connection:
        return hotlists.import_csv(
            connection,
            caller,
            text,
            now=now,
            case_number_pattern=context.settings.case_number_pattern,
            policy=current_policy(context.settings.data_dir),
        )


@router.get(
    "/hotlists", response_model=list[HotlistEntryPublic], responses=error_responses(403, 404, 422)
)
def list_entries(
    caller: HotlistManager,
    context: ContextDep,
    now: NowDep,
    case_number: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    include_inactive: bool = False,
) -> list[HotlistEntryPublic]:
    """Active entries (add include_inactive=true for expired and removed ones too)."""
    with context.database.read() as connection:
        return hotlists.list_entries(
            connection,
            caller,
            now=now,
            case_number=case_number,
            include_inactive=include_inactive,
            case_number_pattern=context.settings.case_number_pattern,
        )


@router.delete(
    "/hotlists/{entry_id}",
    response_model=HotlistEntryPublic,
    responses=error_responses(403, 404, 409),
)
def remove_entry(
    entry_id: str, caller: HotlistManager, context: ContextDep, now: NowDep
) -> HotlistEntryPublic:
    """Take the entry off the hotlist now; it stays on record with its alerts."""
    with context.database.write() as connection:
        return hotlists.remove_entry(connection, caller, entry_id=entry_id, now=now)
