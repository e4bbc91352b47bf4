"""The main window: the case gate, search as you type, results, images, status; the real
services over a temporary cache and a real hub on loopback (a double only at the network
edge and the OS keyring)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.cache.reads import ReadRepository
from app.core.records import SearchQuery
from app.demo import totp_now
from app.sync.client import HubUnreachable
from app.ui.desk.case_flow import GATE_CHOOSE, GATE_NEED_SLICE
from app.ui.formatting import count_of
from app.ui.main_window import DEMO_BANNER, INSECURE_KEYRING, MainWindow
from app.ui.widgets.image_pane import NOT_DECODED
from app.ui.workers import TaskRunner
from app.workstation import Workstation
from tests.support.edge import SwitchableTransport
from tests.support.live_hub import JUSTIFICATION, SeededHub

pytestmark = pytest.mark.e2e

MakeWindow = Callable[..., MainWindow]


@pytest.fixture
def cable() -> SwitchableTransport:
    return SwitchableTransport()


def _sign_in(
    seeded_hub: SeededHub, profile: Path, transport: SwitchableTransport | None = None
) -> Workstation:
    user = seeded_hub.user("detective")
    workstation = Workstation.open(profile_dir=profile, hub_url=seeded_hub.url, transport=transport)
    workstation.login(
        username=user["username"], password=user["password"], totp=totp_now(user["totp_secret"])
    )
    return workstation


@pytest.fixture
def synced(
    seeded_hub: SeededHub, tmp_path: Path, cable: SwitchableTransport
) -> Iterator[tuple[Workstation, str]]:
    """The detective signed in through the cable, their case's slice synced without images."""
    workstation = _sign_in(seeded_hub, tmp_path / "profile", cable)
    case = seeded_hub.case_for(seeded_hub.user("detective")["username"])
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


@pytest.fixture
def make_window(qtbot: QtBot, synced: tuple[Workstation, str], runner: TaskRunner) -> MakeWindow:
    def make(**kwargs: object) -> MainWindow:
        window = MainWindow(synced[0], runner, **kwargs)  # type: ignore[arg-type]
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: window.is_ready, timeout=20_000)
        return window

    return make


def _ready_to_search(qtbot: QtBot, make_window: MakeWindow, case: str) -> MainWindow:
    window = make_window(initial_case=case, initial_purpose="robbery")
    qtbot.waitUntil(lambda: window.gate_reason is None, timeout=20_000)
    return window


def _query(case: str) -> SearchQuery:
    return SearchQuery(case_number=case, purpose="robbery", pattern=None)


def _journaled(workstation: Workstation, action: str) -> list[dict[str, object]]:
    return [e for e in workstation.journal().events() if e["action"] == action]


def test_search_waits_for_case_purpose_and_a_synced_slice(
    qtbot: QtBot, make_window: MakeWindow, synced: tuple[Workstation, str], seeded_hub: SeededHub
) -> None:
    _workstation, case = synced
    other = next(c["case_number"] for c in seeded_hub.seeded["cases"] if c["case_number"] != case)
    window = make_window()
    assert window.gate_reason == GATE_CHOOSE
    assert window.gate_label.text() == GATE_CHOOSE
    assert not window.search_button.isEnabled()
    assert window.case_bar.recorded_label.text().startswith("Choose the case")

    assert window.case_bar.select(case_number=other)
    assert window.gate_reason == GATE_CHOOSE  # still no purpose
    with qtbot.waitSignal(
        window.gate_changed, timeout=20_000, check_params_cb=lambda r: r == GATE_NEED_SLICE
    ):
        window.case_bar.select(purpose="robbery")
    assert window.case_bar.recorded_label.text() == (
        f"Your work is recorded under case {other} for Robbery"
    )
    assert not window.search_button.isEnabled()
    assert window.gate_label.isVisible()

    # Another case: the purpose does not follow it silently; a purpose is chosen for it.
    window.case_bar.select(case_number=case)
    assert window.case_bar.purpose is None
    assert window.gate_reason == GATE_CHOOSE
    assert not window.search_button.isEnabled()
    with qtbot.waitSignal(window.gate_changed, timeout=20_000, check_params_cb=lambda r: r is None):
        window.case_bar.select(purpose="robbery")
    assert window.search_button.isEnabled()
    assert not window.gate_label.isVisible()
    assert window.windowTitle() == f"Platedesk — case {case}"


