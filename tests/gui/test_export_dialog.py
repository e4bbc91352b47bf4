"""The evidence technician's export: evidence and holds listed, regions drawn, progress,
Cancel; the real services over a temporary cache and a real hub on loopback (a double only
at the network edge)."""

from __future__ import annotations

import threading
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.core.records import SearchQuery
from app.demo import totp_now
from app.ui.dialogs.export_dialog import HOLD, REDACTION, ExportDialog
from app.ui.main_window import MainWindow
from app.ui.workers import TaskRunner
from app.vision.redact import Region
from app.workstation import Workstation
from tests.support.live_hub import JUSTIFICATION, SeededHub

from .conftest import Desk

pytestmark = pytest.mark.e2e


class GatedTransport(httpx.HTTPTransport):
    """The real transport, with a gate on image downloads: while `closed` is set, an image
    request waits (and says so through `waiting`) until the gate opens."""

    def __init__(self) -> None:
        super().__init__()
        self.closed = threading.Event()
        self.waiting = threading.Event()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if "/images" in request.url.path and self.closed.is_set():
            self.waiting.set()
            while self.closed.is_set():
                threading.Event().wait(0.01)
        return super().handle_request(request)


@pytest.fixture
def gate() -> Iterator[GatedTransport]:
    transport = GatedTransport()
    yield transport
    transport.closed.clear()  # never leave a worker waiting


def _sign_in(
    seeded_hub: SeededHub, profile: Path, role: str, transport: httpx.BaseTransport | None = None
) -> Workstation:
    user = seeded_hub.user(role)
    workstation = Workstation.open(profile_dir=profile, hub_url=seeded_hub.url, transport=transport)
    workstation.login(
        username=user["username"], password=user["password"], totp=totp_now(user["totp_secret"])
    )
    return workstation


@pytest.fixture
def evidence(
    seeded_hub: SeededHub, tmp_path: Path, gate: GatedTransport
) -> Iterator[tuple[Workstation, str, list[str]]]:
    """The detective marks two reads of their case as evidence (from a synced slice) and
    the technician confirms them; the technician's workstation, its cache empty, behind
    the gate: (technician's workstation, case, the marked read ids)."""
    detective = _sign_in(seeded_hub, tmp_path / "profile", "detective")
    case = seeded_hub.case_for(seeded_hub.user("detective")["username"])
    now = datetime.now(UTC)
    try:
        created = detective.slices.request(
            case_number=case,
            purpose="robbery",
            justification=JUSTIFICATION,
            time_from=now - timedelta(days=5),
            time_to=now,
        )
        detective.sync(slice_id=created.slice_id)
        rows = detective.search.run(
            SearchQuery(case_number=case, purpose="robbery", pattern=None), limit=4
        ).rows
        marked = [rows[0].read_id, rows[3].read_id]
        for read_id in marked:
            detective.mark_evidence(read_id=read_id, case_number=case, note="left the lot")
    finally:
        detective.close()
    technician = _sign_in(seeded_hub, tmp_path / "technician", "evidence_technician", gate)
    standing = {h.read_id: h.status for h in technician.evidence.case_evidence(case_number=case)}
    proposed = [read_id for read_id in marked if standing[read_id] == "proposed"]
    if proposed:  # the module's hub keeps the first test's confirmations
        technician.evidence.confirm(case_number=case, read_ids=proposed)
    yield technician, case, marked
    technician.close()


Evidence = tuple[Workstation, str, list[str]]


def _dialog(qtbot: QtBot, evidence: Evidence, runner: TaskRunner, out_dir: Path) -> ExportDialog:
    workstation, case, _marked = evidence
    dialog = ExportDialog(workstation=workstation, runner=runner, case_number=case, out_dir=out_dir)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.evidence_loaded, timeout=20_000):
        dialog.show()
    return dialog


def _journaled(workstation: Workstation, action: str) -> list[dict[str, object]]:
    return [e for e in workstation.journal().events() if e["action"] == action]


def test_the_export_lists_the_evidence_with_its_holds(
    qtbot: QtBot, evidence: Evidence, runner: TaskRunner, tmp_path: Path
) -> None:
    workstation, _case, marked = evidence
    assert workstation.export.missing_reads(marked) == marked  # the technician's cache is empty
    dialog = _dialog(qtbot, evidence, runner, tmp_path)
    # The detective's marks, fetched under the evidence grant into an empty cache.
    assert sorted(r.read_id for r in dialog.reads) == sorted(marked)
    assert dialog.table.rowCount() == 2
    assert dialog.table.item(0, 0).text() == workstation.review.read(dialog.reads[0].read_id).plate
    assert dialog.table.item(0, HOLD).text() == "Confirmed"
    tip = dialog.table.item(0, HOLD).toolTip()
    assert "Marked by detective. Confirmed by technician." in tip
    assert dialog.table.item(0, 0).toolTip() == "left the lot"
    assert dialog.status_label.text() == (
        "2 reads of the case marked as evidence; in the packet: 2 confirmed reads."
    )
    assert dialog.export_button.isEnabled()


