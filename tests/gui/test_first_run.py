"""The first-run dialog: the hub's address and the agency's CA bundle, shown by its
fingerprint, checked against a real hub over TLS on loopback and kept in the profile;
plain http:// to another computer refused at once, before connecting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.config.settings import load_settings
from app.services.hub_link import read_ca_file
from app.ui.dialogs.first_run import NO_BUNDLE, FirstRunDialog
from app.ui.smoke import first_dialog
from app.ui.workers import TaskRunner
from app.workstation import Workstation
from tests.support.tls_hub import TlsHub, tls_hub

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsHub]:
    with tls_hub(tmp_path_factory.mktemp("tls")) as served:
        yield served


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Workstation]:
    """A workstation on its first run: a profile folder that names no hub."""
    workstation = Workstation(profile_dir=tmp_path / "profile")
    yield workstation
    workstation.close()


def _dialog(qtbot: QtBot, workstation: Workstation, runner: TaskRunner) -> FirstRunDialog:
    dialog = FirstRunDialog(workstation=workstation, runner=runner)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_a_profile_without_a_hub_starts_with_the_first_run_dialog(
    qtbot: QtBot, fresh: Workstation, runner: TaskRunner
) -> None:
    dialog = first_dialog(workstation=fresh, runner=runner)
    qtbot.addWidget(dialog)
    assert isinstance(dialog, FirstRunDialog)


def test_the_agency_ca_is_shown_by_fingerprint_and_kept_once_the_hub_answers(
    qtbot: QtBot, hub: TlsHub, fresh: Workstation, runner: TaskRunner
) -> None:
    dialog = _dialog(qtbot, fresh, runner)
    assert dialog.fingerprint_label.text() == NO_BUNDLE
    assert dialog.set_bundle_file(hub.ca.ca_pem)
    fingerprint = read_ca_file(hub.ca.ca_pem).fingerprints[0]
    assert f"SHA-256 {fingerprint}" in dialog.fingerprint_label.text()
    dialog.hub_edit.setText(hub.url)
    with qtbot.waitSignal(dialog.connected, timeout=20_000) as blocker:
        qtbot.mouseClick(dialog.connect_button, Qt.MouseButton.LeftButton)
        assert dialog.busy
        assert dialog.connect_button.text() == "Connecting…"
    assert blocker.args[0].hub_url == hub.url
    assert not dialog.isVisible()
    assert fresh.hub_url == hub.url
    kept = load_settings(fresh.profile_dir)
    assert kept.hub_url == hub.url
    assert (fresh.profile_dir / kept.hub_ca_file).read_bytes() == hub.ca.ca_pem.read_bytes()


def test_without_the_bundle_the_untrusted_certificate_is_explained(
    qtbot: QtBot, hub: TlsHub, fresh: Workstation, runner: TaskRunner
) -> None:
    dialog = _dialog(qtbot, fresh, runner)
    dialog.hub_edit.setText(hub.url)
    with qtbot.waitSignal(dialog.connect_failed, timeout=20_000) as blocker:
        dialog.submit()
    assert blocker.args[0].startswith(
        f"The hub at {hub.url} presented a certificate this computer does not trust."
    )
    assert dialog.error_label.text() == blocker.args[0]
    assert dialog.isVisible()
    assert fresh.hub_url is None
    assert not (fresh.profile_dir / "profile.json").exists()


def test_plain_http_to_another_computer_is_refused_at_once(
    qtbot: QtBot, fresh: Workstation, runner: TaskRunner
) -> None:
    dialog = _dialog(qtbot, fresh, runner)
    dialog.hub_edit.setText("http://10.20.30.40:8750")
    with qtbot.waitSignal(dialog.connect_failed, timeout=1_000) as blocker:
        dialog.submit()
    assert "plain http:// would send your password" in blocker.args[0]
    assert dialog.error_label.isVisible()
    assert not dialog.busy  # refused before any connection was tried
    assert fresh.hub_url is None


def test_a_file_that_is_not_a_ca_bundle_is_named_and_the_choice_kept(
    qtbot: QtBot, hub: TlsHub, fresh: Workstation, runner: TaskRunner, tmp_path: Path
) -> None:
    dialog = _dialog(qtbot, fresh, runner)
    assert dialog.set_bundle_file(hub.ca.ca_pem)
    wrong = tmp_path / "notes.txt"
    wrong.write_text("the hub's address is on the wiki\n")
    assert not dialog.set_bundle_file(wrong)
    assert str(wrong) in dialog.error_label.text()
    assert dialog.ca_edit.text() == str(hub.ca.ca_pem)  # the good bundle stays chosen


def test_the_window_asks_for_the_hub_first_and_quit_ends_it(
    qtbot: QtBot, fresh: Workstation
) -> None:
    """`platedesk` on a profile that names no hub: the first-run dialog comes before
    sign-in; Quit there ends the app with nothing kept."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app import main as app_main

    seen: list[str] = []

    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(20, answer)
            return
        seen.append(type(dialog).__name__)
        assert isinstance(dialog, FirstRunDialog)
        dialog.quit_button.click()

    QTimer.singleShot(0, answer)
    assert app_main.run_gui(workstation=fresh) == 0
    assert seen == ["FirstRunDialog"]
    assert not (fresh.profile_dir / "profile.json").exists()
