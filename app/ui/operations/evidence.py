"""Marking a read as evidence: the mark on the cache lane, then the hold request to
the hub on the network lane (offline it waits in the cache)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from app.core.records import ReviewMark
from app.ui.workers import Lane, TaskRunner

if TYPE_CHECKING:
    from app.workstation import Workstation

log = logging.getLogger(__name__)


def mark_evidence(
    *,
    workstation: Workstation,
    runner: TaskRunner,
    read_id: str,
    case_number: str,
    note: str,
    on_success: Callable[[ReviewMark], None],
    on_failure: Callable[[BaseException], None],
) -> None:
    """Mark (local, journaled with its hold request queued), then deliver (remote)."""

    def marked(mark: ReviewMark) -> None:
        on_success(mark)
        runner.run(
            workstation.evidence.deliver,
            on_success=lambda _counts: None,
            on_failure=lambda exc: log.info("the hold request waits: %s", type(exc).__name__),
            lane=Lane.NETWORK,
        )

    runner.run(
        lambda: workstation.evidence.mark(read_id=read_id, case_number=case_number, note=note),
        on_success=marked,
        on_failure=on_failure,
        lane=Lane.CACHE,
    )
