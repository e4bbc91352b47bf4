"""The status bar's truth and the clock's chores: the journal, the cache's size, the
hourly purge (local), and the hub check with the audit upload (remote)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from app.core.errors import KnownError
from app.core.records import HubContact
from app.ui.operations._types import OnFailure, OnSuccess
from app.ui.workers import Lane, TaskRunner

if TYPE_CHECKING:
    from app.workstation import Workstation

log = logging.getLogger(__name__)


def journal_status(
    *, workstation: Workstation, runner: TaskRunner, on_success: OnSuccess, on_failure: OnFailure
) -> None:
    runner.run(
        workstation.audit.status, on_success=on_success, on_failure=on_failure, lane=Lane.CACHE
    )


def cache_size(
    *, workstation: Workstation, runner: TaskRunner, on_done: Callable[[int | None], None]
) -> None:
    """The cache file's size with its write-ahead log; None when unknown (file system:
    the network lane's threads, never behind a search)."""

    def size() -> int | None:
        try:
            return workstation.cache_size()
        except KnownError:
            return None

    runner.run(size, on_success=on_done, on_failure=lambda _exc: on_done(None), lane=Lane.NETWORK)


def purge(*, workstation: Workstation, runner: TaskRunner, on_success: OnSuccess) -> None:
    """Drop cached reads past retention on the workstation's own clock (local)."""
    runner.run(
        workstation.audit.purge,
        on_success=on_success,
        on_failure=lambda exc: log.warning("the hourly purge failed: %s", type(exc).__name__),
        lane=Lane.CACHE,
    )


def check_hub(
    *,
    workstation: Workstation,
    runner: TaskRunner,
    on_success: Callable[[HubContact], None],
    on_failure: OnFailure,
) -> None:
    """Whether the hub answers (remote, within 5 s)."""
    runner.run(
        workstation.audit.check_hub, on_success=on_success, on_failure=on_failure, lane=Lane.NETWORK
    )


def note_contact(*, workstation: Workstation, runner: TaskRunner, at: datetime) -> None:
    """Keep when the hub last answered (local)."""
    runner.run(
        lambda: workstation.audit.note_contact(at),
        on_success=lambda _none: None,
        on_failure=lambda exc: log.info("the last contact was not kept: %s", type(exc).__name__),
        lane=Lane.CACHE,
    )


def upload(
    *, workstation: Workstation, runner: TaskRunner, on_success: OnSuccess, on_failure: OnFailure
) -> None:
    """Send the unsent audit events (and what evidence requests wait) to the hub (remote)."""
    runner.run(
        workstation.audit.upload, on_success=on_success, on_failure=on_failure, lane=Lane.NETWORK
    )
