"""The search results: a lazy table model that pages through Workstation.search.

The first page arrives with the result count; further pages are read one page
ahead of the rows shown, one request at a time, through the task runner, so the
GUI thread never waits on the cache: when the view scrolls to the end
(canFetchMore/fetchMore) the page read ahead goes in at once. Each row's text is
made with its page, off the GUI thread, so painting a cell is one lookup. The guards
follow Qt's C++ fetchmore example (filelistmodel.cpp): valid parents have no
rows, and rows are inserted as `first .. first + n - 1`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QFont, QPixmap

from app.core.records import (
    NEWEST_FIRST,
    ReadRecord,
    ReviewMark,
    SearchCursor,
    SearchOrder,
    SearchPage,
    SearchQuery,
    SortKey,
)
from app.ui.errors import user_message
from app.ui.formatting import local_time, percent, travelling
from app.ui.images import to_qimage
from app.ui.workers import Lane, TaskRunner
from app.vision.enhance import Image, decode_jpeg, fit_within

if TYPE_CHECKING:
    from app.workstation import Workstation

log = logging.getLogger(__name__)

ModelIndex = QModelIndex | QPersistentModelIndex

COLUMNS: tuple[str, ...] = (
    "Time",
    "Plate",
    "State",
    "Camera",
    "Make",
    "Model",
    "Color",
    "Confidence",
    "Review",
)
TIME, PLATE, STATE, CAMERA, MAKE, MODEL, COLOR, CONFIDENCE, REVIEW = range(len(COLUMNS))
FUZZY_MARK = " ≈"  # after a plate found as a possible misread of the pattern
REVIEW_LABELS = {"evidence": "Evidence", "misread": "Misread"}
# The engine's sort key behind each column (the table sorts by asking the engine).
COLUMN_SORT_KEYS: tuple[SortKey, ...] = (
    SortKey.TIME,
    SortKey.PLATE,
    SortKey.STATE,
    SortKey.CAMERA,
    SortKey.MAKE,
    SortKey.MODEL,
    SortKey.COLOR,
    SortKey.CONFIDENCE,
)
DEFAULT_PAGE_SIZE = 200
THUMBNAIL_SIZE = QSize(66, 22)  # the plate crop beside the plate text
THUMBNAIL_BATCH = 40  # crops asked for in one background task
THUMBNAIL_CACHE = 3000  # decoded thumbnails kept (a few screens of rows)


class ResultsTableModel(QAbstractTableModel):
    """Reads matching one search, newest first, fetched page by page."""

    READ_ROLE = Qt.ItemDataRole.UserRole + 1

    search_finished = Signal(int)  # the first page arrived; the result count
    search_failed = Signal(str)  # a message for the user
    page_loaded = Signal(int)  # a further page arrived; how many rows it added
    thumbnails_loaded = Signal(int)  # how many plate-crop thumbnails arrived

    def __init__(
        self,
        *,
        workstation: Workstation,
        runner: TaskRunner,
        page_size: int = DEFAULT_PAGE_SIZE,
        parent: Any = None,
    ) -> None:
        super().__init__(parent)
        self._workstation = workstation
        self._runner = runner
        self._page_size = page_size
        self._rows: list[ReadRecord] = []
        self._cells: list[tuple[str, ...]] = []  # each row's text, column by column
        self._query: SearchQuery | None = None
        self._order: SearchOrder = NEWEST_FIRST
        self._cursor: SearchCursor | None = None  # where the next page to read starts
        self._ahead: _ShownPage | None = None  # a page read ahead, not in the table yet
        self._wanted = False  # the view asked for more before the page ahead arrived
        self._total: int | None = None
        self._fetching = False
        self._generation = 0
        # Plate-crop thumbnails, asked for only for the rows a view paints.
        self._thumbnails: dict[str, QPixmap] = {}  # read id -> thumbnail (insertion = age)
        self._thumbnails_wanted: list[str] = []  # read ids, in the order painted
        self._thumbnails_asked: set[str] = set()  # wanted, loading, or unavailable
        self._thumbnail_flush = QTimer(self)
        self._thumbnail_flush.setSingleShot(True)
        self._thumbnail_flush.setInterval(0)
        self._thumbnail_flush.timeout.connect(self._load_thumbnails)
        self._row_of: dict[str, int] = {}
        self._plate_font = QFont("monospace")
        self._plate_font.setStyleHint(QFont.StyleHint.TypeWriter)
        self._plate_font.setBold(True)

    # -- searching -------------------------------------------------------

    @property
    def query(self) -> SearchQuery | None:
        return self._query

    @property
    def order(self) -> SearchOrder:
        return self._order

    @property
    def total(self) -> int | None:
        """The result count, once the first page has arrived."""
        return self._total

    @property
    def is_fetching(self) -> bool:
        return self._fetching

    def start_search(self, query: SearchQuery) -> None:
        """Drop the current results and ask for the first page of `query`."""
        self._reset(query)
        self._fetching = True
        generation = self._generation
        workstation, order, limit = self._workstation, self._order, self._page_size
        self._runner.run(
            lambda: _shown_page(
                workstation.search.run(query, order=order, after=None, limit=limit), query
            ),
            on_success=lambda page: self._first_page_arrived(generation, page),
            on_failure=lambda exc: self._fetch_failed(generation, exc),
            lane=Lane.CACHE,
        )

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Order by a column: the engine sorts the whole result, then pages again."""
        if not 0 <= column < len(COLUMN_SORT_KEYS):
            return
        wanted = SearchOrder(
            COLUMN_SORT_KEYS[column], descending=order == Qt.SortOrder.DescendingOrder
        )
        if wanted == self._order:
            return
        self._order = wanted
        if self._query is not None:
            self.start_search(self._query)

    def conceal(self) -> None:
        """The lock: the model holds no read."""
        self.clear()

    def clear(self) -> None:
        self._reset(None)

    def read_at(self, row: int) -> ReadRecord:
        return self._rows[row]

    def _reset(self, query: SearchQuery | None) -> None:
        self._generation += 1
        self.beginResetModel()
        self._rows = []
        self._cells = []
        self._row_of = {}
        self._thumbnails_wanted = []
        self._thumbnails_asked = set(self._thumbnails)  # a new search may ask again
        self._query = query
        self._cursor = None
        self._ahead = None
        self._wanted = False
        self._total = None
        self._fetching = False
        self.endResetModel()

    def _first_page_arrived(self, generation: int, shown: _ShownPage) -> None:
        if generation != self._generation:
            return
        page = shown.page
        self._page_read(shown)
        self._append(shown)
        self._total = page.total if page.total is not None else len(self._rows)
        self.search_finished.emit(self._total)
        self._read_ahead()

    def _next_page_arrived(self, generation: int, shown: _ShownPage) -> None:
        if generation != self._generation:
            return
        self._page_read(shown)
        if self._wanted:
            self._wanted = False
            self._show(shown)
        else:
            self._ahead = shown

    def _page_read(self, shown: _ShownPage) -> None:
        """A page came back: nothing is on its way, and the next page starts after it."""
        self._fetching = False
        self._cursor = shown.page.next_cursor if shown.page.rows else None

    def _fetch_failed(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        self._fetching = False
        self._cursor = None  # stop asking: a failing page would fail on every scroll
        self._wanted = False
        self.search_failed.emit(user_message(exc))

    def _show(self, shown: _ShownPage) -> None:
        """Put a further page in the table, then read the one after it."""
        added = self._append(shown)
        self.page_loaded.emit(added)
        self._read_ahead()

    def _append(self, shown: _ShownPage) -> int:
        page = shown.page
        first, n = len(self._rows), len(page.rows)
        if n:
            self.beginInsertRows(QModelIndex(), first, first + n - 1)
            self._rows.extend(page.rows)
            self._cells.extend(shown.cells)
            for offset, read in enumerate(page.rows):
                self._row_of[read.read_id] = first + offset
            self.endInsertRows()
        return n

    # -- lazy loading ----------------------------------------------------
    # One page is read ahead of the rows shown: when the view scrolls to the end,
    # fetchMore puts that page in at once (no wait on the cache) and asks for the
    # next in the background. Were it not there yet, the page goes in on arrival.

    def canFetchMore(self, parent: ModelIndex = QModelIndex()) -> bool:
        if parent.isValid():
            return False
        return self._query is not None and (self._ahead is not None or self._cursor is not None)

    def fetchMore(self, parent: ModelIndex = QModelIndex()) -> None:
        if parent.isValid() or self._query is None:
            return
        if self._ahead is not None:
            ahead, self._ahead = self._ahead, None  # before the insertion: a view may ask again
            self._show(ahead)
        elif self._cursor is not None:
            self._wanted = True
            self._read_ahead()

    def _read_ahead(self) -> None:
        """Ask for the page after the last one read, unless one is on its way or waiting."""
        if self._fetching or self._ahead is not None or self._query is None or self._cursor is None:
            return
        self._fetching = True
        generation = self._generation
        workstation, query, cursor, limit = (
            self._workstation,
            self._query,
            self._cursor,
            self._page_size,
        )
        self._runner.run(
            lambda: _shown_page(workstation.search.run(query, after=cursor, limit=limit), query),
            on_success=lambda page: self._next_page_arrived(generation, page),
            on_failure=lambda exc: self._fetch_failed(generation, exc),
            lane=Lane.CACHE,
        )

    # -- the table -------------------------------------------------------

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Called for every role of every cell on screen at each paint: the common
        # cases first, each one comparison of plain ints and one lookup.
        row = index.row()
        if not 0 <= row < len(self._rows):
            return None
        if role == _DISPLAY:
            return self._cells[row][index.column()]
        column = index.column()
        if column == PLATE:
            if role == _FONT:
                return self._plate_font
            if role == _DECORATION:
                return self._thumbnail(self._rows[row].read_id)
            if role == _TOOLTIP:
                return self._plate_tooltip(self._rows[row])
        elif role == _ALIGNMENT and column == CONFIDENCE:
            return _RIGHT
        elif role == _TOOLTIP and column == REVIEW:
            return self._cells[row][REVIEW] or None
        elif role == _TOOLTIP and column == CAMERA:
            read = self._rows[row]
            return f"{read.camera_name} ({read.camera_id}); vehicle {travelling(read.direction)}"
        if role == _READ:
            return self._rows[row]
        return None

    def add_mark(self, mark: ReviewMark) -> None:
        """Show a review mark just recorded on its row (if listed, under the same case)."""
        row = self._row_of.get(mark.read_id)
        query = self._query
        if row is None or query is None or query.case_number != mark.case_number:
            return
        read = self._rows[row]
        corrected = mark.corrected_plate or read.corrected_plate
        read = replace(
            read,
            review=tuple(dict.fromkeys((*read.review, mark.kind))),
            corrected_plate=corrected,
        )
        self._rows[row] = read
        self._cells[row] = _cells(read, query)
        self.dataChanged.emit(self.index(row, PLATE), self.index(row, REVIEW))

    def is_fuzzy(self, read: ReadRecord) -> bool:
        """Whether the read was found only as a possible misread of the pattern."""
        return _is_fuzzy(read, self._query)

    def _plate_tooltip(self, read: ReadRecord) -> str | None:
        query = self._query
        if query is not None and query.pattern is not None and _is_fuzzy(read, query):
            return (
                f"A possible misread of {query.pattern.text}: found by the look-alike "
                "search, not by the plate as read. Compare the image."
            )
        if read.corrected_plate:
            return f"Marked as a misread: the image shows {read.corrected_plate}."
        return None

    # -- thumbnails ------------------------------------------------------

    def thumbnail(self, read_id: str) -> QPixmap | None:
        """The plate crop thumbnail of a row, once it has arrived."""
        return self._thumbnails.get(read_id)

    def _thumbnail(self, read_id: str) -> QPixmap | None:
        pixmap = self._thumbnails.get(read_id)
        if pixmap is None and read_id not in self._thumbnails_asked:
            self._thumbnails_asked.add(read_id)
            self._thumbnails_wanted.append(read_id)
            if not self._thumbnail_flush.isActive():
                self._thumbnail_flush.start()
        return pixmap

    def _load_thumbnails(self) -> None:
        """Ask for the wanted crops in one background task, newest wish first."""
        if not self._thumbnails_wanted:
            return
        batch = self._thumbnails_wanted[-THUMBNAIL_BATCH:]
        del self._thumbnails_wanted[-THUMBNAIL_BATCH:]
        workstation, size = self._workstation, THUMBNAIL_SIZE
        self._runner.run(
            lambda: _decoded_thumbnails(workstation, batch, size),
            on_success=self._thumbnails_arrived,
            on_failure=lambda _exc: None,  # no thumbnail: the row still shows its plate
            lane=Lane.NETWORK,
        )

    def _thumbnails_arrived(self, images: dict[str, Image]) -> None:
        for read_id, image in images.items():
            self._thumbnails[read_id] = QPixmap.fromImage(to_qimage(image))
        while len(self._thumbnails) > THUMBNAIL_CACHE:
            oldest = next(iter(self._thumbnails))
            del self._thumbnails[oldest]
            self._thumbnails_asked.discard(oldest)
        for read_id in images:
            row = self._row_of.get(read_id)
            if row is not None:
                index = self.index(row, PLATE)
                self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])
        if images:
            self.thumbnails_loaded.emit(len(images))
        if self._thumbnails_wanted:
            self._thumbnail_flush.start()

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section] if 0 <= section < len(COLUMNS) else None
        return str(section + 1)


