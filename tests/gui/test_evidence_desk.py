"""The technician's evidence desk shows another workstation's marks (issue 22): the
detective marks reads on their desk; the technician's desk, its cache empty, lists
them with the detective's notes, confirms one and refuses one; the supervisor's desk
releases the confirmed one with a reason; the detective's desk shows whose hold stands.
Real services, real hub on loopback, both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.core.records import SearchQuery
from app.demo import totp_now
from app.ui.dialogs.export_dialog import ExportDialog
from app.ui.main_window import MainWindow
from app.ui.widgets.evidence_desk import DECIDED_BY, HOLD, MARKED_BY, NOTE, EvidenceDeskPanel
from app.ui.workers import TaskRunner
from app.workstation import Workstation
from tests.support.live_hub import SeededHub

pytestmark = pytest.mark.e2e


def _sign_in(seeded_hub: SeededHub, profile: Path, role: str) -> Workstation:
    user = seeded_hub.user(role)
    workstation = Workstation.open(profile_dir=profile, hub_url=seeded_hub.url)
    workstation.login(
        username=user["username"], password=user["password"], totp=totp_now(user["totp_secret"])
    )
    return workstation


def _desk(qtbot: QtBot, ws: Workstation, runner: TaskRunner, case: str) -> EvidenceDeskPanel:
    assert ws.session is not None
    panel = EvidenceDeskPanel(workstation=ws, runner=runner, case_number=case, role=ws.session.role)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.evidence_loaded, timeout=20_000):
        panel.refresh()
    return panel


def _cells(panel: EvidenceDeskPanel, column: int) -> dict[str, str]:
    return {row.read_id: panel.table.item(i, column).text() for i, row in enumerate(panel.rows)}


def _decide(
    qtbot: QtBot, panel: EvidenceDeskPanel, read_id: str, button: object, text: str
) -> None:
    panel.select_reads([read_id])
    panel.text_edit.setText(text)
    with qtbot.waitSignal(panel.evidence_loaded, timeout=20_000):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # type: ignore[arg-type]


def test_the_technicians_desk_shows_another_workstations_marks(
    qtbot: QtBot,
    synced_workstation: tuple[Workstation, str],
    seeded_hub: SeededHub,
    runner: TaskRunner,
    tmp_path: Path,
) -> None:
    detective, case = synced_workstation
    rows = detective.search.run(
        SearchQuery(case_number=case, purpose="robbery", pattern=None), limit=2
    ).rows
    kept, dropped = rows[0].read_id, rows[1].read_id
    detective.mark_evidence(read_id=kept, case_number=case, note="grey sedan at the exit")
    detective.mark_evidence(read_id=dropped, case_number=case, note="maybe the same car")

    # The technician's own window, its cache empty: the Evidence tab is the desk.
    technician = _sign_in(seeded_hub, tmp_path / "technician", "evidence_technician")
    window_runner = TaskRunner()
    window = MainWindow(technician, window_runner, initial_case=case, initial_purpose="robbery")
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(lambda: window.is_ready, timeout=20_000)
        desk = window.evidence_panel
        tab = window.results_tabs.indexOf(desk)
        assert window.results_tabs.isTabVisible(tab)
        with qtbot.waitSignal(desk.evidence_loaded, timeout=20_000):
            window.results_tabs.setCurrentWidget(desk)
        assert desk.case_number == case
        assert {row.read_id for row in desk.rows} == {kept, dropped}
        assert set(_cells(desk, MARKED_BY).values()) == {"detective"}
        assert _cells(desk, NOTE) == {kept: "grey sedan at the exit", dropped: "maybe the same car"}
        assert set(_cells(desk, HOLD).values()) == {"Proposed"}
        assert desk.status_label.text() == "2 reads marked as evidence, 2 holds standing."
        assert not desk.release_button.isVisibleTo(desk)  # a technician does not release

        with qtbot.waitSignal(desk.holds_decided, timeout=20_000):
            _decide(qtbot, desk, kept, desk.confirm_button, "matches the witness")
        _decide(qtbot, desk, dropped, desk.refuse_button, "a different model")
        assert _cells(desk, HOLD) == {kept: "Confirmed", dropped: "Refused"}
        assert set(_cells(desk, DECIDED_BY).values()) == {"technician"}
        # The confirmed read is fetched under the evidence grant: its plate shows.
        assert desk.table.item(next(i for i, r in enumerate(desk.rows) if r.read_id == kept),
                               0).text() == rows[0].plate  # fmt: skip
        qtbot.waitUntil(lambda: window_runner.pending == 0, timeout=20_000)
    finally:
        window.close()
        assert window_runner.shutdown(timeout_ms=20_000)
        technician.close()

    supervisor = _sign_in(seeded_hub, tmp_path / "supervisor", "supervisor")
    try:
        # The supervisor's export dialog shows the case's evidence, as a technician's.
        dialog = ExportDialog(workstation=supervisor, runner=runner, case_number=case)
        qtbot.addWidget(dialog)
        with qtbot.waitSignal(dialog.evidence_loaded, timeout=20_000):
            dialog.show()
        assert {row.read_id: row.hold for row in dialog.rows} == {
            kept: "confirmed", dropped: "refused",
        }  # fmt: skip
        assert [read.read_id for read in dialog.reads] == [kept]  # fetched under the grant
        assert dialog.status_label.text().endswith("in the packet: 1 confirmed read.")
        dialog.close()
        desk = _desk(qtbot, supervisor, runner, case)
        assert desk.release_button.isVisibleTo(desk)
        desk.select_reads([kept])
        with qtbot.waitSignal(desk.decision_failed, timeout=5_000):
            qtbot.mouseClick(desk.release_button, Qt.MouseButton.LeftButton)
        assert "reason" in desk.status_label.text()
        _decide(qtbot, desk, kept, desk.release_button, "plate ruled out by the registry")
        assert _cells(desk, HOLD)[kept] == "Released"
        assert _cells(desk, DECIDED_BY)[kept] == "supervisor"
    finally:
        supervisor.close()

    # The detective's desk, read only: which reads are evidence and whose hold stands.
    mine = _desk(qtbot, detective, runner, case)
    assert not mine.confirm_button.isVisibleTo(mine)
    assert _cells(mine, HOLD) == {kept: "Released", dropped: "Refused"}
    assert _cells(mine, DECIDED_BY) == {kept: "supervisor", dropped: "technician"}
