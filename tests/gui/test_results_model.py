"""The lazy results model: pages on demand, one request at a time; the real services over a
temporary cache and a real hub on loopback (a double only at the network edge)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QTableView
from pytestqt.qtbot import QtBot

from app.core.plates import parse_pattern
from app.core.records import SearchQuery
from app.demo import totp_now
from app.ui.formatting import percent
from app.ui.models.results_model import COLUMNS, PLATE, THUMBNAIL_SIZE, ResultsTableModel
from app.ui.workers import TaskRunner
from app.workstation import Workstation
from tests.support.edge import SwitchableTransport
from tests.support.live_hub import JUSTIFICATION, SeededHub

pytestmark = pytest.mark.e2e

PAGE = 100


class CountingCable(SwitchableTransport):
    """The real transport, pullable, that notes the image paths asked for (even while down)."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if "/images/" in request.url.path:
            self.images.append(request.url.path.rsplit("/", 1)[-1])
        return super().handle_request(request)


@pytest.fixture
def cable() -> CountingCable:
    return CountingCable()


@pytest.fixture
def synced(
    seeded_hub: SeededHub, tmp_path: Path, cable: CountingCable
) -> Iterator[tuple[Workstation, str]]:
    """The detective signed in through the cable, their case's slice synced without images."""
    user = seeded_hub.user("detective")
    workstation = Workstation.open(
        profile_dir=tmp_path / "profile", hub_url=seeded_hub.url, transport=cable
    )
    workstation.login(
        username=user["username"], password=user["password"], totp=totp_now(user["totp_secret"])
    )
    case = seeded_hub.case_for(user["username"])
    now = datetime.now(UTC)
    created = workstation.slices.request(
        case_number=case,
        purpose="robbery",
        justification=JUSTIFICATION,
        time_from=now - timedelta(days=5),
        time_to=now,
    )
    workstation.sync(slice_id=created.slice_id)
    yield workstation, case
    workstation.close()


def _model(workstation: Workstation, runner: TaskRunner) -> ResultsTableModel:
    return ResultsTableModel(workstation=workstation, runner=runner, page_size=PAGE)


def _query(case: str, text: str | None = None) -> SearchQuery:
    return SearchQuery(
        case_number=case, purpose="robbery", pattern=parse_pattern(text) if text else None
    )


def _searches(workstation: Workstation) -> list[dict[str, object]]:
    return [e for e in workstation.journal().events() if e["action"] == "search"]


def _read_ids(model: ResultsTableModel) -> list[str]:
    return [model.read_at(row).read_id for row in range(model.rowCount())]


def test_first_page_carries_the_count(
    qtbot: QtBot, synced: tuple[Workstation, str], runner: TaskRunner
) -> None:
    workstation, case = synced
    newest = workstation.search.run(_query(case), limit=1)
    before = len(_searches(workstation))
    model = _model(workstation, runner)
    with qtbot.waitSignal(model.search_finished, timeout=20_000) as blocker:
        model.start_search(_query(case))
    assert blocker.args == [newest.total]
    assert newest.total > 4 * PAGE  # enough reads for the paging below
    assert model.rowCount() == PAGE
    assert model.columnCount() == len(COLUMNS)
    # One search, journaled once with its count; a page read ahead is not a new search.
    qtbot.waitUntil(lambda: not model.is_fetching, timeout=20_000)
    searches = _searches(workstation)[before:]
    assert len(searches) == 1
    assert model.data(model.index(0, 1)) == newest.rows[0].plate
    assert model.data(model.index(0, 7)) == percent(newest.rows[0].confidence)
    assert model.headerData(0, Qt.Orientation.Horizontal) == "Time"


def test_model_passes_the_model_tester(
    qtbot: QtBot, qtmodeltester, synced: tuple[Workstation, str], runner: TaskRunner
) -> None:
    workstation, case = synced
    model = _model(workstation, runner)
    with qtbot.waitSignal(model.search_finished, timeout=20_000) as blocker:
        model.start_search(_query(case))
    total = blocker.args[0]
    qtmodeltester.check(model)
    # The tester may have asked for one more page; let it land under the tester's eye.
    qtbot.waitUntil(lambda: not model.is_fetching, timeout=20_000)
    ids = _read_ids(model)
    assert len(set(ids)) == len(ids), "a page was shown twice"
    assert model.rowCount() % PAGE == 0 or model.rowCount() == total
    assert model.rowCount(model.index(0, 0)) == 0
    assert not model.canFetchMore(model.index(0, 0))