def test_dragging_on_the_image_adds_a_region_to_blur(
    qtbot: QtBot, evidence: Evidence, runner: TaskRunner, tmp_path: Path
) -> None:
    dialog = _dialog(qtbot, evidence, runner, tmp_path)
    view = dialog.region_view
    qtbot.waitUntil(lambda: view.scene().items() != [], timeout=20_000)
    start, end = view.mapFromScene(20, 20), view.mapFromScene(120, 80)
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(view.viewport(), pos=end)
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=end)
    [region] = view.regions
    assert abs(region.x - 20) <= 2
    assert abs(region.w - 100) <= 3
    read_id = dialog.reads[0].read_id
    assert dialog.redactions[read_id].regions == (region,)
    assert dialog.table.item(0, REDACTION).text() == "1 region blurred"

    inside = view.mapFromScene(60, 50)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.RightButton, pos=inside)
    assert view.regions == ()
    assert read_id not in dialog.redactions
    assert dialog.table.item(0, REDACTION).text() == "None"


def test_export_sends_the_redactions_and_reports_the_packet(
    qtbot: QtBot, evidence: Evidence, runner: TaskRunner, tmp_path: Path
) -> None:
    workstation = evidence[0]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    dialog = _dialog(qtbot, evidence, runner, out_dir)
    qtbot.waitUntil(lambda: dialog.region_view.scene().items() != [], timeout=20_000)
    region = Region(5, 5, 30, 20)
    dialog.region_view.add_region(region)
    dialog.zip_box.setChecked(True)
    with qtbot.waitSignal(dialog.export_finished, timeout=60_000) as finished:
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    packet = finished.args[0]
    assert packet.reads == 2
    # Written where asked, as a ZIP, with the region blurred in a derived copy.
    assert packet.packet.parent == out_dir
    assert packet.packet.suffix == ".zip"
    redacted = dialog.reads[0].read_id
    with zipfile.ZipFile(packet.packet) as archive:
        names = archive.namelist()
    assert f"{packet.packet.stem}/data/derived/{redacted}-scene.derived.png" in names
    [start] = _journaled(workstation, "export.start")
    assert start["params"]["derived"] == {redacted: [region.as_text()]}  # type: ignore[index]
    assert "written to" in dialog.result_label.text()
    assert "The hub has recorded its receipt." in dialog.result_label.text()


def test_cancel_stops_the_export_and_says_nothing_was_written(
    qtbot: QtBot, evidence: Evidence, runner: TaskRunner, tmp_path: Path, gate: GatedTransport
) -> None:
    workstation = evidence[0]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    dialog = _dialog(qtbot, evidence, runner, out_dir)
    qtbot.waitUntil(lambda: dialog.region_view.scene().items() != [], timeout=20_000)
    qtbot.waitUntil(lambda: runner.pending == 0, timeout=20_000)
    gate.closed.set()  # the export's image downloads hang, as on a slow line
    dialog.export()
    assert dialog.is_exporting
    assert dialog.close_button.text() == "Cancel"
    qtbot.waitUntil(gate.waiting.is_set, timeout=20_000)
    with qtbot.waitSignal(dialog.export_cancelled, timeout=20_000):
        qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)
        gate.closed.clear()
    assert not dialog.is_exporting
    assert dialog.result_label.text() == "Export cancelled: nothing was written."
    assert list(out_dir.iterdir()) == []
    assert [e["outcome"] for e in _journaled(workstation, "export.packet")] in ([], ["cancelled"])


def test_a_missing_folder_is_named_before_anything_starts(
    qtbot: QtBot, evidence: Evidence, runner: TaskRunner, tmp_path: Path
) -> None:
    dialog = _dialog(qtbot, evidence, runner, tmp_path)
    dialog.folder_edit.setText(str(tmp_path / "nowhere"))
    with qtbot.waitSignal(dialog.export_failed, timeout=20_000) as failed:
        dialog.export()
    assert "is not a folder" in failed.args[0]
    assert not dialog.is_exporting


def test_only_technicians_and_supervisors_get_the_export(
    qtbot: QtBot, desk: Desk, seeded_hub: SeededHub, tmp_path: Path
) -> None:
    window, _workstation, case = desk
    assert window.role == "detective"
    assert not window.desk_actions.export.isVisible()
    assert window.open_export() is None

    technician = _sign_in(seeded_hub, tmp_path / "technician", "evidence_technician")
    runner = TaskRunner()
    other = MainWindow(technician, runner, initial_case=case, initial_purpose="robbery")
    qtbot.addWidget(other)
    other.show()
    try:
        qtbot.waitUntil(lambda: other.is_ready, timeout=20_000)
        assert other.role == "evidence_technician"
        assert other.desk_actions.export.isEnabled()
        dialog = other.open_export()
        assert dialog is not None
        assert dialog.windowTitle() == f"Export evidence — case {case}"
        qtbot.waitUntil(lambda: runner.pending == 0, timeout=20_000)
    finally:
        other.close()
        assert runner.shutdown(timeout_ms=20_000)
        technician.close()
