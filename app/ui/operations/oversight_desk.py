"""The supervisor's desk beyond the queue itself: an item's reads and its user's other
searches, bulk approval of random-sample items, and transparency (the public page's
figures and the council's monthly report). Remote calls on the network lane."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from app.ui.operations._types import OnFailure, OnSuccess
from app.ui.workers import Lane, TaskRunner

if TYPE_CHECKING:
    from app.workstation import Workstation


def load_page(
    *,
    workstation: Workstation,
    runner: TaskRunner,
    status: str,
    rule: str | None,
    user: str | None,
    case_number: str | None,
    since: datetime | None,
    until: datetime | None,
    after: str | None,
    limit: int,
    on_success: OnSuccess,
    on_failure: OnFailure,
) -> None:
    """One page of the filtered queue (most severe, newest first), after `after`."""
    runner.run(
        lambda: workstation.oversight.queue(
            status=status,
            rule=rule,
            user=user,
            case_number=case_number,
            since=since,
            until=until,
            after=after,
            limit=limit,
        ),
        on_success=on_success,
        on_failure=on_failure,
        lane=Lane.NETWORK,
    )


def load_reads(
    *,
    workstation: Workstation,
    runner: TaskRunner,
    item_id: str,
    on_success: OnSuccess,
    on_failure: OnFailure,
) -> None:
    """The reads a flagged search returned (audited at the hub, journaled here)."""
    runner.run(
        lambda: workstation.oversight.reads(item_id),
        on_success=on_success,
        on_failure=on_failure,
        lane=Lane.NETWORK,
    )


def load_searches_around(
    *,
    workstation: Workstation,
    runner: TaskRunner,
    item_id: str,
    on_success: OnSuccess,
    on_failure: OnFailure,
) -> None:
    runner.run(
        lambda: workstation.oversight.searches_around(item_id),
        on_success=on_success,
        on_failure=on_failure,
        lane=Lane.NETWORK,
    )


def load_image(
    *,
    workstation: Workstation,
    runner: TaskRunner,
    item_id: str,
    sha256: str,
    on_success: OnSuccess,
    on_failure: OnFailure,
) -> None:
    runner.run(
        lambda: workstation.oversight.image(item_id, sha256),
        on_success=on_success,
        on_failure=on_failure,
        lane=Lane.NETWORK,
    )


def approve_sample(
    *,
    workstation: Workstation,
    runner: TaskRunner,
    item_ids: list[str],
    note: str,
    on_success: OnSuccess,
    on_failure: OnFailure,
) -> None:
    """Approve the chosen random-sample items together; they come back approved."""
    runner.run(
        lambda: workstation.oversight.approve_sample(item_ids, note=note),
        on_success=on_success,
        on_failure=on_failure,
        lane=Lane.NETWORK,
    )


def load_transparency(
    *, workstation: Workstation, runner: TaskRunner, on_success: OnSuccess, on_failure: OnFailure
) -> None:
    """The figures the public page shows, as the hub serves them."""
    runner.run(
        lambda: workstation.transparency.preview(),
        on_success=on_success,
        on_failure=on_failure,
        lane=Lane.NETWORK,
    )


def save_monthly_report(
    *,
    workstation: Workstation,
    runner: TaskRunner,
    month: str,
    out: Path,
    on_success: OnSuccess,
    on_failure: OnFailure,
) -> None:
    """Fetch the council's report for the month and save it; the saved path comes back."""
    runner.run(
        lambda: workstation.transparency.monthly_report(month, out=out),
        on_success=on_success,
        on_failure=on_failure,
        lane=Lane.NETWORK,
    )
