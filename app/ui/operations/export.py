"""Exporting a case's evidence packet, each phase on its lane:

1. cache lane (short, local): the plan, and which images are not cached;
2. network lane (remote): holds sent and confirmed, the hub's custody events, the
   missing images fetched;
3. export lane (CPU, its own cache connection): the packet written and signed;
4. network lane (remote): the receipt sent; then the cache lane: its status.

So searches, thumbnails and the status bar never wait behind an export."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from app.export.packet import ExportProgress, HubCustody, PacketResult
from app.services.export import ExportPlan
from app.ui.workers import Lane, TaskRunner
from app.vision.redact import DerivedSpec

if TYPE_CHECKING:
    from app.workstation import Workstation


def export_packet(
    *,
    workstation: Workstation,
    runner: TaskRunner,
    case_number: str,
    out_dir: Path,
    zip: bool,
    redactions: Mapping[str, DerivedSpec],
    cancel: threading.Event,
    on_progress: Callable[[ExportProgress], None],
    on_success: Callable[[PacketResult], None],
    on_failure: Callable[[BaseException], None],
) -> None:
    ws = workstation

    def planned(found: tuple[ExportPlan, list[tuple[str, str]]]) -> None:
        plan, missing = found

        def gather() -> HubCustody:
            ws.evidence.deliver()
            ws.evidence.confirm_holds(case_number, plan.read_ids)
            custody = ws.evidence.hub_custody(case_number, set(plan.read_ids))
            ws.export.fetch_missing(missing, cancel=cancel)
            return custody

        runner.run(
            gather,
            on_success=lambda custody: write(plan, custody),
            on_failure=on_failure,
            lane=Lane.NETWORK,
            cancel=cancel,
        )

    def write(plan: ExportPlan, custody: HubCustody) -> None:
        runner.run(
            lambda progress: ws.export.write(
                plan, out_dir=out_dir, hub_custody=custody, zip=zip, progress=progress,
                cancel=cancel,
            ),
            on_success=deliver,
            on_failure=on_failure,
            on_progress=on_progress,
            lane=Lane.EXPORT,
            cancel=cancel,
        )  # fmt: skip

    def deliver(result: PacketResult) -> None:
        def send() -> PacketResult:
            ws.evidence.deliver()
            return result

        runner.run(
            send,
            on_success=lambda sent: runner.run(
                lambda: ws.export.with_receipt(sent),
                on_success=on_success,
                on_failure=on_failure,
                lane=Lane.CACHE,
            ),
            on_failure=lambda _exc: on_success(result),  # the receipt waits for next time
            lane=Lane.NETWORK,
        )

    def plan() -> tuple[ExportPlan, list[tuple[str, str]]]:
        found = ws.export.plan(case_number=case_number, redactions=redactions)
        return found, ws.export.missing_images(found)

    runner.run(plan, on_success=planned, on_failure=on_failure, lane=Lane.CACHE, cancel=cancel)
