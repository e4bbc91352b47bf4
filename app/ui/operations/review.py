"""Review marks, outcomes and saved searches: local calls on the cache lane, journaled."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.core.records import SearchQuery
from app.ui.operations._types import OnFailure, OnSuccess
from app.ui.workers import Lane, TaskRunner

if TYPE_CHECKING:
    from app.workstation import Workstation


def mark_misread(
    *,
    workstation: Workstation,
    runner: TaskRunner,
    read_id: str,
    case_number: str,
    corrected_plate: str,
    note: str,
    on_success: OnSuccess,
    on_failure: OnFailure,
) -> None:
    runner.run(
        lambda: workstation.review.mark_misread(
            read_id=read_id, case_number=case_number, corrected_plate=corrected_plate, note=note
        ),
        on_success=on_success,
        on_failure=on_failure,
        lane=Lane.CACHE,
    )


def record_outcome(
    *,
    workstation: Workstation,
    runner: TaskRunner,
    case_number: str,
    purpose: str,
    outcome: str,
    note: str,
    on_success: OnSuccess,
    on_failure: OnFailure,
) -> None:
    runner.run(
        lambda: workstation.review.record_outcome(
            case_number=case_number, purpose=purpose, outcome=outcome, note=note
        ),
        on_success=on_success,
        on_failure=on_failure,
        lane=Lane.CACHE,
    )


def load_saved_searches(
    *,
    workstation: Workstation,
    runner: TaskRunner,
    case_number: str,
    on_success: OnSuccess,
    on_failure: OnFailure,
) -> None:
    runner.run(
        lambda: workstation.search.saved(case_number=case_number),
        on_success=on_success,
        on_failure=on_failure,
        lane=Lane.CACHE,
    )


def save_search(
    *,
    workstation: Workstation,
    runner: TaskRunner,
    name: str,
    query: SearchQuery,
    on_success: OnSuccess,
    on_failure: OnFailure,
) -> None:
    runner.run(
        lambda: workstation.search.save(name=name, query=query),
        on_success=on_success,
        on_failure=on_failure,
        lane=Lane.CACHE,
    )


def delete_saved_search(
    *,
    workstation: Workstation,
    runner: TaskRunner,
    saved_id: int,
    on_success: OnSuccess,
    on_failure: OnFailure,
) -> None:
    runner.run(
        lambda: workstation.search.delete_saved(saved_id),
        on_success=on_success,
        on_failure=on_failure,
        lane=Lane.CACHE,
    )
