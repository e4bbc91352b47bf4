"""Exporting a case's evidence packet, each phase on its lane:

1-2. network lane: `Workstation.prepare_export`: holds sent, the case's confirmed
   evidence at the hub, the reads and originals the cache lacks fetched under the
   evidence grant, the hub's custody events (offline: the cache's own marks);
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

    def prepare() -> tuple[ExportPlan, HubCustody]:
        return ws.prepare_export(case_number=case_number, redactions=redactions, cancel=cancel)

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

    runner.run(
        prepare,
        on_success=lambda found: write(*found),
        on_failure=on_failure,
        lane=Lane.NETWORK,
        cancel=cancel,
    )
