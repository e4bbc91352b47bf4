"""Sightings of a plate (timeline, camera map, associates) and the multi-place search."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import QPoint, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.core.records import Associate, PlaceMatch
from app.ui.main_window import MainWindow
from app.ui.models.analysis_models import AssociatesTableModel, PlaceMatchTableModel
from app.ui.widgets.camera_map import CameraMapWidget
from app.ui.widgets.timeline import TimelineWidget

from .fakes import CASE, NOW, FakeWorkstation, make_reads


def _open_sightings(qtbot: QtBot, window: MainWindow) -> None:
    panel = window.sightings_panel
    with qtbot.waitSignals([panel.sightings_loaded, panel.associates_loaded], timeout=2000):
        qtbot.keyClick(window.results_view, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)


def test_sightings_of_the_selected_plate(
    qtbot: QtBot, searched_window: MainWindow, workstation: FakeWorkstation
) -> None:
    window = searched_window
    read = window.image_pane.read
    assert read is not None
    _open_sightings(qtbot, window)
    assert window.sightings_shown
    sightings = [r for r in workstation.reads if r.plate == read.plate]
    assert len(sightings) == 3
    assert workstation.analysis_calls == [
        ("sightings", {"case_number": CASE, "purpose": "robbery", "plate": read.plate}),
        (
            "associates",
            {
                "case_number": CASE,
                "purpose": "robbery",
                "plate": read.plate,
                "window_seconds": 60,
                "min_cameras": 2,
            },
        ),
    ]
    panel = window.sightings_panel
    panel.grab()  # paints the timeline and the map
    assert panel.timeline.painted_marks == 3
    assert panel.camera_map.painted_cameras == 4
    assert panel.camera_map.painted_sightings == 3
    assert panel.title_label.text().startswith(f"Sightings of {read.plate}: 3 sightings at 2")
    assert panel.associates_model.rowCount() == 2
    assert panel.associates_model.index(0, 0).data() == "XYZ9876"


def test_double_clicking_an_associate_searches_its_plate(
    qtbot: QtBot, searched_window: MainWindow, workstation: FakeWorkstation
) -> None:
    window = searched_window
    _open_sightings(qtbot, window)
    view = window.sightings_panel.associates_view
    rect = view.visualRect(window.sightings_panel.associates_model.index(1, 0))
    # Qt 6 views act on a double click only on the row the press landed on.
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    with qtbot.waitSignal(window.search_finished, timeout=2000):
        qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.query_edit.text() == "JKL4455"
    assert not window.sightings_shown  # back on the results
    query = workstation.search_calls[-1][0]
    assert query.pattern is not None
    assert query.pattern.text == "JKL4455"


def test_locking_hides_the_sightings(qtbot: QtBot, searched_window: MainWindow) -> None:
    window = searched_window
    _open_sightings(qtbot, window)
    with qtbot.waitSignal(window.session_locked, timeout=2000):
        window.lock_session()
    assert not window.sightings_panel.isVisible()
    assert window.sightings_panel.timeline.sightings == []
    assert window.sightings_panel.associates_model.rowCount() == 0


def test_timeline_marks_every_sighting(qtbot: QtBot) -> None:
    timeline = TimelineWidget()
    qtbot.addWidget(timeline)
    timeline.resize(700, 130)
    timeline.grab()
    assert timeline.painted_marks == 0
    reads = make_reads(12)
    timeline.set_sightings(reads)
    timeline.grab()
    assert timeline.painted_marks == 12
    assert 0 < timeline.painted_labels <= 12
    assert [r.captured_at for r in timeline.sightings] == sorted(r.captured_at for r in reads)
    first, last = timeline.sightings[0], timeline.sightings[-1]
    assert timeline.x_of(first.captured_at) < timeline.x_of(last.captured_at)


def test_camera_map_projects_north_up_and_reports_clicks(
    qtbot: QtBot, workstation: FakeWorkstation
) -> None:
    camera_map = CameraMapWidget()
    qtbot.addWidget(camera_map)
    camera_map.resize(400, 300)
    cameras = workstation.catalog.cameras()
    camera_map.set_cameras(cameras)
    where = camera_map.positions()
    north = max(cameras, key=lambda c: c.latitude).camera_id
    south = min(cameras, key=lambda c: c.latitude).camera_id
    east = max(cameras, key=lambda c: c.longitude).camera_id
    west = min(cameras, key=lambda c: c.longitude).camera_id
    assert where[north].y() < where[south].y()
    assert where[east].x() > where[west].x()
    assert all(camera_map.rect().contains(p.toPoint()) for p in where.values())
    with qtbot.waitSignal(camera_map.camera_clicked, timeout=1000) as clicked:
        qtbot.mouseClick(camera_map, Qt.MouseButton.LeftButton, pos=where[east].toPoint())
    assert clicked.args == [east]
    with qtbot.assertNotEmitted(camera_map.camera_clicked):
        qtbot.mouseClick(camera_map, Qt.MouseButton.LeftButton, pos=QPoint(1, 1))


def test_multi_place_search(
    qtbot: QtBot, searched_window: MainWindow, workstation: FakeWorkstation
) -> None:
    window = searched_window
    dialog = window.open_multi_place()
    assert dialog is not None
    qtbot.waitExposed(dialog)
    assert not dialog.find_button.isEnabled()
    dialog.camera_list.item(0).setCheckState(Qt.CheckState.Checked)  # Harbor Blvd: cam-3
    dialog.set_current_place(1)
    point = dialog.camera_map.positions()["cam-1"]
    qtbot.mouseClick(dialog.camera_map, Qt.MouseButton.LeftButton, pos=point.toPoint())
    assert dialog.places == [["cam-3"], ["cam-1"]]
    assert dialog.camera_list.item(0).checkState() == Qt.CheckState.Unchecked
    dialog.to_check.setChecked(True)
    with qtbot.waitSignal(dialog.search_finished, timeout=2000) as found:
        qtbot.mouseClick(dialog.find_button, Qt.MouseButton.LeftButton)
    assert found.args == [2]
    name, params = workstation.analysis_calls[-1]
    assert name == "multi_place"
    assert params["places"] == [["cam-3"], ["cam-1"]]
    assert params["time_from"] is None
    assert params["time_to"] is not None
    model = dialog.results_model
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers == ["Plate", "Place 1", "Place 2", "Total"]
    assert [model.index(0, c).data() for c in range(4)] == ["807K200", "2", "1", "3"]
    assert dialog.message_label.text() == "2 plates seen at all 2 places"


def test_associates_model(qtmodeltester: ModelTester) -> None:
    model = AssociatesTableModel()
    model.set_rows(
        [
            Associate("XYZ9876", 2, 3, NOW - timedelta(hours=1), NOW),
            Associate("JKL4455", 3, 4, NOW - timedelta(hours=2), NOW),
        ]
    )
    qtmodeltester.check(model)
    assert model.associate_at(1).plate == "JKL4455"


def test_place_match_model(qtmodeltester: ModelTester) -> None:
    model = PlaceMatchTableModel()
    model.set_rows([PlaceMatch("807K200", (2, 1, 4)), PlaceMatch("ABC0003", (1, 1, 1))], places=3)
    qtmodeltester.check(model)
    assert model.columnCount() == 5
    assert model.index(0, 4).data() == "7"
