"""Purposes, cases and cameras: what a slice request chooses from."""

from __future__ import annotations

from fastapi import APIRouter

from app.core.schemas import CameraPublic, CasePublic, PurposePublic
from hub import catalog
from hub.api.deps import ContextDep, CurrentUser, error_responses

router = APIRouter(tags=["catalog"])


@router.get("/purposes", response_model=list[PurposePublic], responses=error_responses())
def list_purposes(_caller: CurrentUser) -> list[PurposePublic]:
    return catalog.purposes()


@router.get("/cases", response_model=list[CasePublic], responses=error_responses())
def list_cases(caller: CurrentUser, context: ContextDep) -> list[CasePublic]:
    with context.database.read() as connection:
        return catalog.list_cases(connection, user_id=caller.user_id, role=caller.role)


@router.get("/cameras", response_model=list[CameraPublic], responses=error_responses())
def list_cameras(_caller: CurrentUser, context: ContextDep) -> list[CameraPublic]:
    with context.database.read() as connection:
        return catalog.list_cameras(connection)
