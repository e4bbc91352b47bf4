"""Searches do not wait behind an export: the export dialog's packet is written on a
lane of its own, against a real hub and a real cache."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

import app.export.worker as worker
import app.services.export as export_service
from app.core.records import SearchQuery
from app.ui.dialogs.export_dialog import ExportDialog
from app.ui.workers import TaskRunner
from app.workstation import Workstation
from tests.support.lanes import search_total_on_cache_lane
from tests.support.live_hub import SeededHub, confirm_holds

pytestmark = pytest.mark.e2e


def test_a_search_answers_while_the_packet_is_being_written(
    qtbot: QtBot,
    synced_workstation: tuple[Workstation, str],
    seeded_hub: SeededHub,
    runner: TaskRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    workstation, case = synced_workstation
    query = SearchQuery(case_number=case, purpose="robbery", pattern=None)
    read = workstation.search.run(query, limit=1).rows[0]
    workstation.mark_evidence(read_id=read.read_id, case_number=case)
    confirm_holds(seeded_hub, tmp_path / "technician", case, [read.read_id])

    # Hold the packet writer (the CPU part: hashing, PDF, signing, in its own process)
    # until the search is in.
    writing, release = threading.Event(), threading.Event()
    real_write = worker.write_in_child

    def held_write(*args: Any, **kwargs: Any) -> Any:
        writing.set()
        release.wait(30)
        return real_write(*args, **kwargs)

    monkeypatch.setattr(export_service, "write_in_child", held_write)
    dialog = ExportDialog(
        workstation=workstation, runner=runner, case_number=case, out_dir=tmp_path
    )
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.evidence_loaded, timeout=20_000):
        dialog.show()
    dialog.export()
    qtbot.waitUntil(writing.is_set, timeout=20_000)

    answered = search_total_on_cache_lane(runner, workstation, query)
    try:
        qtbot.waitUntil(lambda: bool(answered), timeout=10_000)  # not behind the export
    finally:
        release.set()
    assert answered[0] > 0
    qtbot.waitUntil(lambda: dialog.packet is not None, timeout=60_000)
    assert dialog.packet is not None
    assert dialog.packet.reads == 1
