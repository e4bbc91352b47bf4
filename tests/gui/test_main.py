"""The composition root: no display, and the screenshots it renders."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from app import main as app_main

from .fakes import CASE, FakeWorkstation, make_alert


def test_no_display_is_explained(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert not app_main.has_display()
    assert app_main.main(["--hub", "https://hub.example.test"]) == 2
    assert capsys.readouterr().err.strip() == app_main.NO_DISPLAY


def test_display_found_when_a_platform_is_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert app_main.has_display()


def test_screenshots_after_sync_and_search(
    qtbot: QtBot, qtlog, tmp_path: Path, workstation: FakeWorkstation
) -> None:
    workstation.hub_alerts = [make_alert(1)]
    info = workstation.slices.request(
        case_number=CASE,
        purpose="robbery",
        justification="Suspect vehicle seen leaving the pharmacy robbery",
        time_from=workstation.reads[-1].captured_at,
        time_to=workstation.reads[0].captured_at,
    )
    code = app_main.run_gui(
        workstation=workstation,  # type: ignore[arg-type]
        demo=True,
        initial_case=CASE,
        initial_purpose="robbery",
        start_sync_slice=info.slice_id,
        screenshots_dir=tmp_path,
    )
    assert code == 0
    assert workstation.sync_calls == [info.slice_id]
    query = workstation.search_calls[0][0]
    assert query.pattern is not None
    assert query.pattern.text == "*7K2*"
    assert workstation.image_calls  # the first row's image was loaded
    assert workstation.lock_calls == 1  # lock.png shows the window locked in the engine too
    first = workstation.search_calls[0][0]
    assert first.case_number == CASE
    analyses = [name for name, _params in workstation.analysis_calls]
    assert analyses == ["sightings", "associates"]  # sightings.png: the first result's plate
    query_plate = workstation.analysis_calls[0][1]["plate"]
    assert isinstance(query_plate, str)
    assert "7K2" in query_plate
    assert ("scene-alert-1", "r-alert-1") in workstation.image_calls  # alerts.png: its image
    for name in ("signin.png", "results.png", "sightings.png", "alerts.png", "lock.png"):
        image = QImage(str(tmp_path / name))
        assert not image.isNull(), name
        assert image.width() > 300