def test_pattern_is_checked_as_it_is_typed(
    qtbot: QtBot, make_window: MakeWindow, synced: tuple[Workstation, str]
) -> None:
    workstation, case = synced
    window = _ready_to_search(qtbot, make_window, case)
    searches = len(_journaled(workstation, "search"))
    qtbot.keyClicks(window.query_edit, "7K%2")
    assert window.pattern_error_label.isVisible()
    assert "at position 3" in window.pattern_error_label.text()
    assert window.query_edit.property("invalid") is True
    assert not window.search_button.isEnabled()
    with qtbot.assertNotEmitted(window.results_model.search_finished, wait=50):
        qtbot.keyClick(window.query_edit, Qt.Key.Key_Return)
    assert len(_journaled(workstation, "search")) == searches  # nothing was searched

    window.query_edit.setText("*7K2*")
    assert not window.pattern_error_label.isVisible()
    assert window.query_edit.property("invalid") is False
    assert window.search_button.isEnabled()


def test_search_shows_the_count_and_the_selected_read(
    qtbot: QtBot, make_window: MakeWindow, synced: tuple[Workstation, str]
) -> None:
    workstation, case = synced
    window = _ready_to_search(qtbot, make_window, case)
    with qtbot.waitSignal(window.search_finished, timeout=20_000):
        window.run_search("")
    fragment = window.results_model.read_at(0).plate[1:4]
    searches = len(_journaled(workstation, "search"))
    qtbot.keyClicks(window.query_edit, f"*{fragment.lower()}*")
    with qtbot.waitSignal(window.search_finished, timeout=20_000) as blocker:
        qtbot.keyClick(window.query_edit, Qt.Key.Key_Return)
    [searched] = _journaled(workstation, "search")[searches:]
    params = searched["params"]
    assert isinstance(params, dict)
    assert (params["case_number"], params["purpose"]) == (case, "robbery")
    assert params["pattern"] == f"*{fragment.upper()}*"
    assert blocker.args == [params["result_count"]]  # the count shown is the one audited
    total = blocker.args[0]
    assert total >= 1
    assert window.count_label.text() == count_of(total, "read")
    assert all(
        fragment.upper() in window.results_model.read_at(r).plate for r in range(min(total, 50))
    )

    first = window.results_model.read_at(0)
    views = len(_journaled(workstation, "image.view"))
    with qtbot.waitSignal(window.image_shown, timeout=20_000) as shown:
        window.select_row(0)
    assert shown.args == [first.read_id]
    pane = window.image_pane
    assert pane.message is None
    assert pane.scene_view.has_image()
    assert not pane.crop_label.pixmap().isNull()
    assert pane.plate_value.text() == first.plate
    assert pane.vehicle_value.text() == f"{first.color} {first.make} {first.model}"
    viewed = [
        (e["object_refs"]["image_sha256"], e["object_refs"]["read_id"])  # type: ignore[index]
        for e in _journaled(workstation, "image.view")[views:]
    ]
    assert sorted(viewed) == sorted(
        [(first.image_sha256, first.read_id), (first.crop_sha256, first.read_id)]
    )

    # The arrow keys move through the results and the image follows.
    second = window.results_model.read_at(1)
    with qtbot.waitSignal(window.image_shown, timeout=20_000) as shown:
        qtbot.keyClick(window.results_view, Qt.Key.Key_Down)
    assert shown.args == [second.read_id]
    assert pane.plate_value.text() == second.plate


