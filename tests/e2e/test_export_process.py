"""The export service with its packet written in a process of its own (issue 19), against
a real hub and a real cache: progress arrives, a cancel mid-write and a killed packet
writer each leave no packet and are journaled as before."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

import app.export.worker as worker
import app.services.export as export_service
from app.core.records import SearchQuery
from app.export.packet import ExportCancelled, ExportFailed, ExportProgress
from app.export.verify import verify_packet
from app.workstation import Workstation
from tests.support.live_hub import SeededHub, confirm_holds
from tests.support.processes import alive, wait_gone

pytestmark = pytest.mark.e2e

EVIDENCE = 4
_used = [40]  # the hub is shared by the module's tests: each holds reads of its own


@pytest.fixture
def evidence(
    synced_workstation: tuple[Workstation, str], seeded_hub: SeededHub, tmp_path: Path
) -> tuple[Workstation, str, list[str]]:
    """The detective's workstation with EVIDENCE more reads of the case held as evidence
    (the case's packet holds these and those held before)."""
    workstation, case = synced_workstation
    rows = workstation.search.run(
        SearchQuery(case_number=case, purpose="robbery", pattern=None), limit=_used[0] + EVIDENCE
    ).rows
    read_ids = [row.read_id for row in rows[_used[0] :]]
    assert len(read_ids) == EVIDENCE
    _used[0] += EVIDENCE
    for read_id in read_ids:
        workstation.mark_evidence(read_id=read_id, case_number=case)
    confirm_holds(seeded_hub, tmp_path / "technician", case, read_ids)
    return workstation, case, read_ids


@pytest.fixture
def child_pids(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The packet writer processes the export service starts, as they start."""
    pids: list[int] = []
    real = worker.write_in_child

    def recorded(*args: Any, **kwargs: Any) -> Any:
        return real(*args, started=pids.append, **kwargs)

    monkeypatch.setattr(export_service, "write_in_child", recorded)
    return pids


def _last_export(workstation: Workstation) -> dict[str, Any]:
    events = [e for e in workstation.journal().events() if e["action"] == "export.packet"]
    return events[-1]


def test_progress_arrives_on_the_callers_thread_and_the_packet_verifies(
    evidence: tuple[Workstation, str, list[str]], child_pids: list[int], tmp_path: Path
) -> None:
    workstation, case, read_ids = evidence
    seen: list[tuple[ExportProgress, int]] = []
    result = workstation.export_packet(
        case_number=case,
        out_dir=tmp_path / "out",
        progress=lambda step: seen.append((step, threading.get_ident())),
    )
    assert len(child_pids) == 1  # written in a process of its own
    assert child_pids[0] != os.getpid()
    assert wait_gone(set(child_pids)) == set()  # which ended with the export
    assert result.reads >= len(read_ids)
    assert verify_packet(result.packet).intact
    assert {ident for _, ident in seen} == {threading.get_ident()}
    stages = [step.stage for step, _ in seen]
    assert stages[: result.reads] == ["originals"] * result.reads
    assert stages[-4:] == ["records", "manifests", "signature", "done"]
    assert (_last_export(workstation)["outcome"], result.receipt) == ("ok", "delivered")


def test_a_cancel_mid_write_stops_the_writer_leaves_no_packet_and_is_journaled(
    evidence: tuple[Workstation, str, list[str]], child_pids: list[int], tmp_path: Path
) -> None:
    workstation, case, _read_ids = evidence
    cancel = threading.Event()
    seen: list[ExportProgress] = []

    def progress(step: ExportProgress) -> None:
        seen.append(step)
        if step.done == 2:  # two reads written: mid-write
            cancel.set()

    out = tmp_path / "out"
    with pytest.raises(ExportCancelled, match="no packet was written"):
        workstation.export_packet(case_number=case, out_dir=out, progress=progress, cancel=cancel)
    assert list(out.iterdir()) == []
    assert seen[-1].done == 2  # it stopped there: no later step was reported
    last = _last_export(workstation)
    assert last["outcome"] == "cancelled"
    assert wait_gone(set(child_pids)) == set()


def test_a_killed_writer_gives_a_clear_message_leaves_no_packet_and_is_journaled(
    evidence: tuple[Workstation, str, list[str]], child_pids: list[int], tmp_path: Path
) -> None:
    workstation, case, _read_ids = evidence

    def progress(step: ExportProgress) -> None:
        if step.done == 2:  # mid-write: the partial packet holds two reads
            os.kill(child_pids[0], signal.SIGKILL)

    out = tmp_path / "out"
    with pytest.raises(ExportFailed) as failed:
        workstation.export_packet(case_number=case, out_dir=out, progress=progress)
    message = str(failed.value)
    assert message.startswith("The packet writer stopped unexpectedly (ended by signal SIGKILL)")
    assert "no packet was written. Export again" in message
    assert list(out.iterdir()) == []
    last = _last_export(workstation)
    assert (last["outcome"], last["params"]["error"]) == ("failed", message)
    assert not alive(set(child_pids))
    # the next export works
    again = workstation.export_packet(case_number=case, out_dir=out)
    assert verify_packet(again.packet).intact
