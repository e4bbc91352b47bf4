"""Oversight insights: the supervisor's operator insights, charts and audit trail
browser (remote), and the audit trail's exports to files (local, journaled).

The hub decides who may look (a supervisor their unit, an administrator every unit)
and audits every look and every refusal; filing an insight for review is journaled
here too. An export writes the selection the supervisor holds, as CSV or as a
hash-chained JSON excerpt that verifies on its own (app.core.audit_trail).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from app.core.audit_trail import (
    PAGE_LIMIT,
    AuditEventPublic,
    AuditSearchPage,
    DeviceChainPublic,
    build_excerpt,
    events_csv,
    excerpt_json,
    verify_excerpt,
)
from app.core.canonical import utc_iso
from app.core.errors import ErrorKind, KnownError
from app.core.insights import (
    MAX_DAYS,
    InsightItemCreate,
    InsightKind,
    OperatorInsightsPublic,
    OversightChartsPublic,
)
from app.core.schemas import ReviewItemPublic
from app.services.session import Session
from app.sync.client import HubRefused

FILE_ACTION = "review.insight_filed"
EXPORT_ACTION = "audit.export"


class InsightsInputError(KnownError):
    kind = ErrorKind.INVALID


@dataclass(frozen=True)
class AuditFilter:
    """What the audit trail browser searches for (empty: anything)."""

    user: str | None = None
    device: str | None = None
    case_number: str | None = None
    action: str | None = None
    time_from: datetime | None = None
    time_to: datetime | None = None
    event_ids: tuple[str, ...] = ()  # an insight's events

    def params(self) -> dict[str, str | list[str]]:
        found: dict[str, str | list[str]] = {}
        for name, value in (("user", self.user), ("device", self.device),
                            ("case", self.case_number), ("action", self.action)):  # fmt: skip
            if value and value.strip():
                found[name] = value.strip()
        for name, moment in (("from", self.time_from), ("to", self.time_to)):
            if moment is not None:
                found[name] = utc_iso(moment)
        if self.event_ids:
            found["event"] = list(self.event_ids)
        return found


def _days(days: int) -> int:
    if not 1 <= days <= MAX_DAYS:
        raise InsightsInputError(f"Give a number of days from 1 to {MAX_DAYS} (not {days}).")
    return days


class InsightsService:
    def __init__(self, session: Session) -> None:
        self._s = session

    # remote -----------------------------------------------------------------------------
    def operators(self, *, days: int = 30) -> OperatorInsightsPublic:
        """Per user of my unit, over the last `days` days (the hub audits the look)."""
        self._s.require()
        return self._s.client.operator_insights(days=_days(days))

    def charts(self, *, days: int = 30) -> OversightChartsPublic:
        self._s.require()
        return self._s.client.oversight_charts(days=_days(days))

    def file_insight(
        self, *, username: str, kind: InsightKind, summary: str, event_ids: Sequence[str]
    ) -> ReviewItemPublic:
        """Turn one insight into an open review item of the user's unit; journaled."""
        self._s.require()
        body = InsightItemCreate(
            username=username, kind=kind, summary=summary, event_ids=list(event_ids)
        )
        refs: dict[str, Any] = {"username": username}
        params: dict[str, Any] = {"kind": kind, "summary": summary, "events": len(event_ids)}
        try:
            item = self._s.client.file_insight(body)
        except HubRefused:
            with self._s.journaled(FILE_ACTION, object_refs=refs, params=params, outcome="refused"):
                pass
            raise
        with self._s.journaled(
            FILE_ACTION, object_refs={**refs, "item_id": item.item_id}, params=params
        ):
            pass
        return item

    def audit_search(
        self, where: AuditFilter, *, cursor: str | None = None, limit: int = 100
    ) -> AuditSearchPage:
        """A page of the hub's audit events matching `where`, newest first."""
        if where.time_from and where.time_to and where.time_from >= where.time_to:
            raise InsightsInputError("'from' must come before 'to'; swap them and try again.")
        self._s.require()
        params: dict[str, str | int | list[str]] = {
            **where.params(),
            "limit": max(1, min(limit, PAGE_LIMIT)),
        }
        if cursor:
            params["cursor"] = cursor
        return self._s.client.audit_search(params)

    def audit_chains(self) -> list[DeviceChainPublic]:
        self._s.require()
        return self._s.client.audit_chains()

    # local ------------------------------------------------------------------------------
    def export_events(
        self,
        events: Sequence[AuditEventPublic],
        path: Path,
        *,
        kind: str,
        where: AuditFilter,
        now: datetime,
    ) -> Path:
        """Write the selection as CSV (`kind` "csv") or as a hash-chained JSON excerpt
        ("excerpt"); journaled. Returns the file written."""
        if not events:
            raise InsightsInputError("Select the events to export first.")
        session = self._s.require()
        if kind == "csv":
            text = events_csv(events)
        elif kind == "excerpt":
            text = excerpt_json(
                build_excerpt(
                    events, hub_url=self._s.hub_url or "", exported_by=session.username,
                    exported_at=now, query=where.params(),
                )
            )  # fmt: skip
        else:
            raise InsightsInputError(f"'{kind}' is not an export kind; use csv or excerpt.")
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise KnownError(
                f"The export could not be written to {path} ({exc.strerror}); choose another "
                "folder and try again."
            ) from exc
        with self._s.journaled(
            EXPORT_ACTION,
            object_refs={"file": path.name},
            params={"kind": kind, "events": len(events), "query": where.params()},
        ):
            pass
        return path


def verify_excerpt_file(path: Path) -> list[str]:
    """Every problem in an excerpt file (none: it is as exported). No sign-in needed."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KnownError(f"{path} cannot be read ({exc.strerror}).") from exc
    except ValueError as exc:
        raise KnownError(f"{path} is not JSON ({exc}); it is not an audit excerpt.") from exc
    return verify_excerpt(document)