_DISPLAY = int(Qt.ItemDataRole.DisplayRole.value)
_DECORATION = int(Qt.ItemDataRole.DecorationRole.value)
_FONT = int(Qt.ItemDataRole.FontRole.value)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole.value)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole.value)
_READ = int(ResultsTableModel.READ_ROLE)
_RIGHT = int((Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter).value)


@dataclass(frozen=True)
class _ShownPage:
    """A page of results with each row's text as the table shows it."""

    page: SearchPage
    cells: list[tuple[str, ...]]


def _shown_page(page: SearchPage, query: SearchQuery | None = None) -> _ShownPage:
    """Off the GUI thread: the text of every cell of the page (times in local time)."""
    return _ShownPage(page, [_cells(read, query) for read in page.rows])


def _is_fuzzy(read: ReadRecord, query: SearchQuery | None) -> bool:
    """Found by the look-alike search only: neither the plate read nor a corrected plate
    matches the pattern itself."""
    if query is None or not query.fuzzy or query.pattern is None:
        return False
    pattern = query.pattern
    if pattern.matches(read.plate):
        return False
    return read.corrected_plate is None or not pattern.matches(read.corrected_plate)


def review_text(read: ReadRecord) -> str:
    """The review column: the marks the read has under the case."""
    parts = []
    for kind in read.review:
        label = REVIEW_LABELS.get(kind, kind)
        if kind == "misread" and read.corrected_plate:
            label = f"{label} → {read.corrected_plate}"
        parts.append(label)
    return " · ".join(parts)


def _cells(read: ReadRecord, query: SearchQuery | None = None) -> tuple[str, ...]:
    """A row's text, in COLUMNS order."""
    return (
        local_time(read.captured_at),
        read.plate + (FUZZY_MARK if _is_fuzzy(read, query) else ""),
        read.state,
        read.camera_name,
        read.make,
        read.model,
        read.color,
        percent(read.confidence),
        review_text(read),
    )


def _decoded_thumbnails(
    workstation: Workstation, read_ids: list[str], size: QSize
) -> dict[str, Image]:
    """Off the GUI thread: each crop decoded and scaled with OpenCV.

    Not with QImage: decoding through Qt's image plugins on a worker thread can
    deadlock against the GUI thread (Qt's connection lock against Python's GIL).
    A crop that cannot be had (hub unreachable, damaged, not a JPEG) is skipped.
    """
    images: dict[str, Image] = {}
    for read_id in read_ids:
        try:
            data = workstation.plate_crop(read_id)
            if data is None:
                continue
            images[read_id] = fit_within(decode_jpeg(data), size.width(), size.height())
        except Exception as exc:  # one bad crop must not cost the others their thumbnail
            log.info("no thumbnail for a result row: %s", type(exc).__name__)
    return images
