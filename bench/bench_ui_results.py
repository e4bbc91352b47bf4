"""The results table with a large cache: does the window stay responsive?

Fills an encrypted cache with synthetic reads (bench_local_search's filler), then
drives the real ResultsTableModel in a real QTableView (offscreen): the first
page of every read, scrolling through 20 further pages, and a re-sort by plate.
All searching runs on the task runner's threads, as in the window; what is
measured is the GUI thread's event-loop stall (the longest gap between ticks of
a 5 ms timer) during that work, against the same figure with the loop idle in
the same run. The engine's search is called through SearchRepository, the code
Workstation.search runs (its journal append is timed in bench_journal).
Also: query submitted to first rows painted (p95, 20 plate prefixes), one more
page of rows shown and painted (p95; the model reads a page ahead, and the bench
lets that read land between pages as a reader's pause does), and a 1920x1080
JPEG opened to painted in a 900x700 image pane (p95): painted is the first
picture at the view's resolution (the pane's reduced-decode preview, see
app.ui.widgets.image_pane), and the full-resolution decode that replaces it is
timed too. Prints JSON. Targets (issue 6, with 1,000,000 cached reads): no stall
over 50 ms; first rows <= 100 ms; a page of rows <= 16 ms; a full-HD JPEG <= 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.cache.connection import Database, open_encrypted
from app.cache.search import SearchRepository
from app.core.heap import freeze_startup_objects
from app.core.plates import parse_pattern
from app.core.records import (
    NEWEST_FIRST,
    SearchCursor,
    SearchOrder,
    SearchPage,
    SearchQuery,
)
from app.ui.collector import GuiThreadCollector
from app.ui.models.results_model import PLATE, ResultsTableModel
from app.ui.widgets.image_pane import ImagePane
from app.ui.widgets.results_view import ResultsView
from app.ui.workers import TaskRunner
from bench.bench_local_search import CASE, _fill

PREFIXES = [f"{a}{b}*" for a in "ABCDE" for b in "1234"]  # 20 plate prefixes


class CacheSearch:
    """What the table asks of the engine, over one cache file (one connection per thread)."""

    def __init__(self, path: Path, key: bytes) -> None:
        self._path, self._key = path, key
        self._connections: dict[int, Database] = {}
        self.scene_jpeg, self.crop_jpeg = _full_hd_jpeg()

    def _repo(self) -> SearchRepository:
        import threading

        ident = threading.get_ident()
        if ident not in self._connections:
            self._connections[ident] = open_encrypted(self._path, self._key)
        return SearchRepository(self._connections[ident])

    @property
    def search(self) -> CacheSearch:
        """Workstation.search (the search service): here this object, whose `run` it is."""
        return self

    @property
    def review(self) -> CacheSearch:
        """Workstation.review: `marks` below."""
        return self

    def run(
        self,
        query: SearchQuery,
        *,
        order: SearchOrder = NEWEST_FIRST,
        after: SearchCursor | None = None,
        limit: int = 200,
    ) -> SearchPage:
        repo = self._repo()
        if after is not None:
            return repo.page(query, order=after.order, after=after, limit=limit)
        total = repo.count(query)
        page = repo.page(query, order=order, after=None, limit=limit)
        return SearchPage(rows=page.rows, next_cursor=page.next_cursor, total=total)

    def plate_crop(self, read_id: str) -> bytes | None:
        return None  # the synthetic reads have no images

    def image(self, sha256: str, *, read_id: str) -> bytes:
        # One full-HD scene for every read, and its plate crop (bench_local_search's
        # crop ids start with "c").
        return self.crop_jpeg if sha256.startswith("c") else self.scene_jpeg

    def marks(self, **_filters: object) -> list[object]:
        return []

    def close(self) -> None:
        for db in self._connections.values():
            db.close()


def _full_hd_jpeg() -> tuple[bytes, bytes]:
    """A 1920x1080 street-like JPEG (gradients, noise and a plate), as cameras send,
    and the JPEG of its plate crop."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(3)
    sky = np.linspace(90, 200, 1080, dtype=np.float32)[:, None, None]
    image = np.clip(sky + rng.normal(0, 18, (1080, 1920, 3)), 0, 255).astype(np.uint8)
    cv2.rectangle(image, (820, 700), (1100, 780), (235, 235, 235), -1)
    cv2.putText(image, "7K2LMV", (840, 765), cv2.FONT_HERSHEY_SIMPLEX, 2.4, (20, 20, 20), 6)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    ok_crop, crop = cv2.imencode(".jpg", image[690:790, 810:1110], [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    assert ok_crop
    return encoded.tobytes(), crop.tobytes()


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


class StallMeter:
    """The longest gap between ticks of a short timer: how long the GUI thread was busy.

    Where Linux tells (/proc/thread-self/schedstat), the longest gap is also split
    into what the GUI thread did with it: `running` (its own CPU time), `waiting_cpu`
    (runnable, but the OS ran something else) and `blocked` (the rest: waiting for
    the GIL, or for I/O).
    """

    def __init__(self, app: QApplication, interval_ms: int = 5) -> None:
        self._app = app
        self._timer = QTimer()
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._last = 0.0
        self._last_cpu = 0.0
        self._last_delay = 0.0
        self.longest_ms = 0.0
        self.longest_parts: dict[str, float] = {}

    @staticmethod
    def _run_delay_s() -> float:
        try:
            with open("/proc/thread-self/schedstat") as stats:
                return int(stats.read().split()[1]) / 1e9
        except (OSError, IndexError, ValueError):
            return 0.0

    def _tick(self) -> None:
        now, cpu, delay = time.perf_counter(), time.thread_time(), self._run_delay_s()
        gap = (now - self._last) * 1000
        if gap > self.longest_ms:
            self.longest_ms = gap
            running = (cpu - self._last_cpu) * 1000
            waiting = (delay - self._last_delay) * 1000
            self.longest_parts = {
                "running_ms": round(running, 1),
                "waiting_cpu_ms": round(waiting, 1),
                "blocked_ms": round(max(0.0, gap - running - waiting), 1),
            }
        self._last, self._last_cpu, self._last_delay = now, cpu, delay

    def run_until(self, done: object, timeout_s: float = 600.0) -> float:
        """Spin the event loop until done() is true; the longest stall in ms."""
        self.longest_ms = 0.0
        self.longest_parts = {}
        self._last, self._last_cpu = time.perf_counter(), time.thread_time()
        self._last_delay = self._run_delay_s()
        self._timer.start()
        deadline = time.perf_counter() + timeout_s
        while not done() and time.perf_counter() < deadline:  # type: ignore[operator]
            self._app.processEvents()
            time.sleep(0.001)
        self._timer.stop()
        return self.longest_ms


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reads", type=int, default=200_000)
    parser.add_argument("--pages", type=int, default=20)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    with tempfile.TemporaryDirectory() as folder:
        path, key = Path(folder) / "cache.db", os.urandom(32)
        _fill(path, key, args.reads, random.Random(5))
        engine = CacheSearch(path, key)
        runner = TaskRunner()
        model = ResultsTableModel(workstation=engine, runner=runner)  # type: ignore[arg-type]
        view = ResultsView(model)  # the window's table
        view.resize(1000, 700)
        view.show()
        freeze_startup_objects()  # as run_gui does once the window is shown
        collector = GuiThreadCollector(app)  # as run_gui has it
        meter = StallMeter(app)

        idle_until = time.perf_counter() + 1.0
        idle = meter.run_until(lambda: time.perf_counter() > idle_until)

        query = SearchQuery(case_number=CASE, purpose="robbery", pattern=None)
        began = time.perf_counter()
        model.start_search(query)
        first = meter.run_until(lambda: model.total is not None)
        first_page_s = time.perf_counter() - began

        began = time.perf_counter()
        scroll_stall = 0.0
        stalls: list[float] = []
        for _ in range(args.pages):
            rows = model.rowCount()
            view.scrollToBottom()
            stall = meter.run_until(lambda r=rows: model.rowCount() > r)
            stalls.append(round(stall, 1))
            scroll_stall = max(scroll_stall, stall)
        scroll_s = time.perf_counter() - began
        rows_loaded = model.rowCount()

        began = time.perf_counter()
        model.sort(PLATE)
        sort_stall = meter.run_until(lambda: model.total is not None)
        sort_s = time.perf_counter() - began

        # Query submitted to first rows painted, for plate prefixes (p95).
        painted: list[float] = []
        for prefix in PREFIXES:
            began = time.perf_counter()
            model.start_search(
                SearchQuery(case_number=CASE, purpose="robbery", pattern=parse_pattern(prefix))
            )
            meter.run_until(lambda: model.total is not None)
            view.viewport().repaint()
            painted.append((time.perf_counter() - began) * 1000)

        # One more page of rows: asked for, inserted and painted (p95).
        model.start_search(query)
        meter.run_until(lambda: model.total is not None)
        page_ms: list[float] = []
        for _ in range(args.pages):
            # A reader takes longer over 200 rows than the cache takes to read the
            # next page: let the model's read-ahead land, as it does while they read.
            meter.run_until(lambda: not model.is_fetching)
            rows = model.rowCount()
            began = time.perf_counter()
            model.fetchMore()
            meter.run_until(lambda r=rows: model.rowCount() > r)
            view.scrollToBottom()
            view.viewport().repaint()
            page_ms.append((time.perf_counter() - began) * 1000)

        # A full-HD JPEG opened (fetched, decoded off the GUI thread) to painted (p95).
        pane = ImagePane(workstation=engine, runner=runner)  # type: ignore[arg-type]
        pane.resize(900, 700)
        pane.show()
        opened: list[float] = []
        full: list[float] = []
        for row in range(20):
            # Painted: the first picture at the view's resolution (the preview, when
            # the scene is at least twice the view's size); full: the full decode.
            on_screen: list[str] = []
            shown: list[str] = []
            pane.image_previewed.connect(on_screen.append)
            pane.image_shown.connect(on_screen.append)
            pane.image_shown.connect(shown.append)
            began = time.perf_counter()
            pane.show_read(model.read_at(row))
            meter.run_until(lambda p=on_screen: bool(p))
            pane.repaint()
            opened.append((time.perf_counter() - began) * 1000)
            meter.run_until(lambda s=shown: bool(s))
            pane.repaint()
            full.append((time.perf_counter() - began) * 1000)
            for signal in (pane.image_previewed, pane.image_shown):
                signal.disconnect(on_screen.append)
            pane.image_shown.disconnect(shown.append)

        runner.shutdown()
        collector.stop()
        engine.close()
        print(
            json.dumps(
                {
                    "benchmark": "ui_results_responsiveness",
                    "reads": args.reads,
                    "idle_longest_stall_ms": round(idle, 1),
                    "first_page_seconds": round(first_page_s, 2),
                    "first_page_longest_stall_ms": round(first, 1),
                    "scroll_pages": args.pages,
                    "rows_loaded": rows_loaded,
                    "scroll_stalls_ms": stalls,
                    "scroll_seconds": round(scroll_s, 2),
                    "scroll_longest_stall_ms": round(scroll_stall, 1),
                    "resort_by_plate_seconds": round(sort_s, 2),
                    "resort_longest_stall_ms": round(sort_stall, 1),
                    "target_longest_stall_ms": 50,
                    "query_to_first_rows_painted_p95_ms": round(_p95(painted), 1),
                    "target_first_rows_p95_ms": 100,
                    "page_of_rows_fetched_and_painted_p95_ms": round(_p95(page_ms), 1),
                    "target_page_of_rows_ms": 16,
                    "full_hd_jpeg_opened_to_painted_p95_ms": round(_p95(opened), 1),
                    "full_hd_jpeg_opened_to_full_resolution_p95_ms": round(_p95(full), 1),
                    "target_jpeg_p95_ms": 50,
                }
            )
        )


if __name__ == "__main__":
    main()
