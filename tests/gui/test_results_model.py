"""The lazy results model: pages on demand, one request at a time."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QTableView
from pytestqt.qtbot import QtBot

from app.core.plates import parse_pattern
from app.core.records import SearchQuery
from app.ui.models.results_model import COLUMNS, PLATE, THUMBNAIL_SIZE, ResultsTableModel
from app.ui.workers import TaskRunner

from .fakes import CASE, FakeWorkstation

PAGE = 100


def _model(workstation: FakeWorkstation, runner: TaskRunner) -> ResultsTableModel:
    return ResultsTableModel(workstation=workstation, runner=runner, page_size=PAGE)


def _query(text: str | None = None) -> SearchQuery:
    return SearchQuery(
        case_number=CASE, purpose="robbery", pattern=parse_pattern(text) if text else None
    )


def test_first_page_carries_the_count(
    qtbot: QtBot, workstation: FakeWorkstation, runner: TaskRunner
) -> None:
    model = _model(workstation, runner)
    with qtbot.waitSignal(model.search_finished, timeout=2000) as blocker:
        model.start_search(_query())
    assert blocker.args == [450]
    assert model.rowCount() == PAGE
    assert model.columnCount() == len(COLUMNS)
    calls = [(after, limit) for _, after, limit in workstation.search_calls]
    # The first page, then perhaps the page read ahead (it may have begun already).
    assert calls[0] == (None, PAGE)
    assert len(calls) <= 2
    assert all(after is not None for after, _ in calls[1:])
    assert model.data(model.index(0, 1)) == workstation.reads[0].plate
    assert model.data(model.index(0, 7)) == "80%"
    assert model.headerData(0, Qt.Orientation.Horizontal) == "Time"


def test_model_passes_the_model_tester(
    qtbot: QtBot, qtmodeltester, workstation: FakeWorkstation, runner: TaskRunner
) -> None:
    model = _model(workstation, runner)
    with qtbot.waitSignal(model.search_finished, timeout=2000):
        model.start_search(_query())
    qtmodeltester.check(model)
    # The tester may have asked for one more page; let it land under the tester's eye.
    qtbot.waitUntil(lambda: not model.is_fetching, timeout=2000)
    cursors = [after for _, after, _ in workstation.search_calls]
    assert len(set(cursors)) == len(cursors), "a page was asked for twice"
    assert model.rowCount() == min(len(workstation.reads), PAGE * len(cursors))
    assert model.rowCount(model.index(0, 0)) == 0
    assert not model.canFetchMore(model.index(0, 0))


def test_reads_one_page_ahead_and_shows_it_on_scroll_without_waiting(
    qtbot: QtBot, workstation: FakeWorkstation, runner: TaskRunner
) -> None:
    model = _model(workstation, runner)
    view = QTableView()
    qtbot.addWidget(view)
    view.resize(600, 300)
    view.setModel(model)
    view.show()
    with qtbot.waitSignal(model.search_finished, timeout=2000):
        model.start_search(_query())
    qtbot.waitExposed(view)
    assert model.rowCount() == PAGE
    # The next page is read in the background, but not shown until asked for.
    qtbot.waitUntil(lambda: not model.is_fetching, timeout=2000)
    assert len(workstation.search_calls) == 2
    assert model.rowCount() == PAGE

    # Asked for, the page read ahead goes in at once, before any event is handled;
    # a second ask while the next page is on its way asks the workstation nothing.
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 2 * PAGE
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 2 * PAGE
    with qtbot.waitSignal(model.page_loaded, timeout=2000) as blocker:
        pass
    assert blocker.args == [PAGE]
    assert model.rowCount() == 3 * PAGE
    qtbot.waitUntil(lambda: not model.is_fetching, timeout=2000)
    assert len(workstation.search_calls) == 4  # pages 1-3 shown, page 4 read ahead

    # Scrolling to the end shows the page read ahead, read with the last row's cursor.
    view.scrollToBottom()
    qtbot.waitUntil(lambda: model.rowCount() == 4 * PAGE, timeout=2000)
    _, after, _ = workstation.search_calls[3]
    assert after is not None
    assert after.row_id == 3 * PAGE - 1  # the fake's row id: the read's place in its list
    assert {limit for _, _, limit in workstation.search_calls} == {PAGE}

    # Until the end: the last page is short and nothing more is asked for.
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
        qtbot.waitUntil(lambda: not model.is_fetching, timeout=2000)
    assert model.rowCount() == 450
    calls = len(workstation.search_calls)
    model.fetchMore(QModelIndex())
    assert len(workstation.search_calls) == calls
    cursors = [after for _, after, _ in workstation.search_calls]
    assert len(set(cursors)) == len(cursors), "a page was asked for twice"


def test_a_new_search_drops_a_late_page(
    qtbot: QtBot, workstation: FakeWorkstation, runner: TaskRunner
) -> None:
    model = _model(workstation, runner)
    with qtbot.waitSignal(model.search_finished, timeout=2000):
        model.start_search(_query())
    with qtbot.waitSignal(model.search_finished, timeout=2000) as blocker:
        model.fetchMore(QModelIndex())
        model.start_search(_query("*7K2*"))
    assert blocker.args == [90]
    qtbot.waitUntil(lambda: runner.pending == 0, timeout=2000)
    assert model.rowCount() == 90
    assert all("7K2" in model.read_at(row).plate for row in range(model.rowCount()))


def test_painted_rows_get_plate_crop_thumbnails_in_batches(
    qtbot: QtBot, workstation: FakeWorkstation, runner: TaskRunner
) -> None:
    model = _model(workstation, runner)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(600, 300)
    with qtbot.waitSignal(model.search_finished, timeout=2000):
        model.start_search(_query())
    view.show()
    qtbot.waitUntil(lambda: model.thumbnail(model.read_at(0).read_id) is not None, timeout=2000)
    thumbnail = model.thumbnail(model.read_at(0).read_id)
    assert thumbnail is not None
    assert thumbnail.height() <= THUMBNAIL_SIZE.height()
    assert model.data(model.index(0, PLATE), Qt.ItemDataRole.DecorationRole) is thumbnail
    # Only rows that were painted were asked for, never the whole page.
    assert 0 < len(workstation.crop_calls) < PAGE
    assert model.thumbnail(model.read_at(PAGE - 1).read_id) is None


def test_without_the_hub_rows_have_no_thumbnail_and_still_show_the_plate(
    qtbot: QtBot, workstation: FakeWorkstation, runner: TaskRunner
) -> None:
    workstation.hub_unreachable = True
    model = _model(workstation, runner)
    with qtbot.waitSignal(model.search_finished, timeout=2000):
        model.start_search(_query())
    assert model.data(model.index(0, PLATE), Qt.ItemDataRole.DecorationRole) is None
    qtbot.waitUntil(lambda: workstation.crop_calls != [], timeout=2000)
    qtbot.wait(50)
    assert model.data(model.index(0, PLATE), Qt.ItemDataRole.DecorationRole) is None
    assert model.data(model.index(0, PLATE)) == workstation.reads[0].plate
    assert workstation.crop_calls.count(model.read_at(0).read_id) == 1  # not asked again
