"""Image review: zoom and pan, the crop inset, enhancement off the GUI thread, re-read, compare;
the real services over a temporary cache and a real hub on loopback (the plate reader, the
ONNX model's seam, is stubbed where a test needs a known reading)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QWheelEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.cache.reads import ReadRepository
from app.core.records import ReadRecord, SearchQuery
from app.ui.dialogs.compare_dialog import CompareDialog
from app.ui.dialogs.review_dialogs import MisreadDialog
from app.ui.main_window import MainWindow
from app.ui.widgets.image_pane import ImagePane
from app.ui.widgets.plate_reading import DISAGREE_COLOR
from app.ui.widgets.review_view import MAX_ZOOM, ZOOM_STEP, ReviewView
from app.ui.workers import TaskRunner
from app.vision.decode import decode_bytes
from app.vision.enhance import Enhancement, Image
from app.vision.plate_reader import NO_MODEL, PlateCandidate, load_plate_reader
from app.workstation import Workstation

MakeWindow = Callable[..., MainWindow]
pytestmark = pytest.mark.e2e
HELDOUT = Path(__file__).resolve().parents[1] / "data" / "plates" / "heldout_crops.npz"


Synced = tuple[Workstation, str]


@pytest.fixture
def make_window(qtbot: QtBot, synced_workstation: Synced, runner: TaskRunner) -> MakeWindow:
    """A factory: the real desk on the detective's synced case, every read listed."""

    def make(**kwargs: object) -> MainWindow:
        workstation, case = synced_workstation
        window = MainWindow(
            workstation, runner, initial_case=case, initial_purpose="robbery",
            **kwargs,  # type: ignore[arg-type]
        )  # fmt: skip
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: window.is_ready and window.gate_reason is None, timeout=20_000)
        with qtbot.waitSignal(window.search_finished, timeout=20_000):
            window.run_search("")
        return window

    return make


def _first_read(synced: Synced) -> ReadRecord:
    workstation, case = synced
    query = SearchQuery(case_number=case, purpose="robbery", pattern=None)
    return workstation.search.run(query, limit=1).rows[0]


def _cache_image(workstation: Workstation, sha256: str, data: bytes) -> None:
    """Put `data` in the cache under `sha256` (as the sync would have kept it)."""
    db = workstation.core.db()
    with db.atomic():
        ReadRepository(db).put_image(sha256, data)


def _jpeg(width: int, height: int) -> bytes:
    import cv2

    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 255, size=(height, width, 3), dtype=np.uint8)
    ok, data = cv2.imencode(".jpg", pixels)
    assert ok
    return bytes(data.tobytes())


def _image(width: int, height: int, color: str = "#506070") -> QImage:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor(color))
    return image


def _wheel(view: ReviewView, delta: int) -> None:
    center = QPointF(view.viewport().rect().center())
    event = QWheelEvent(
        center,
        QPointF(view.viewport().mapToGlobal(center.toPoint())),
        QPoint(0, 0),
        QPoint(0, delta),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view.viewport(), event)


def _pixels(image: QImage) -> Image:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    data = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes())
    rows = data.reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


def test_fit_one_to_one_steps_and_wheel(qtbot: QtBot) -> None:
    view = ReviewView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    view.set_image(_image(800, 400))
    assert view.fit_mode
    assert view.zoom == pytest.approx(0.5, abs=0.02)

    with qtbot.waitSignal(view.zoom_changed, timeout=1000) as zoomed:
        view.zoom_in()
    assert zoomed.args[0] == pytest.approx(view.zoom)
    assert view.zoom == pytest.approx(0.5 * ZOOM_STEP, abs=0.03)
    assert not view.fit_mode

    view.actual_size()
    assert view.zoom == pytest.approx(1.0)
    _wheel(view, 120)
    assert view.zoom == pytest.approx(ZOOM_STEP)
    _wheel(view, -240)
    assert view.zoom == pytest.approx(1 / ZOOM_STEP)
    for _ in range(40):
        view.zoom_in()
    assert view.zoom == pytest.approx(MAX_ZOOM)

    # A resize keeps the user's zoom; Fit goes back to following the view's size.
    view.resize(500, 300)
    assert view.zoom == pytest.approx(MAX_ZOOM)
    view.fit()
    view.resize(200, 300)
    assert view.fit_mode
    assert view.zoom == pytest.approx(200 / 800, abs=0.02)


