"""The public transparency report: GET /transparency.json and GET /transparency (HTML)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from app.core.schemas import TransparencyPublic
from hub.api.deps import ContextDep, NowDep
from hub.portal.transparency_page import render_transparency
from hub.transparency import build_report

router = APIRouter(tags=["transparency"])


def _report(context: ContextDep, now: NowDep) -> TransparencyPublic:
    with context.database.read() as connection:
        return build_report(connection, now=now, retention_days=context.settings.retention_days)


@router.get("/transparency.json", response_model=TransparencyPublic)
def transparency_json(context: ContextDep, now: NowDep) -> TransparencyPublic:
    """Public, anonymous: the agency's ALPR figures (counts only)."""
    return _report(context, now)


@router.get("/transparency", response_class=HTMLResponse)
def transparency_page(context: ContextDep, now: NowDep) -> HTMLResponse:
    """Public, anonymous: the same figures as a page readable on a phone."""
    return HTMLResponse(render_transparency(_report(context, now)))
