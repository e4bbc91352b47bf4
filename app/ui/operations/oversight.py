"""The supervisor's review queue and the user's questions: remote calls on the
network lane (app.services.oversight)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.ui.operations._types import OnFailure, OnSuccess
from app.ui.workers import Lane, TaskRunner

if TYPE_CHECKING:
    from app.workstation import Workstation


def load_queue(
    *,
    workstation: Workstation,
    runner: TaskRunner,
    status: str = "pending",
    on_success: OnSuccess,
    on_failure: OnFailure,
) -> None:
    """The unit's flagged searches, most severe and newest first."""
    runner.run(
        lambda: workstation.oversight.queue(status=status),
        on_success=on_success,
        on_failure=on_failure,
        lane=Lane.NETWORK,
    )


def decide(
    *,
    workstation: Workstation,
    runner: TaskRunner,
    item_id: str,
    decision: str,
    note: str,
    on_success: OnSuccess,
    on_failure: OnFailure,
) -> None:
    """Approve, ask for a justification or refer; the item comes back with its status."""
    runner.run(
        lambda: workstation.oversight.decide(item_id, decision=decision, note=note),
        on_success=on_success,
        on_failure=on_failure,
        lane=Lane.NETWORK,
    )


def load_inbox(
    *, workstation: Workstation, runner: TaskRunner, on_success: OnSuccess, on_failure: OnFailure
) -> None:
    """The supervisors' questions waiting for the signed-in user's answer."""
    runner.run(
        lambda: workstation.oversight.inbox(), on_success=on_success, on_failure=on_failure,
        lane=Lane.NETWORK,
    )  # fmt: skip


def answer(
    *,
    workstation: Workstation,
    runner: TaskRunner,
    item_id: str,
    text: str,
    on_success: OnSuccess,
    on_failure: OnFailure,
) -> None:
    runner.run(
        lambda: workstation.oversight.answer(item_id, text=text),
        on_success=on_success,
        on_failure=on_failure,
        lane=Lane.NETWORK,
    )
