"""The main window: the case gate, search as you type, results, images, status."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.sync.client import HubUnreachable
from app.ui.main_window import (
    DEMO_BANNER,
    GATE_CHOOSE,
    GATE_NEED_SLICE,
    INSECURE_KEYRING,
    MainWindow,
)
from app.ui.widgets.image_pane import NOT_DECODED
from app.ui.workers import TaskRunner

from .fakes import CASE, OTHER_CASE, FakeWorkstation

MakeWindow = Callable[..., MainWindow]


@pytest.fixture
def make_window(qtbot: QtBot, workstation: FakeWorkstation, runner: TaskRunner) -> MakeWindow:
    def make(**kwargs: object) -> MainWindow:
        window = MainWindow(workstation, runner, **kwargs)  # type: ignore[arg-type]
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: window.is_ready, timeout=2000)
        return window

    return make


def _ready_to_search(
    qtbot: QtBot, make_window: MakeWindow, workstation: FakeWorkstation
) -> MainWindow:
    workstation.add_synced_slice(CASE)
    window = make_window(initial_case=CASE, initial_purpose="robbery")
    qtbot.waitUntil(lambda: window.gate_reason is None, timeout=2000)
    return window


def test_search_waits_for_case_purpose_and_a_synced_slice(
    qtbot: QtBot, make_window: MakeWindow, workstation: FakeWorkstation
) -> None:
    workstation.add_synced_slice(CASE)
    window = make_window()
    assert window.gate_reason == GATE_CHOOSE
    assert window.gate_label.text() == GATE_CHOOSE
    assert not window.search_button.isEnabled()
    assert window.case_bar.recorded_label.text().startswith("Choose the case")

    window.case_bar.select(case_number=OTHER_CASE)
    assert window.gate_reason == GATE_CHOOSE  # still no purpose
    with qtbot.waitSignal(
        window.gate_changed, timeout=2000, check_params_cb=lambda r: r == GATE_NEED_SLICE
    ):
        window.case_bar.select(purpose="robbery")
    assert window.case_bar.recorded_label.text() == (
        f"Your work is recorded under case {OTHER_CASE} for Robbery"
    )
    assert not window.search_button.isEnabled()
    assert window.gate_label.isVisible()

    # Another case: the purpose does not follow it silently; a purpose is chosen for it.
    window.case_bar.select(case_number=CASE)
    assert window.case_bar.purpose is None
    assert window.gate_reason == GATE_CHOOSE
    assert not window.search_button.isEnabled()
    with qtbot.waitSignal(window.gate_changed, timeout=2000, check_params_cb=lambda r: r is None):
        window.case_bar.select(purpose="robbery")
    assert window.search_button.isEnabled()
    assert not window.gate_label.isVisible()
    assert window.windowTitle() == f"Platedesk — case {CASE}"


def test_pattern_is_checked_as_it_is_typed(
    qtbot: QtBot, make_window: MakeWindow, workstation: FakeWorkstation
) -> None:
    window = _ready_to_search(qtbot, make_window, workstation)
    qtbot.keyClicks(window.query_edit, "7K%2")
    assert window.pattern_error_label.isVisible()
    assert "at position 3" in window.pattern_error_label.text()
    assert window.query_edit.property("invalid") is True
    assert not window.search_button.isEnabled()
    with qtbot.assertNotEmitted(window.results_model.search_finished, wait=50):
        qtbot.keyClick(window.query_edit, Qt.Key.Key_Return)
    assert workstation.search_calls == []

    window.query_edit.setText("*7K2*")
    assert not window.pattern_error_label.isVisible()
    assert window.query_edit.property("invalid") is False
    assert window.search_button.isEnabled()


def test_search_shows_the_count_and_the_selected_read(
    qtbot: QtBot, make_window: MakeWindow, workstation: FakeWorkstation
) -> None:
    window = _ready_to_search(qtbot, make_window, workstation)
    qtbot.keyClicks(window.query_edit, "*7k2*")
    with qtbot.waitSignal(window.search_finished, timeout=2000) as blocker:
        qtbot.keyClick(window.query_edit, Qt.Key.Key_Return)
    assert blocker.args == [90]
    assert window.count_label.text() == "90 reads"
    query = workstation.search_calls[0][0]
    assert (query.case_number, query.purpose) == (CASE, "robbery")
    assert query.pattern is not None
    assert query.pattern.text == "*7K2*"

    first = window.results_model.read_at(0)
    with qtbot.waitSignal(window.image_shown, timeout=2000) as shown:
        window.select_row(0)
    assert shown.args == [first.read_id]
    pane = window.image_pane
    assert pane.message is None
    assert pane.scene_view.has_image()
    assert not pane.crop_label.pixmap().isNull()
    assert pane.plate_value.text() == first.plate
    assert pane.vehicle_value.text() == f"{first.color} {first.make} {first.model}"
    assert sorted(workstation.image_calls) == sorted(
        [(first.image_sha256, first.read_id), (first.crop_sha256, first.read_id)]
    )

    # The arrow keys move through the results and the image follows.
    second = window.results_model.read_at(1)
    with qtbot.waitSignal(window.image_shown, timeout=2000) as shown:
        qtbot.keyClick(window.results_view, Qt.Key.Key_Down)
    assert shown.args == [second.read_id]
    assert pane.plate_value.text() == second.plate


def test_a_corrupt_image_shows_a_message(
    qtbot: QtBot, make_window: MakeWindow, workstation: FakeWorkstation
) -> None:
    window = _ready_to_search(qtbot, make_window, workstation)
    workstation.corrupt_images.add(workstation.reads[0].image_sha256)
    with qtbot.waitSignal(window.search_finished, timeout=2000):
        window.run_search("")
    with qtbot.waitSignal(window.image_pane.image_failed, timeout=2000) as failed:
        window.select_row(0)
    assert failed.args == [NOT_DECODED]
    assert window.image_pane.message == NOT_DECODED
    assert window.image_pane.message_label.isVisible()
    assert window.image_pane.plate_value.text() == workstation.reads[0].plate


def test_status_bar_shows_user_journal_and_warnings(
    qtbot: QtBot, make_window: MakeWindow, workstation: FakeWorkstation
) -> None:
    workstation.hub_unreachable = True
    window = make_window(demo=True)
    assert window.demo_banner.isVisible()
    assert window.demo_banner.text() == DEMO_BANNER
    assert window.user_label.text() == "Signed in as Dana Ortiz (dortiz) · role: detective"
    assert window.keyring_label.isVisible()
    assert window.keyring_label.text() == INSECURE_KEYRING
    qtbot.waitUntil(
        lambda: window.journal_label.text() == "3 audit events not yet sent", timeout=2000
    )
    qtbot.waitUntil(lambda: not window.online, timeout=2000)
    assert window.connection_label.text().startswith("Offline")

    workstation.hub_unreachable = False
    window.upload_journal()
    qtbot.waitUntil(lambda: window.online, timeout=2000)
    qtbot.waitUntil(lambda: window.journal_label.text() == "All audit events sent", timeout=2000)


def test_no_banner_or_keyring_warning_by_default(
    qtbot: QtBot, make_window: MakeWindow, workstation: FakeWorkstation
) -> None:
    workstation.insecure_keyring = False
    window = make_window()
    assert not window.demo_banner.isVisible()
    assert not window.keyring_label.isVisible()


def test_cannot_reach_the_hub_goes_once_the_hub_is_back(
    qtbot: QtBot, make_window: MakeWindow, workstation: FakeWorkstation
) -> None:
    window = _ready_to_search(qtbot, make_window, workstation)
    qtbot.waitUntil(lambda: window.online, timeout=2000)
    workstation.hub_unreachable = True
    # An action fails because the hub cannot be reached (as every action reports it).
    window._action_failed(HubUnreachable("Cannot reach the hub at https://hub (ConnectError)."))
    assert not window.online
    assert window.statusBar().currentMessage().startswith("Cannot reach the hub")

    workstation.hub_unreachable = False
    window.run_due_chores()  # the clock's next look for the hub (due: offline pace)
    window.upload_journal()
    qtbot.waitUntil(lambda: window.online, timeout=2000)
    assert window.statusBar().currentMessage() == ""
