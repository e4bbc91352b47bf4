"""The composition root: no display, and the screenshots it renders."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from app import main as app_main
from app.workstation import Workstation
from tests.support.live_hub import JUSTIFICATION, SeededHub


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


@pytest.mark.e2e
def test_screenshots_after_sync_and_search(
    qtbot: QtBot,
    qtlog: object,
    tmp_path: Path,
    seeded_hub: SeededHub,
    synced_workstation: tuple[Workstation, str],
) -> None:
    workstation, case = synced_workstation
    now = datetime.now(UTC)
    info = workstation.slices.request(
        case_number=case,
        purpose="robbery",
        justification=JUSTIFICATION,
        time_from=now - timedelta(days=1),
        time_to=now,
    )
    code = app_main.run_gui(
        workstation=workstation,
        demo=True,
        initial_case=case,
        initial_purpose="robbery",
        start_sync_slice=info.slice_id,
        screenshots_dir=tmp_path,
    )
    assert code == 0
    events = workstation.journal().events()
    actions = [event["action"] for event in events]
    synced = [e for e in events if e["action"] == "sync.end"]
    assert synced[-1]["object_refs"]["slice_id"] == info.slice_id
    searches = [e["params"] for e in events if e["action"] == "search"]
    assert searches[0]["case_number"] == case
    assert "image.view" in actions  # the first row's image was loaded
    assert "session.lock" in actions  # lock.png shows the window locked in the engine too
    analyses = [p.get("analysis") for p in searches if p.get("analysis")]
    assert analyses[:2] == ["sightings", "associates"]  # sightings.png: a result's plate
    for name in ("signin.png", "results.png", "sightings.png", "lock.png"):
        image = QImage(str(tmp_path / name))
        assert not image.isNull(), name
        assert image.width() > 300
