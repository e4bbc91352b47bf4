"""The session from the window: the look, locking, unlocking and signing out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.ui.operations._types import OnFailure, OnSuccess
from app.ui.workers import Lane, TaskRunner

if TYPE_CHECKING:
    from app.workstation import Workstation


def set_dark_theme(
    *, workstation: Workstation, runner: TaskRunner, dark: bool, on_failure: OnFailure
) -> None:
    """Keep the user's choice of look in the profile (local)."""
    runner.run(
        lambda: workstation.set_dark_theme(dark),
        on_success=lambda _none: None,
        on_failure=on_failure,
        lane=Lane.CACHE,
    )


def lock(
    *, workstation: Workstation, runner: TaskRunner, on_success: OnSuccess, on_failure: OnFailure
) -> None:
    """Lock the session (local, journaled)."""
    runner.run(workstation.lock, on_success=on_success, on_failure=on_failure, lane=Lane.CACHE)


def unlock(
    *,
    workstation: Workstation,
    runner: TaskRunner,
    password: str,
    totp: str,
    on_success: OnSuccess,
    on_failure: OnFailure,
) -> None:
    """Sign in again at the hub (remote) and lift the lock."""
    runner.run(
        lambda: workstation.unlock(password=password, totp=totp),
        on_success=on_success,
        on_failure=on_failure,
        lane=Lane.NETWORK,
    )


def sign_out(
    *, workstation: Workstation, runner: TaskRunner, on_success: OnSuccess, on_failure: OnFailure
) -> None:
    """Sign out: journaled, what waits delivered, the hub told, the tokens removed."""
    runner.run(workstation.logout, on_success=on_success, on_failure=on_failure, lane=Lane.NETWORK)
