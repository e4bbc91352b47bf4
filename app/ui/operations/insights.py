"""Operator insights, charts and the audit trail browser: remote calls on the network
lane, exports to a file on the cache lane (they are journaled)
(app.services.insights)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from app.core.audit_trail import AuditEventPublic
from app.core.insights import InsightKind
from app.services.insights import AuditFilter
from app.ui.operations._types import OnFailure, OnSuccess
from app.ui.workers import Lane, TaskRunner

if TYPE_CHECKING:
    from app.workstation import Workstation


def load_operators(
    *, workstation: Workstation, runner: TaskRunner, days: int, on_success: OnSuccess,
    on_failure: OnFailure,
) -> None:  # fmt: skip
    """Per user of the unit over the last `days` days."""
    runner.run(
        lambda: workstation.insights.operators(days=days),
        on_success=on_success, on_failure=on_failure, lane=Lane.NETWORK,
    )  # fmt: skip


def load_charts(
    *, workstation: Workstation, runner: TaskRunner, days: int, on_success: OnSuccess,
    on_failure: OnFailure,
) -> None:  # fmt: skip
    runner.run(
        lambda: workstation.insights.charts(days=days),
        on_success=on_success, on_failure=on_failure, lane=Lane.NETWORK,
    )  # fmt: skip


def file_insight(
    *, workstation: Workstation, runner: TaskRunner, username: str, kind: InsightKind,
    summary: str, event_ids: Sequence[str], on_success: OnSuccess, on_failure: OnFailure,
) -> None:  # fmt: skip
    """Turn an insight into a review item; the item comes back."""
    ids = list(event_ids)
    runner.run(
        lambda: workstation.insights.file_insight(
            username=username, kind=kind, summary=summary, event_ids=ids
        ),
        on_success=on_success, on_failure=on_failure, lane=Lane.NETWORK,
    )  # fmt: skip


def search_audit(
    *, workstation: Workstation, runner: TaskRunner, where: AuditFilter, cursor: str | None,
    on_success: OnSuccess, on_failure: OnFailure,
) -> None:  # fmt: skip
    """A page of the audit events matching `where`, newest first."""
    runner.run(
        lambda: workstation.insights.audit_search(where, cursor=cursor),
        on_success=on_success, on_failure=on_failure, lane=Lane.NETWORK,
    )  # fmt: skip


def load_chains(
    *, workstation: Workstation, runner: TaskRunner, on_success: OnSuccess,
    on_failure: OnFailure,
) -> None:  # fmt: skip
    runner.run(
        lambda: workstation.insights.audit_chains(),
        on_success=on_success, on_failure=on_failure, lane=Lane.NETWORK,
    )  # fmt: skip


def export_events(
    *, workstation: Workstation, runner: TaskRunner, events: Sequence[AuditEventPublic],
    path: Path, kind: str, where: AuditFilter, on_success: OnSuccess, on_failure: OnFailure,
) -> None:  # fmt: skip
    """Write the selection as CSV or as a JSON excerpt; the path written comes back."""
    chosen = list(events)
    runner.run(
        lambda: workstation.insights.export_events(
            chosen, path, kind=kind, where=where, now=datetime.now(UTC)
        ),
        on_success=on_success, on_failure=on_failure, lane=Lane.CACHE,
    )  # fmt: skip