def test_a_corrupt_image_shows_a_message(
    qtbot: QtBot, make_window: MakeWindow, synced: tuple[Workstation, str]
) -> None:
    workstation, case = synced
    window = _ready_to_search(qtbot, make_window, case)
    with qtbot.waitSignal(window.search_finished, timeout=20_000):
        window.run_search("")
    first = window.results_model.read_at(0)
    # The cached copy of the scene is damaged on disk (not a JPEG any more).
    db = workstation.core.db()
    with db.atomic():
        ReadRepository(db).put_image(first.image_sha256, b"\xff\xd8 damaged on disk")
    with qtbot.waitSignal(window.image_pane.image_failed, timeout=20_000) as failed:
        window.select_row(0)
    assert failed.args == [NOT_DECODED]
    assert window.image_pane.message == NOT_DECODED
    assert window.image_pane.message_label.isVisible()
    assert window.image_pane.plate_value.text() == first.plate


def test_status_bar_shows_user_journal_and_warnings(
    qtbot: QtBot,
    make_window: MakeWindow,
    synced: tuple[Workstation, str],
    cable: SwitchableTransport,
) -> None:
    workstation, case = synced
    cable.down = True
    for _ in range(3):  # three searches while the hub is out of reach: three events to send
        workstation.search.run(_query(case), limit=1)
    window = make_window(demo=True)
    assert window.demo_banner.isVisible()
    assert window.demo_banner.text() == DEMO_BANNER
    session = workstation.session
    assert session is not None
    assert window.user_label.text() == (
        f"Signed in as {session.display_name} ({session.username}) · role: detective"
    )
    assert window.keyring_label.isVisible()  # the tests' keyring is a plaintext file
    assert window.keyring_label.text() == INSECURE_KEYRING
    qtbot.waitUntil(lambda: not window.chores.online, timeout=20_000)
    assert window.connection_label.text().startswith("Offline")
    pending = workstation.audit.status().pending
    assert pending >= 3
    qtbot.waitUntil(
        lambda: (
            window.journal_label.text()
            == f"{count_of(workstation.audit.status().pending, 'audit event')} not yet sent"
        ),
        timeout=20_000,
    )

    cable.down = False
    window.chores.upload_journal()
    qtbot.waitUntil(lambda: window.chores.online, timeout=20_000)
    qtbot.waitUntil(lambda: window.journal_label.text() == "All audit events sent", timeout=20_000)
    assert workstation.audit.status().pending == 0


class MemoryKeyring(KeyringBackend):
    """An OS keyring that is not a plaintext file (a double at the OS edge)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.secrets.pop((service, username), None)


@pytest.fixture
def secure_keyring() -> Iterator[MemoryKeyring]:
    before = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    yield memory
    keyring.set_keyring(before)


def test_no_banner_or_keyring_warning_by_default(
    qtbot: QtBot,
    seeded_hub: SeededHub,
    tmp_path: Path,
    runner: TaskRunner,
    secure_keyring: MemoryKeyring,
) -> None:
    workstation = _sign_in(seeded_hub, tmp_path / "secure")
    try:
        assert secure_keyring.secrets  # the tokens went to the OS keyring
        window = MainWindow(workstation, runner)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: window.is_ready, timeout=20_000)
        assert not window.demo_banner.isVisible()
        assert not window.keyring_label.isVisible()
        window.close()
        assert runner.shutdown(timeout_ms=20_000)
    finally:
        workstation.close()


def test_cannot_reach_the_hub_goes_once_the_hub_is_back(
    qtbot: QtBot,
    make_window: MakeWindow,
    synced: tuple[Workstation, str],
    cable: SwitchableTransport,
) -> None:
    window = _ready_to_search(qtbot, make_window, synced[1])
    qtbot.waitUntil(lambda: window.chores.online, timeout=20_000)
    cable.down = True
    # An action fails because the hub cannot be reached (as every action reports it).
    window.review_flow.action_failed(
        HubUnreachable("Cannot reach the hub at https://hub (ConnectError).")
    )
    assert not window.chores.online
    assert window.statusBar().currentMessage().startswith("Cannot reach the hub")

    cable.down = False
    window.chores.run_due_chores()  # the clock's next look for the hub (due: offline pace)
    window.chores.upload_journal()
    qtbot.waitUntil(lambda: window.chores.online, timeout=20_000)
    assert window.statusBar().currentMessage() == ""
