"""The case bar's reference data and a case's slices: local reads of the cache."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.ui.operations._types import OnFailure, OnSuccess
from app.ui.workers import Lane, TaskRunner

if TYPE_CHECKING:
    from app.workstation import Workstation


def load_reference_data(
    *,
    workstation: Workstation,
    runner: TaskRunner,
    on_cases: OnSuccess,
    on_purposes: OnSuccess,
    on_cameras: OnSuccess,
    on_failure: OnFailure,
) -> None:
    """Cases, purposes and cameras, as last fetched from the hub (cache lane)."""
    catalog = workstation.catalog
    for work, arrived in (
        (catalog.cases, on_cases),
        (catalog.purposes, on_purposes),
        (catalog.cameras, on_cameras),
    ):
        runner.run(work, on_success=arrived, on_failure=on_failure, lane=Lane.CACHE)


def case_slices(
    *,
    workstation: Workstation,
    runner: TaskRunner,
    case_number: str,
    on_success: OnSuccess,
    on_failure: OnFailure,
) -> None:
    """The slices this profile holds for a case (cache lane)."""
    runner.run(
        lambda: workstation.slices.list(case_number=case_number),
        on_success=on_success,
        on_failure=on_failure,
        lane=Lane.CACHE,
    )
