"""The supervisor's review queue in the window, and the detective's questions: the
model, then the panel, the notice and the answer dialog against a real hub."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextTable
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.core.oversight import queue_order
from app.core.plates import parse_pattern
from app.core.records import SearchQuery
from app.core.schemas import JustificationRequestPublic
from app.ui.main_window import MainWindow
from app.ui.models.review_queue_model import QUEUE_COLUMNS, ReviewQueueModel
from app.ui.operations import oversight
from app.ui.widgets.review_queue_panel import (
    NEEDS_NOTE,
    REVIEW_QUEUE_TAB,
    AnswerDialog,
    JustificationNotice,
    ReviewQueuePanel,
)
from app.ui.widgets.transparency_panel import TransparencyPanel
from app.ui.workers import TaskRunner
from app.workstation import Workstation
from tests.support.live_hub import SeededHub, signed_in
from tests.support.review_items import item
from tests.support.tools import need_tool

from .conftest import Desk

UNIT = "robbery-unit"


def test_review_queue_model(qtmodeltester: ModelTester) -> None:
    model = ReviewQueueModel()
    items = queue_order([item("a", ["off_hours"], 5), item("b", ["case_not_assigned"], 0)])
    model.set_items(items)
    qtmodeltester.check(model)
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers == list(QUEUE_COLUMNS)
    first = [model.data(model.index(0, c)) for c in (0, 2, 3, 4, 5, 6)]
    assert first == ["high", "detective", "2026-000123", "case not assigned", "3", "open"]
    assert model.data(model.index(0, 4), Qt.ItemDataRole.ToolTipRole) == (
        "case_not_assigned: case_not_assigned fired"
    )
    decided = items[1].model_copy(update={"status": "justification_requested"})
    with_signal = []
    model.dataChanged.connect(lambda top, bottom: with_signal.append((top.row(), bottom.row())))
    model.replace(decided)
    assert with_signal == [(1, 1)]
    assert model.data(model.index(1, 6)) == "justification requested"
    qtmodeltester.check(model)
    inserted: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _parent, first, last: inserted.append((first, last)))
    model.append_items([item("b", ["case_not_assigned"], 0), item("c", ["random_sample"], 9)])
    assert inserted == [(2, 2)]  # the next page, without the row shown already
    assert [i.item_id for i in model.items] == ["b", "a", "c"]
    assert model.data(model.index(2, 0)) == "low"
    qtmodeltester.check(model)


@pytest.fixture
def units(seeded_hub: SeededHub) -> None:
    """The detective and the supervisor in one unit; only the overbroad rule fires."""
    for role in ("detective", "supervisor"):
        username = seeded_hub.user(role)["username"]
        done = seeded_hub.hub_cli("user", "set-unit", "--username", username, "--unit", UNIT)
        assert done.returncode == 0, done.stderr
    for key, value in (("sample_rate", "0"), ("off_hours_start", "0"), ("off_hours_end", "0")):
        done = seeded_hub.hub_cli("policy", "set", key, value)
        assert done.returncode == 0, done.stderr


@pytest.mark.e2e
@pytest.mark.usefixtures("units")
def test_a_question_reaches_the_detective_and_the_answer_returns(
    qtbot: QtBot,
    seeded_hub: SeededHub,
    synced_workstation: tuple[Workstation, str],
    runner: TaskRunner,
    tmp_path: Path,
) -> None:
    detective, case = synced_workstation
    detective.search.run(
        SearchQuery(case_number=case, purpose="robbery", pattern=parse_pattern("1*"))
    )
    assert detective.audit.upload() > 0
    supervisor = signed_in(seeded_hub, "supervisor", tmp_path / "supervisor")
    try:
        panel = ReviewQueuePanel(workstation=supervisor, runner=runner)
        qtbot.addWidget(panel)
        with qtbot.waitSignal(panel.queue_loaded, timeout=20_000):
            panel.refresh()
        [item] = [i for i in panel.model.items if i.source == "workstation" and i.status == "open"]
        panel.select(item.item_id)
        shown = panel.detail.toPlainText()
        for context in (case, "overbroad_pattern", item.rules[0].reason, '"pattern": "1*"'):
            assert context in shown
        # A question needs its text: nothing is sent without it.
        with qtbot.waitSignal(panel.failed, timeout=5_000) as refused:
            qtbot.mouseClick(panel.justify_button, Qt.MouseButton.LeftButton)
        assert refused.args[0] == NEEDS_NOTE["request_justification"]
        question = "Why search every plate starting with 1?"
        panel.note_edit.setPlainText(question)
        with qtbot.waitSignal(panel.decided, timeout=20_000) as decided:
            qtbot.mouseClick(panel.justify_button, Qt.MouseButton.LeftButton)
        assert decided.args == [item.item_id, "justification_requested"]
        assert panel.model.data(panel.model.index(panel.model.row_of(item.item_id) or 0, 6)) == (
            "justification requested"
        )
        assert not panel.justify_button.isEnabled()  # asked already: wait for the answer

        # The detective's side: a notice that does not block, and the answer dialog.
        notice = JustificationNotice()
        qtbot.addWidget(notice)
        inbox: list[list[JustificationRequestPublic]] = []
        oversight.load_inbox(
            workstation=detective, runner=runner, on_success=inbox.append, on_failure=pytest.fail
        )
        qtbot.waitUntil(lambda: bool(inbox), timeout=20_000)
        notice.show_requests(inbox[0])
        assert not notice.isHidden()
        assert notice.text_label.text().startswith("1 question from a supervisor")
        [request] = inbox[0]
        assert (request.item_id, request.question) == (item.item_id, question)
        dialog = AnswerDialog(request, workstation=detective, runner=runner)
        qtbot.addWidget(dialog)
        assert question in dialog.question_label.text()
        answer = "The witness saw only the first digit, 1, on the getaway car's plate."
        dialog.answer_edit.setPlainText(answer)
        with qtbot.waitSignal(dialog.answered, timeout=20_000):
            dialog.send()

        with qtbot.waitSignal(panel.queue_loaded, timeout=20_000):
            panel.refresh()
        [back] = [i for i in panel.model.items if i.item_id == item.item_id]
        assert back.status == "answered"
        panel.select(item.item_id)
        assert answer in panel.detail.toPlainText()
    finally:
        supervisor.close()


@pytest.mark.e2e
@pytest.mark.usefixtures("units")
def test_the_window_shows_the_queue_to_a_supervisor_and_questions_to_the_detective(
    qtbot: QtBot, seeded_hub: SeededHub, desk: Desk, runner: TaskRunner, tmp_path: Path
) -> None:
    window, detective, case = desk
    queue_tab = window.results_tabs.indexOf(window.review_queue_panel)
    assert window.results_tabs.tabText(queue_tab) == REVIEW_QUEUE_TAB
    assert not window.results_tabs.isTabVisible(queue_tab)  # a detective has no queue
    detective.search.run(
        SearchQuery(case_number=case, purpose="robbery", pattern=parse_pattern("1*"))
    )
    assert detective.audit.upload() > 0
    with qtbot.waitSignal(window.questions_checked, timeout=20_000) as checked:
        window.chores.check_questions()
    assert checked.args == [0]
    assert window.justification_notice.isHidden()

    supervisor = signed_in(seeded_hub, "supervisor", tmp_path / "supervisor")
    supervisor_runner = TaskRunner()
    try:
        desk_window = MainWindow(supervisor, supervisor_runner)
        qtbot.addWidget(desk_window)
        panel = desk_window.review_queue_panel
        qtbot.waitUntil(lambda: panel.model.rowCount() > 0, timeout=20_000)
        tab = desk_window.results_tabs.indexOf(panel)
        assert desk_window.results_tabs.isTabVisible(tab)
        # The queue takes the whole width: the search and the image pane stand aside.
        desk_window.results_tabs.setCurrentWidget(panel)
        assert desk_window.search_panel.isHidden()
        assert desk_window.image_pane.isHidden()
        desk_window.results_tabs.setCurrentWidget(desk_window.results_view)
        assert not desk_window.search_panel.isHidden()
        assert not desk_window.image_pane.isHidden()
        [item] = [i for i in panel.model.items if i.source == "workstation" and i.status == "open"]
        question = "Which witness saw the 1?"
        supervisor.oversight.decide(item.item_id, decision="request_justification", note=question)
        desk_window.close()
    finally:
        # The supervisor's desk may still have a hub check in flight: its own runner waits
        # for it before the workstation closes (a task after close would open a new client).
        assert supervisor_runner.shutdown(timeout_ms=10_000), "background tasks did not finish"
        supervisor.close()

    with qtbot.waitSignal(window.questions_checked, timeout=20_000) as checked:
        window.chores.check_questions()
    assert checked.args == [1]
    assert window.justification_notice.isVisible()  # the desk goes on: it does not block
    window.justification_notice.answer_button.click()
    dialog = window.chores.answer_dialog
    assert dialog is not None
    assert not dialog.isModal()
    assert question in dialog.question_label.text()
    dialog.answer_edit.setPlainText("Mrs. Lee, at the pharmacy door; she saw only the 1.")
    with (
        qtbot.waitSignal(window.questions_checked, timeout=20_000) as checked,
        qtbot.waitSignal(dialog.answered, timeout=20_000),
    ):
        dialog.send()
    assert checked.args == [0]
    assert window.justification_notice.isHidden()
    assert detective.oversight.inbox() == []


@pytest.mark.e2e
@pytest.mark.usefixtures("units")
def test_the_supervisor_sees_the_reads_an_overbroad_search_returned(
    qtbot: QtBot,
    seeded_hub: SeededHub,
    synced_workstation: tuple[Workstation, str],
    runner: TaskRunner,
    tmp_path: Path,
) -> None:
    detective, case = synced_workstation
    found = detective.search.run(
        SearchQuery(case_number=case, purpose="robbery", pattern=parse_pattern("2*"))
    )
    assert detective.audit.upload() > 0
    supervisor = signed_in(seeded_hub, "supervisor", tmp_path / "supervisor")
    try:
        panel = ReviewQueuePanel(workstation=supervisor, runner=runner)
        qtbot.addWidget(panel)
        cameras = supervisor.catalog.cameras()
        panel.set_cameras(cameras)  # as the window does once the catalog is loaded
        with qtbot.waitSignal(panel.queue_loaded, timeout=20_000):
            panel.refresh()
        [item] = [i for i in panel.model.items if i.params.get("pattern") == "2*"]
        assert item.severity == "medium"
        pane = panel.context
        with qtbot.waitSignal(pane.searches_loaded, timeout=20_000):
            panel.select(item.item_id)
        shown = panel.detail.toPlainText()
        for context in (f"case {case} (open)", "severity medium", item.rules[0].reason):
            assert context in shown
        assert "(this search)" in pane.searches_view.toPlainText()
        assert pane.reads_table.rowCount() == 0  # nothing shown until asked: it is audited
        with (
            qtbot.waitSignal(pane.reads_loaded, timeout=20_000) as loaded,
            qtbot.waitSignal(pane.image_loaded, timeout=20_000),
        ):
            qtbot.mouseClick(pane.reads_button, Qt.MouseButton.LeftButton)
        assert loaded.args[0] == pane.reads_table.rowCount() > 0
        assert pane.shown is not None
        assert pane.shown.total == item.result_count == found.total
        plates = [pane.reads_table.item(r, 1).text() for r in range(pane.reads_table.rowCount())]
        assert all(plate.startswith("2") for plate in plates)
        names = {c.camera_id: c.name for c in cameras}
        first = pane.shown.reads[0]
        camera = pane.reads_table.item(0, 2)
        assert (camera.text(), camera.toolTip()) == (names[first.camera_id], first.camera_id)
        assert camera.text() != first.camera_id  # a name, not the id
        assert not pane.thumbnail.pixmap().isNull()  # the image came through the review grant
        journal = supervisor.journal().events()
        [viewed] = [e for e in journal if e["action"] == "review.reads"]
        assert viewed["object_refs"] == {"item_id": item.item_id}
        assert viewed["params"]["total"] == found.total
        assert any(e["action"] == "review.image" for e in journal)
    finally:
        supervisor.close()


@pytest.mark.e2e
@pytest.mark.usefixtures("units")
def test_transparency_preview_and_monthly_report(
    qtbot: QtBot, seeded_hub: SeededHub, runner: TaskRunner, tmp_path: Path
) -> None:
    supervisor = signed_in(seeded_hub, "supervisor", tmp_path / "supervisor")
    try:
        panel = TransparencyPanel(workstation=supervisor, runner=runner)
        qtbot.addWidget(panel)
        with qtbot.waitSignal(panel.preview_loaded, timeout=20_000):
            panel.refresh()
        public = httpx.get(f"{seeded_hub.url}/transparency.json", timeout=10).json()
        assert panel.report is not None
        shown = panel.preview.toPlainText()
        assert f"Searches, last {public['period_days']} days" in shown
        for figure in ("searches", "unique_vehicles", "refused_searches", "flagged_searches"):
            assert getattr(panel.report, figure) == public[figure]
        # each label and its figure keep a gap in the preview (Qt's rich text reads no
        # rem padding from the page's style sheet)
        tables = [
            frame
            for frame in panel.preview.document().rootFrame().childFrames()
            if isinstance(frame, QTextTable)
        ]
        assert len(tables) == 4
        assert all(table.format().cellPadding() >= 4 for table in tables)
        panel.month_edit.setText("11/2026")
        with qtbot.waitSignal(panel.failed, timeout=20_000) as bad:
            panel.save_report(tmp_path / "bad.pdf")
        assert "YYYY-MM" in bad.args[0]
        month = datetime.now(UTC).strftime("%Y-%m")
        panel.month_edit.setText(month)
        with qtbot.waitSignal(panel.report_saved, timeout=30_000) as saved:
            panel.save_report(tmp_path / "council")
        path = Path(saved.args[0])
        assert path.name == "council.pdf"
        text = subprocess.run(
            [need_tool("pdftotext"), "-layout", str(path), "-"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        assert f"ALPR transparency report: {datetime.now(UTC):%B %Y}" in text
        assert "Refused requests (" in text
        [made] = [e for e in supervisor.journal().events() if e["action"] == "transparency.report"]
        assert made["object_refs"] == {"month": month}
    finally:
        supervisor.close()


@pytest.mark.e2e
@pytest.mark.usefixtures("units")
def test_random_sample_items_are_approved_together_in_the_queue(
    qtbot: QtBot,
    seeded_hub: SeededHub,
    synced_workstation: tuple[Workstation, str],
    runner: TaskRunner,
    tmp_path: Path,
) -> None:
    detective, case = synced_workstation
    done = seeded_hub.hub_cli("policy", "set", "sample_rate", "1")
    assert done.returncode == 0, done.stderr
    try:
        for pattern in ("7K2*", "ABC*", "3*"):  # the last one is overbroad too: medium
            detective.search.run(
                SearchQuery(case_number=case, purpose="robbery", pattern=parse_pattern(pattern))
            )
        assert detective.audit.upload() > 0
    finally:
        done = seeded_hub.hub_cli("policy", "set", "sample_rate", "0")
        assert done.returncode == 0, done.stderr
    supervisor = signed_in(seeded_hub, "supervisor", tmp_path / "supervisor")
    try:
        panel = ReviewQueuePanel(workstation=supervisor, runner=runner)
        qtbot.addWidget(panel)
        panel.filter_bar.rule_box.setCurrentIndex(
            panel.filter_bar.rule_box.findData("random_sample")
        )
        with qtbot.waitSignal(panel.queue_loaded, timeout=20_000):
            qtbot.mouseClick(panel.filter_bar.apply_button, Qt.MouseButton.LeftButton)
        ours = {i.params.get("pattern"): i for i in panel.model.items if i.source == "workstation"}
        low = [ours["7K2*"].item_id, ours["ABC*"].item_id]
        broad = ours["3*"]
        severities = [i.severity for i in panel.model.items]
        assert severities == sorted(severities, key=["high", "medium", "low"].index)
        panel.select_many([*low, broad.item_id])
        assert not panel.sample_button.isEnabled()  # a medium item is among them
        panel.select_many(low)
        assert panel.sample_button.isEnabled()
        with qtbot.waitSignal(panel.sampled, timeout=20_000) as sampled:
            qtbot.mouseClick(panel.sample_button, Qt.MouseButton.LeftButton)
        assert sampled.args == [2]
        assert {panel.model.item_at(panel.model.row_of(i) or 0).status for i in low} == {"approved"}
        assert not panel.sample_button.isEnabled()  # decided now
        journal = [e for e in supervisor.journal().events() if e["action"] == "review.decision"]
        assert sorted(e["object_refs"]["item_id"] for e in journal) == sorted(low)
        assert all(e["params"]["bulk"] is True for e in journal)
    finally:
        supervisor.close()
