"""The sign-in dialog: errors inline, busy while signing in, Enter submits. The real
services and a real hub on loopback; an unreachable hub is a real refused socket."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.cache.migrations import CACHE_UPDATE
from app.demo import totp_now
from app.ui.dialogs.sign_in import SignInDialog
from app.ui.workers import TaskRunner
from app.workstation import Workstation
from tests.support.live_hub import SeededHub
from tests.support.silent_hub import refused_url

pytestmark = pytest.mark.e2e


@pytest.fixture
def fresh(seeded_hub: SeededHub, tmp_path: Path) -> Iterator[Workstation]:
    """A workstation with a profile folder and no one signed in yet."""
    workstation = Workstation(profile_dir=tmp_path / "profile", hub_url=seeded_hub.url)
    yield workstation
    workstation.close()


def _dialog(
    qtbot: QtBot, workstation: Workstation, runner: TaskRunner, user: dict[str, Any]
) -> SignInDialog:
    dialog = SignInDialog(workstation=workstation, runner=runner, username=user["username"])
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_wrong_code_is_shown_inline(
    qtbot: QtBot, seeded_hub: SeededHub, fresh: Workstation, runner: TaskRunner
) -> None:
    user = seeded_hub.user("detective")
    dialog = _dialog(qtbot, fresh, runner, user)
    assert dialog.hub_edit.text() == seeded_hub.url
    dialog.password_edit.setText(user["password"])
    dialog.code_edit.setText("000000")
    with qtbot.waitSignal(dialog.sign_in_failed, timeout=20_000):
        qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
        assert dialog.busy
        assert not dialog.sign_in_button.isEnabled()
        assert dialog.sign_in_button.text() == "Signing in…"
    assert dialog.error_label.isVisible()
    assert dialog.error_label.text() == "Wrong user name, password or code."
    assert not dialog.busy
    assert dialog.sign_in_button.isEnabled()
    assert dialog.code_edit.text() == ""
    assert dialog.isVisible()
    assert fresh.session is None


def test_unreachable_hub_is_shown_inline(
    qtbot: QtBot, seeded_hub: SeededHub, fresh: Workstation, runner: TaskRunner
) -> None:
    user = seeded_hub.user("detective")
    nowhere = refused_url()
    dialog = _dialog(qtbot, fresh, runner, user)
    dialog.hub_edit.setText(nowhere)
    dialog.password_edit.setText(user["password"])
    dialog.code_edit.setText(totp_now(user["totp_secret"]))
    with qtbot.waitSignal(dialog.sign_in_failed, timeout=20_000) as blocker:
        dialog.submit()
    assert blocker.args[0].startswith(f"Cannot reach the hub at {nowhere}")
    assert dialog.error_label.text() == blocker.args[0]
    assert fresh.session is None


def test_enter_signs_in(
    qtbot: QtBot, seeded_hub: SeededHub, fresh: Workstation, runner: TaskRunner
) -> None:
    user = seeded_hub.user("detective")
    dialog = _dialog(qtbot, fresh, runner, user)
    dialog.password_edit.setText(user["password"])
    qtbot.keyClicks(dialog.code_edit, totp_now(user["totp_secret"]))
    with qtbot.waitSignal(dialog.signed_in, timeout=20_000) as blocker:
        qtbot.keyClick(dialog.code_edit, Qt.Key.Key_Return)
    assert blocker.args[0].username == user["username"]
    assert dialog.result() == SignInDialog.DialogCode.Accepted
    assert fresh.session is not None
    assert "session.sign_in" in [e["action"] for e in fresh.journal().events()]


def test_a_slow_sign_in_says_what_it_is_busy_with(
    qtbot: QtBot, seeded_hub: SeededHub, fresh: Workstation, runner: TaskRunner
) -> None:
    """While the workstation reports a slow step (the cache's one-time update after a new
    version: tests/unit/cache/test_mirror_file.py), the dialog shows it; once signed in,
    it is gone."""
    user = seeded_hub.user("detective")
    dialog = _dialog(qtbot, fresh, runner, user)
    dialog.password_edit.setText(user["password"])
    dialog.code_edit.setText(totp_now(user["totp_secret"]))
    assert dialog.progress_label.isHidden()
    fresh.core.cache_update = CACHE_UPDATE  # as Session.db() sets it during the update
    with qtbot.waitSignal(dialog.signed_in, timeout=20_000):
        dialog.submit()
        assert dialog.progress_label.isVisible()
        assert dialog.progress_label.text() == CACHE_UPDATE
    assert dialog.progress_label.isHidden()


def test_missing_fields_are_named_without_asking_the_hub(
    qtbot: QtBot, seeded_hub: SeededHub, fresh: Workstation, runner: TaskRunner
) -> None:
    user = seeded_hub.user("detective")
    dialog = _dialog(qtbot, fresh, runner, user)
    dialog.password_edit.setText(user["password"])
    qtbot.keyClicks(dialog.code_edit, "12ab3")
    assert dialog.code_edit.text() == "123"
    with qtbot.waitSignal(dialog.sign_in_failed, timeout=2000) as blocker:
        qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    assert blocker.args == ["Enter the 6-digit code from your authenticator app."]
    assert fresh.session is None
    assert not fresh.cache_path.exists()  # the hub was not asked: no profile was made


def test_a_bug_shows_the_generic_message(
    qtbot: QtBot,
    seeded_hub: SeededHub,
    fresh: Workstation,
    runner: TaskRunner,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken_login(**_kwargs: object) -> None:
        raise ValueError("internal detail that must not be shown")

    monkeypatch.setattr(fresh, "login", broken_login)
    user = seeded_hub.user("detective")
    dialog = _dialog(qtbot, fresh, runner, user)
    dialog.password_edit.setText(user["password"])
    dialog.code_edit.setText(totp_now(user["totp_secret"]))
    with qtbot.waitSignal(dialog.sign_in_failed, timeout=20_000):
        dialog.submit()
    assert dialog.error_label.text() == (
        "Something went wrong inside Platedesk; the details are in the log."
    )
    assert "internal detail" in caplog.text
