"""The search results: a lazy table model that pages through Workstation.search.

The first page arrives with the result count; further pages are asked for only
when the view scrolls near the end (canFetchMore/fetchMore), one page at a time,
through the task runner so the GUI thread never waits on the cache. The guards
follow Qt's C++ fetchmore example (filelistmodel.cpp): valid parents have no
rows, and rows are inserted as `first .. first + n - 1`.
"""

from __future__ import annotations

import logging
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
    SearchCursor,
    SearchOrder,
    SearchPage,
    SearchQuery,
    SortKey,
)
from app.ui.errors import user_message
from app.ui.formatting import local_time, percent
from app.ui.widgets.image_pane import to_qimage
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
)
TIME, PLATE, STATE, CAMERA, MAKE, MODEL, COLOR, CONFIDENCE = range(len(COLUMNS))
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
        self._query: SearchQuery | None = None
        self._order: SearchOrder = NEWEST_FIRST
        self._cursor: SearchCursor | None = None
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
            lambda: workstation.search(query, order=order, after=None, limit=limit),
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

    def clear(self) -> None:
        self._reset(None)

    def read_at(self, row: int) -> ReadRecord:
        return self._rows[row]

    def _reset(self, query: SearchQuery | None) -> None:
        self._generation += 1
        self.beginResetModel()
        self._rows = []
        self._row_of = {}
        self._thumbnails_wanted = []
        self._thumbnails_asked = set(self._thumbnails)  # a new search may ask again
        self._query = query
        self._cursor = None
        self._total = None
        self._fetching = False
        self.endResetModel()

    def _first_page_arrived(self, generation: int, page: SearchPage) -> None:
        if generation != self._generation:
            return
        self._append(page)
        self._total = page.total if page.total is not None else len(self._rows)
        self.search_finished.emit(self._total)

    def _next_page_arrived(self, generation: int, page: SearchPage) -> None:
        if generation != self._generation:
            return
        added = self._append(page)
        self.page_loaded.emit(added)

    def _fetch_failed(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        self._fetching = False
        self._cursor = None  # stop asking: a failing page would fail on every scroll
        self.search_failed.emit(user_message(exc))

    def _append(self, page: SearchPage) -> int:
        # The cursor moves before the rows go in: a view that reacts to the
        # insertion by asking for more must ask for the page after this one.
        first, n = len(self._rows), len(page.rows)
        self._cursor = page.next_cursor if n else None
        self._fetching = False
        if n:
            self.beginInsertRows(QModelIndex(), first, first + n - 1)
            self._rows.extend(page.rows)
            for offset, read in enumerate(page.rows):
                self._row_of[read.read_id] = first + offset
            self.endInsertRows()
        return n

    # -- lazy loading ----------------------------------------------------

    def canFetchMore(self, parent: ModelIndex = QModelIndex()) -> bool:
        if parent.isValid():
            return False
        return self._query is not None and self._cursor is not None

    def fetchMore(self, parent: ModelIndex = QModelIndex()) -> None:
        if parent.isValid():
            return
        if self._fetching or self._query is None or self._cursor is None:
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
            lambda: workstation.search(query, after=cursor, limit=limit),
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
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        read = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(read, column)
        if role == self.READ_ROLE:
            return read
        if role == Qt.ItemDataRole.ToolTipRole and column == CAMERA:
            return f"{read.camera_name} ({read.camera_id}), facing {read.direction}"
        if role == Qt.ItemDataRole.TextAlignmentRole and column == CONFIDENCE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and column == PLATE:
            return self._plate_font
        if role == Qt.ItemDataRole.DecorationRole and column == PLATE:
            return self._thumbnail(read.read_id)
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


def _display(read: ReadRecord, column: int) -> str | None:
    match column:
        case 0:
            return local_time(read.captured_at)
        case 1:
            return read.plate
        case 2:
            return read.state
        case 3:
            return read.camera_name
        case 4:
            return read.make
        case 5:
            return read.model
        case 6:
            return read.color
        case 7:
            return percent(read.confidence)
    return None


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
