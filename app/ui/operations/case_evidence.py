"""The case's evidence on a desk: load the hub's record (every workstation's marks) and
decide on holds (confirm, refuse, release), each on the network lane."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from app.core.schemas import HoldPublic
from app.ui.workers import Lane, TaskRunner

if TYPE_CHECKING:
    from app.workstation import EvidenceRow, Workstation

DECISIONS = ("confirm", "refuse", "release")


def load_case_evidence(
    *,
    workstation: Workstation,
    runner: TaskRunner,
    case_number: str,
    on_success: Callable[[tuple[list[EvidenceRow], bool]], None],
    on_failure: Callable[[BaseException], None],
) -> None:
    """The case's evidence with its reads where they can be had, and whether it is the
    hub's current record (False: offline, as last known)."""
    runner.run(
        lambda: workstation.case_evidence_reads(case_number=case_number),
        on_success=on_success,
        on_failure=on_failure,
        lane=Lane.NETWORK,
    )


def decide_holds(
    *,
    workstation: Workstation,
    runner: TaskRunner,
    case_number: str,
    read_ids: list[str],
    decision: str,
    text: str,
    on_success: Callable[[list[HoldPublic]], None],
    on_failure: Callable[[BaseException], None],
) -> None:
    """Confirm or refuse (with a note), or release (with the reason) the reads' holds."""
    evidence = workstation.evidence

    def decide() -> list[HoldPublic]:
        if decision == "confirm":
            return evidence.confirm(case_number=case_number, read_ids=read_ids, note=text)
        if decision == "refuse":
            return evidence.refuse(case_number=case_number, read_ids=read_ids, note=text)
        return evidence.release(case_number=case_number, read_ids=read_ids, reason=text)

    runner.run(decide, on_success=on_success, on_failure=on_failure, lane=Lane.NETWORK)