def test_reads_one_page_ahead_and_shows_it_on_scroll_without_waiting(
    qtbot: QtBot, synced: tuple[Workstation, str], runner: TaskRunner
) -> None:
    workstation, case = synced
    everything = workstation.search.run(_query(case), limit=100_000)
    model = _model(workstation, runner)
    view = QTableView()
    qtbot.addWidget(view)
    view.resize(600, 300)
    view.setModel(model)
    view.show()
    with qtbot.waitSignal(model.search_finished, timeout=20_000):
        model.start_search(_query(case))
    qtbot.waitExposed(view)
    assert model.rowCount() == PAGE
    # The next page is read in the background, but not shown until asked for.
    qtbot.waitUntil(lambda: not model.is_fetching, timeout=20_000)
    assert model.rowCount() == PAGE

    # Asked for, the page read ahead goes in at once, before any event is handled;
    # a second ask while the next page is on its way adds nothing.
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 2 * PAGE
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 2 * PAGE
    with qtbot.waitSignal(model.page_loaded, timeout=20_000) as blocker:
        pass
    assert blocker.args == [PAGE]
    assert model.rowCount() == 3 * PAGE
    qtbot.waitUntil(lambda: not model.is_fetching, timeout=20_000)

    # Scrolling to the end shows the page read ahead, in order after the last row.
    view.scrollToBottom()
    qtbot.waitUntil(lambda: model.rowCount() == 4 * PAGE, timeout=20_000)
    expected = [r.read_id for r in everything.rows]
    assert _read_ids(model) == expected[: 4 * PAGE]

    # Until the end: every read once, in order, and nothing more to fetch.
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
        qtbot.waitUntil(lambda: not model.is_fetching, timeout=20_000)
    assert model.rowCount() == everything.total
    model.fetchMore(QModelIndex())
    qtbot.waitUntil(lambda: not model.is_fetching, timeout=20_000)
    assert _read_ids(model) == expected


def test_a_new_search_drops_a_late_page(
    qtbot: QtBot, synced: tuple[Workstation, str], runner: TaskRunner
) -> None:
    workstation, case = synced
    plate = workstation.search.run(_query(case), limit=1).rows[0].plate
    fragment = plate[:3]
    narrow = workstation.search.run(_query(case, f"{fragment}*"), limit=100_000)
    model = _model(workstation, runner)
    with qtbot.waitSignal(model.search_finished, timeout=20_000):
        model.start_search(_query(case))
    with qtbot.waitSignal(model.search_finished, timeout=20_000) as blocker:
        model.fetchMore(QModelIndex())
        model.start_search(_query(case, f"{fragment}*"))
    assert blocker.args == [narrow.total]
    qtbot.waitUntil(lambda: runner.pending == 0, timeout=20_000)
    assert model.rowCount() == min(narrow.total, PAGE)
    assert all(model.read_at(row).plate.startswith(fragment) for row in range(model.rowCount()))


def test_painted_rows_get_plate_crop_thumbnails_in_batches(
    qtbot: QtBot, synced: tuple[Workstation, str], runner: TaskRunner, cable: CountingCable
) -> None:
    workstation, case = synced
    model = _model(workstation, runner)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(600, 300)
    with qtbot.waitSignal(model.search_finished, timeout=20_000):
        model.start_search(_query(case))
    view.show()
    first = model.read_at(0).read_id
    qtbot.waitUntil(lambda: model.thumbnail(first) is not None, timeout=20_000)
    thumbnail = model.thumbnail(first)
    assert thumbnail is not None
    assert thumbnail.height() <= THUMBNAIL_SIZE.height()
    assert model.data(model.index(0, PLATE), Qt.ItemDataRole.DecorationRole) is thumbnail
    # Only rows that were painted were fetched (and kept in the cache), never the whole page.
    assert 0 < len(cable.images) < PAGE
    assert workstation.review.cached_crop(first)[1] is not None
    last = model.read_at(PAGE - 1).read_id
    assert model.thumbnail(last) is None
    assert workstation.review.cached_crop(last)[1] is None


def test_without_the_hub_rows_have_no_thumbnail_and_still_show_the_plate(
    qtbot: QtBot, synced: tuple[Workstation, str], runner: TaskRunner, cable: CountingCable
) -> None:
    workstation, case = synced
    cable.down = True
    model = _model(workstation, runner)
    with qtbot.waitSignal(model.search_finished, timeout=20_000):
        model.start_search(_query(case))
    assert model.data(model.index(0, PLATE), Qt.ItemDataRole.DecorationRole) is None
    first = model.read_at(0)
    crop = workstation.review.cached_crop(first.read_id)[0]
    qtbot.waitUntil(lambda: crop in cable.images, timeout=20_000)
    qtbot.waitUntil(lambda: runner.pending == 0, timeout=20_000)
    assert model.data(model.index(0, PLATE), Qt.ItemDataRole.DecorationRole) is None
    assert model.data(model.index(0, PLATE)) == first.plate
    assert cable.images.count(crop) == 1  # not asked again