# QTest warns that QGraphicsView leaves the release of a hand drag unaccepted (Qt's own code).
@pytest.mark.qt_log_ignore(r'Mouse event "MouseRelease" not accepted')
def test_dragging_pans_a_zoomed_image(qtbot: QtBot) -> None:
    view = ReviewView()
    qtbot.addWidget(view)
    view.resize(300, 200)
    view.show()
    qtbot.waitExposed(view)
    view.set_image(_image(1200, 800))
    view.actual_size()
    scrollbar = view.horizontalScrollBar()
    before = scrollbar.value()
    viewport = view.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=QPoint(150, 100))
    qtbot.mouseMove(viewport, QPoint(100, 100))
    qtbot.mouseMove(viewport, QPoint(60, 100))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=QPoint(60, 100))
    assert scrollbar.value() == before + 90


def test_review_shortcuts_and_crop_inset(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = make_window()
    pane = window.image_pane
    assert not pane.fit_action.isEnabled()  # nothing to zoom yet
    with qtbot.waitSignal(pane.image_shown, timeout=20_000):
        window.select_row(0)
    assert pane.crop_label.isVisible()
    assert not pane.crop_label.pixmap().isNull()
    assert pane.zoom_label.text().endswith("(fit)")

    qtbot.keyClick(window.results_view, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert pane.scene_view.zoom == pytest.approx(1.0)
    assert pane.zoom_label.text() == "100%"
    qtbot.keyClick(window.results_view, Qt.Key.Key_Plus)
    assert pane.scene_view.zoom == pytest.approx(ZOOM_STEP)
    qtbot.keyClick(window.results_view, Qt.Key.Key_Minus)
    qtbot.keyClick(window.results_view, Qt.Key.Key_Minus)
    assert pane.scene_view.zoom == pytest.approx(1 / ZOOM_STEP)
    qtbot.keyClick(window.results_view, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert pane.scene_view.fit_mode


def test_enhancement_is_applied_off_the_gui_thread_and_reset(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    window = make_window()
    pane = window.image_pane
    with qtbot.waitSignal(pane.image_shown, timeout=20_000):
        window.select_row(1)
    plain_second = _pixels(pane.scene_view.shown_image())  # the next read, as it comes
    with qtbot.waitSignal(pane.image_shown, timeout=20_000):
        window.select_row(0)
    original = pane.original_scene
    assert original is not None
    kept = original.copy()
    plain = _pixels(pane.scene_view.shown_image())
    pane.scene_view.actual_size()

    with qtbot.waitSignal(
        pane.enhancement_applied,
        timeout=20_000,
        check_params_cb=lambda e: e == Enhancement(brightness=60),
    ):
        pane.enhance_panel.brightness_slider.setValue(60)
    brighter = _pixels(pane.scene_view.shown_image())
    assert brighter.mean() > plain.mean() + 40
    assert pane.scene_view.zoom == pytest.approx(1.0)  # the view stayed where it was
    assert pane.enhance_panel.reset_button.isEnabled()
    np.testing.assert_array_equal(pane.original_scene, kept)  # the original is untouched

    # Dragging a slider sends many requests; the last one is what ends up on screen.
    final = Enhancement(brightness=60, contrast=1.5, gamma=1.2, clahe=True, sharpen=0.8)
    with qtbot.waitSignal(
        pane.enhancement_applied, timeout=20_000, check_params_cb=lambda e: e == final
    ):
        for value in range(100, 151, 5):
            pane.enhance_panel.contrast_slider.setValue(value)
        pane.enhance_panel.gamma_slider.setValue(120)
        pane.enhance_panel.clahe_check.setChecked(True)
        pane.enhance_panel.sharpen_slider.setValue(80)
    assert pane.enhancement == final

    # The enhancement carries over to the next read, and Reset (Review menu) undoes it.
    with qtbot.waitSignal(pane.image_shown, timeout=20_000):
        window.select_row(1)
    assert pane.enhancement == final
    with qtbot.waitSignal(
        pane.enhancement_applied, timeout=20_000, check_params_cb=lambda e: e.is_identity
    ):
        pane.reset_action.trigger()
    np.testing.assert_array_equal(_pixels(pane.scene_view.shown_image()), plain_second)
    assert not pane.enhance_panel.reset_button.isEnabled()


def test_re_read_is_off_without_a_model(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = make_window()
    pane = window.image_pane
    with qtbot.waitSignal(pane.image_shown, timeout=20_000):
        window.select_row(0)
    assert not pane.reread_button.isEnabled()
    assert pane.reread_button.toolTip() == NO_MODEL


class _FakeReader:
    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []

    def read(self, image: Image) -> list[PlateCandidate]:
        self.shapes.append(image.shape)
        return [PlateCandidate("8K7K2", 0.91), PlateCandidate("BK7K2", 0.42)]


def test_re_read_uses_the_plate_reader_seam(
    qtbot: QtBot, synced_workstation: Synced, runner: TaskRunner
) -> None:
    read = _first_read(synced_workstation)
    reader = _FakeReader()
    pane = ImagePane(workstation=synced_workstation[0], runner=runner, plate_reader=reader)
    qtbot.addWidget(pane)
    pane.show()
    assert not pane.reread_button.isEnabled()
    with qtbot.waitSignal(pane.image_shown, timeout=20_000):
        pane.show_read(read)
    assert pane.reread_button.isEnabled()
    with qtbot.waitSignal(pane.plate_reread, timeout=20_000) as reread:
        qtbot.mouseClick(pane.reread_button, Qt.MouseButton.LeftButton)
    assert [c.text for c in reread.args[0]] == ["8K7K2", "BK7K2"]
    assert pane.read is not None
    assert pane.read.plate == read.plate
    assert pane.reading.label.text() == (
        f"<span style='color:{DISAGREE_COLOR}'>Plate reader: <b>8K7K2</b> (91%) · or BK7K2 42% · "
        f"<b>differs from the camera's {read.plate}</b></span>"
    )
    assert pane.reading.disagrees
    assert pane.reading.accept_button.isVisibleTo(pane)
    assert pane.reading.accept_button.text() == "Accept 8K7K2"
    assert pane.reading.search_button.text() == "Search ?K7K2"
    crop = decode_bytes(synced_workstation[0].review.cached_crop(read.read_id)[1] or b"")
    assert reader.shapes == [crop.shape]  # the plate crop, not the scene


def test_re_read_with_the_shipped_model_reads_a_real_crop(
    qtbot: QtBot, synced_workstation: Synced, runner: TaskRunner
) -> None:
    """The shipped model, off the GUI thread, on a held-out synthetic plate crop."""
    import cv2

    crops = np.load(HELDOUT)
    i = 3
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(crops["images"][i], cv2.COLOR_GRAY2BGR))
    assert ok
    workstation = synced_workstation[0]
    read = _first_read(synced_workstation)
    _cache_image(workstation, read.crop_sha256, jpeg.tobytes())  # the read's crop is this one
    reader = load_plate_reader()
    assert reader is not None
    expected = reader.read_image(decode_bytes(jpeg.tobytes()))
    assert expected is not None
    pane = ImagePane(workstation=workstation, runner=runner, plate_reader=reader)
    qtbot.addWidget(pane)
    pane.show()
    with qtbot.waitSignal(pane.image_shown, timeout=20_000):
        pane.show_read(read)
    with qtbot.waitSignal(pane.plate_reread, timeout=20_000) as reread:
        qtbot.mouseClick(pane.reread_button, Qt.MouseButton.LeftButton)
    assert [c.text for c in reread.args[0]] == [c.text for c in expected.alternatives]
    assert pane.reading.best is not None
    assert pane.reading.best.text == expected.text
    assert pane.reading.disagrees == (expected.text != read.plate)
    assert pane.reading.accept_button.isVisibleTo(pane) == pane.reading.disagrees


class _AgreeingReader:
    def __init__(self, plate: str) -> None:
        self.plate = plate

    def read(self, image: Image) -> list[PlateCandidate]:
        return [PlateCandidate(self.plate, 0.97)]


def test_a_reading_that_agrees_with_the_camera_offers_no_correction(
    qtbot: QtBot, synced_workstation: Synced, runner: TaskRunner
) -> None:
    read = _first_read(synced_workstation)
    pane = ImagePane(
        workstation=synced_workstation[0], runner=runner, plate_reader=_AgreeingReader(read.plate)
    )
    qtbot.addWidget(pane)
    pane.show()
    with qtbot.waitSignal(pane.image_shown, timeout=20_000):
        pane.show_read(read)
    with qtbot.waitSignal(pane.plate_reread, timeout=20_000):
        qtbot.mouseClick(pane.reread_button, Qt.MouseButton.LeftButton)
    assert pane.reading.label.text() == (
        f"Plate reader: <b>{read.plate}</b> (97%) · agrees with the camera"
    )
    assert not pane.reading.disagrees
    assert not pane.reading.accept_button.isVisibleTo(pane)


def test_accepting_the_readers_plate_records_a_misread(
    qtbot: QtBot, make_window: MakeWindow, synced_workstation: Synced
) -> None:
    workstation = synced_workstation[0]
    window = make_window(plate_reader=_FakeReader())
    pane = window.image_pane
    with qtbot.waitSignal(pane.marks_loaded, timeout=20_000):
        window.select_row(0)
    qtbot.waitUntil(pane.reread_button.isEnabled, timeout=20_000)
    with qtbot.waitSignal(pane.plate_reread, timeout=20_000):
        qtbot.mouseClick(pane.reread_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(pane.reading.accept_button, Qt.MouseButton.LeftButton)
    dialog = window.review_flow.review_dialog
    assert isinstance(dialog, MisreadDialog)
    assert dialog.corrected_plate == "8K7K2"
    assert dialog.note == "Plate reader model read 8K7K2 (91%)"
    with qtbot.waitSignal(window.review_marked, timeout=20_000):
        dialog.accept()
    assert pane.read is not None
    [mark] = workstation.review.marks(read_id=pane.read.read_id)
    assert (mark.kind, mark.corrected_plate) == ("misread", "8K7K2")
    assert mark.note == "Plate reader model read 8K7K2 (91%)"


def test_the_readers_alternatives_seed_a_search(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = make_window(plate_reader=_FakeReader())
    pane = window.image_pane
    with qtbot.waitSignal(pane.image_shown, timeout=20_000):
        window.select_row(0)
    with qtbot.waitSignal(pane.plate_reread, timeout=20_000):
        qtbot.mouseClick(pane.reread_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(window.search_finished, timeout=20_000):
        qtbot.mouseClick(pane.reading.search_button, Qt.MouseButton.LeftButton)
    assert window.query_edit.text() == "?K7K2"


def test_compare_two_selected_reads(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = make_window()
    assert not window.desk_actions.compare.isEnabled()
    window.select_row(0)
    index = window.results_model.index(3, 0)
    qtbot.mouseClick(
        window.results_view.viewport(),
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.ControlModifier,
        window.results_view.visualRect(index).center(),
    )
    assert window.selected_rows() == [0, 3]
    assert window.desk_actions.compare.isEnabled()
    # The panes' images arrive through queued callbacks, so both_shown cannot fire before
    # the wait below runs the event loop.
    window.desk_actions.compare.trigger()
    assert len(window.compare_dialogs) == 1
    dialog: CompareDialog = window.compare_dialogs[0]
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.both_shown, timeout=20_000):
        pass
    left, right = dialog.panes
    assert left.plate_value.text() == window.results_model.read_at(0).plate
    assert right.plate_value.text() == window.results_model.read_at(3).plate
    assert left.scene_view.has_image()
    assert right.scene_view.has_image()


def test_a_large_scene_shows_a_preview_first_then_the_full_image_in_its_place(
    qtbot: QtBot, synced_workstation: Synced, runner: TaskRunner
) -> None:
    workstation = synced_workstation[0]
    read = _first_read(synced_workstation)
    _cache_image(workstation, read.image_sha256, _jpeg(1920, 1080))  # a camera's full HD scene
    pane = ImagePane(workstation=workstation, runner=runner)
    qtbot.addWidget(pane)
    pane.resize(700, 700)
    pane.show()
    events: list[str] = []
    pane.image_previewed.connect(lambda _read_id: events.append("preview"))
    pane.image_shown.connect(lambda _read_id: events.append("full"))

    def previewed(_read_id: str) -> None:
        # On screen at the view's resolution, in full-size coordinates, before the full decode.
        assert pane.scene_view.image_size.width() == 1920
        assert pane.scene_view.shown_image().width() < 1920
        assert pane.original_scene is None  # nothing to enhance or re-read yet
        assert pane.zoom_label.text().endswith("(fit)")
        events.append(pane.zoom_label.text())

    pane.image_previewed.connect(previewed)
    with qtbot.waitSignal(pane.image_shown, timeout=20_000):
        pane.show_read(read)
    assert events[0] == "preview"
    assert events[-1] == "full"
    assert pane.zoom_label.text() == events[1]  # the same fit, now sharp
    assert pane.scene_view.shown_image().width() == 1920
    original = pane.original_scene
    assert original is not None
    assert original.shape == (1080, 1920, 3)
