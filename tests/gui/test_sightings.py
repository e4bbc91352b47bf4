"""Sightings of a plate (timeline, camera map, associates) and the multi-place search."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.core.records import Associate, PlaceMatch, SearchQuery
from app.ui.dialogs.multi_place_dialog import CAMERA_ROLE
from app.ui.main_window import MainWindow
from app.ui.models.analysis_models import AssociatesTableModel, PlaceMatchTableModel
from app.ui.widgets.camera_map import CameraMapWidget
from app.ui.widgets.timeline import TimelineWidget
from app.workstation import Workstation

from .conftest import Desk

VEHICLE = "7K2LMV"  # the demo's vehicle of interest
CONVOY = "CVY2291"  # the companion the simulator sends behind it
NOW = datetime(2024, 5, 20, 15, 0, tzinfo=UTC)


def _open_sightings(qtbot: QtBot, window: MainWindow) -> None:
    panel = window.sightings_panel
    with qtbot.waitSignals([panel.sightings_loaded, panel.associates_loaded], timeout=20_000):
        qtbot.keyClick(window.results_view, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)


@pytest.fixture
def on_the_vehicle(qtbot: QtBot, desk: Desk) -> Desk:
    """The real desk showing a read of the demo's vehicle of interest (it has a convoy)."""
    window = desk[0]
    with qtbot.waitSignal(window.search_finished, timeout=20_000):
        window.run_search(VEHICLE)
    with qtbot.waitSignal(window.image_pane.marks_loaded, timeout=20_000):
        window.select_row(0)
    return desk


def _analyses(workstation: Workstation) -> list[dict[str, Any]]:
    return [
        e["params"]
        for e in workstation.journal().events()
        if e["action"] == "search" and "analysis" in e["params"]
    ]


@pytest.mark.e2e
def test_sightings_of_the_selected_plate(qtbot: QtBot, on_the_vehicle: Desk) -> None:
    window, workstation, case = on_the_vehicle
    read = window.image_pane.read
    assert read is not None
    _open_sightings(qtbot, window)
    assert window.sightings_shown
    sightings = workstation.search.sightings(case_number=case, purpose="robbery", plate=read.plate)
    associates = workstation.search.associates(
        case_number=case, purpose="robbery", plate=read.plate
    )
    assert [(p["analysis"], p["plate"]) for p in _analyses(workstation)][:2] == [
        ("sightings", read.plate),
        ("associates", read.plate),
    ]
    assert _analyses(workstation)[1]["window_seconds"] == 60
    assert _analyses(workstation)[1]["min_cameras"] == 2
    panel = window.sightings_panel
    panel.grab()  # paints the timeline and the map
    assert panel.timeline.painted_marks == len(sightings) > 1
    assert panel.camera_map.painted_sightings == len(sightings)
    assert panel.camera_map.painted_cameras == len(workstation.catalog.cameras())
    assert panel.title_label.text().startswith(
        f"Sightings of {read.plate}: {len(sightings)} sightings at"
    )
    assert panel.associates_model.rowCount() == len(associates)
    shown = {
        panel.associates_model.index(row, 0).data()
        for row in range(panel.associates_model.rowCount())
    }
    assert CONVOY in shown


@pytest.mark.e2e
def test_double_clicking_an_associate_searches_its_plate(
    qtbot: QtBot, on_the_vehicle: Desk
) -> None:
    window, workstation, _case = on_the_vehicle
    _open_sightings(qtbot, window)
    model = window.sightings_panel.associates_model
    row = next(r for r in range(model.rowCount()) if model.index(r, 0).data() == CONVOY)
    view = window.sightings_panel.associates_view
    rect = view.visualRect(model.index(row, 0))
    # Qt 6 views act on a double click only on the row the press landed on.
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    with qtbot.waitSignal(window.search_finished, timeout=20_000):
        qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.query_edit.text() == CONVOY
    assert not window.sightings_shown  # back on the results
    last = [e["params"] for e in workstation.journal().events() if e["action"] == "search"][-1]
    assert last["pattern"] == CONVOY


@pytest.mark.e2e
def test_locking_hides_the_sightings(qtbot: QtBot, on_the_vehicle: Desk) -> None:
    window = on_the_vehicle[0]
    _open_sightings(qtbot, window)
    with qtbot.waitSignal(window.session_locked, timeout=20_000):
        window.lock_flow.lock()
    assert not window.sightings_panel.isVisible()
    assert window.sightings_panel.timeline.sightings == []
    assert window.sightings_panel.associates_model.rowCount() == 0


@pytest.mark.e2e
def test_timeline_marks_every_sighting(qtbot: QtBot, desk: Desk) -> None:
    _window, workstation, case = desk
    timeline = TimelineWidget()
    qtbot.addWidget(timeline)
    timeline.resize(700, 130)
    timeline.grab()
    assert timeline.painted_marks == 0
    query = SearchQuery(case_number=case, purpose="robbery", pattern=None)
    reads = workstation.search.run(query, limit=12).rows
    assert len(reads) == 12
    timeline.set_sightings(reads)
    timeline.grab()
    assert timeline.painted_marks == 12
    assert 0 < timeline.painted_labels <= 12
    assert [r.captured_at for r in timeline.sightings] == sorted(r.captured_at for r in reads)
    first, last = timeline.sightings[0], timeline.sightings[-1]
    assert timeline.x_of(first.captured_at) < timeline.x_of(last.captured_at)


@pytest.mark.e2e
def test_camera_map_projects_north_up_and_reports_clicks(qtbot: QtBot, desk: Desk) -> None:
    workstation = desk[1]
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


@pytest.mark.e2e
def test_multi_place_search(qtbot: QtBot, desk: Desk) -> None:
    window, workstation, case = desk
    dialog = window.open_multi_place()
    assert dialog is not None
    qtbot.waitExposed(dialog)
    assert not dialog.find_button.isEnabled()
    first = dialog.camera_list.item(0)
    first.setCheckState(Qt.CheckState.Checked)
    place_one = [str(first.data(CAMERA_ROLE))]
    dialog.set_current_place(1)
    other = next(c for c in dialog.camera_map.positions() if c not in place_one)
    point = dialog.camera_map.positions()[other]
    qtbot.mouseClick(dialog.camera_map, Qt.MouseButton.LeftButton, pos=point.toPoint())
    assert dialog.places == [place_one, [other]]
    assert dialog.camera_list.item(0).checkState() == Qt.CheckState.Unchecked
    with qtbot.waitSignal(dialog.search_finished, timeout=20_000) as found:
        qtbot.mouseClick(dialog.find_button, Qt.MouseButton.LeftButton)
    expected = workstation.search.multi_place(
        case_number=case, purpose="robbery", places=[place_one, [other]]
    )
    assert found.args == [len(expected)]
    params = _analyses(workstation)[-2]  # the window's, then this test's own
    assert params["analysis"] == "multi_place"
    assert params["places"] == [place_one, [other]]
    model = dialog.results_model
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers == ["Plate", "Place 1", "Place 2", "Total"]
    assert model.rowCount() == len(expected)


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
