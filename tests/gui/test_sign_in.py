"""The sign-in dialog: errors inline, busy while signing in, Enter submits."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.ui.dialogs.sign_in import SignInDialog
from app.ui.workers import TaskRunner

from .fakes import HUB_URL, PASSWORD, TOTP, FakeWorkstation


def _dialog(qtbot: QtBot, workstation: FakeWorkstation, runner: TaskRunner) -> SignInDialog:
    workstation.signed_in = False
    dialog = SignInDialog(workstation=workstation, runner=runner, username="dortiz")
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_wrong_code_is_shown_inline(
    qtbot: QtBot, workstation: FakeWorkstation, runner: TaskRunner
) -> None:
    dialog = _dialog(qtbot, workstation, runner)
    assert dialog.hub_edit.text() == HUB_URL
    dialog.password_edit.setText(PASSWORD)
    dialog.code_edit.setText("000000")
    with qtbot.waitSignal(dialog.sign_in_failed, timeout=2000):
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


def test_unreachable_hub_is_shown_inline(
    qtbot: QtBot, workstation: FakeWorkstation, runner: TaskRunner
) -> None:
    workstation.hub_unreachable = True
    dialog = _dialog(qtbot, workstation, runner)
    dialog.hub_edit.setText("https://nowhere.example.test")
    dialog.password_edit.setText(PASSWORD)
    dialog.code_edit.setText(TOTP)
    with qtbot.waitSignal(dialog.sign_in_failed, timeout=2000) as blocker:
        dialog.submit()
    assert blocker.args[0].startswith("Cannot reach the hub at https://nowhere.example.test")
    assert dialog.error_label.text() == blocker.args[0]
    assert workstation.login_calls[-1]["hub_url"] == "https://nowhere.example.test"


def test_enter_signs_in(qtbot: QtBot, workstation: FakeWorkstation, runner: TaskRunner) -> None:
    dialog = _dialog(qtbot, workstation, runner)
    dialog.password_edit.setText(PASSWORD)
    qtbot.keyClicks(dialog.code_edit, TOTP)
    with qtbot.waitSignal(dialog.signed_in, timeout=2000) as blocker:
        qtbot.keyClick(dialog.code_edit, Qt.Key.Key_Return)
    assert blocker.args[0].username == "dortiz"
    assert dialog.result() == SignInDialog.DialogCode.Accepted
    assert workstation.login_calls == [
        {"username": "dortiz", "password": PASSWORD, "totp": TOTP, "hub_url": HUB_URL}
    ]


def test_missing_fields_are_named_without_asking_the_hub(
    qtbot: QtBot, workstation: FakeWorkstation, runner: TaskRunner
) -> None:
    dialog = _dialog(qtbot, workstation, runner)
    dialog.password_edit.setText(PASSWORD)
    qtbot.keyClicks(dialog.code_edit, "12ab3")
    assert dialog.code_edit.text() == "123"
    with qtbot.waitSignal(dialog.sign_in_failed, timeout=2000) as blocker:
        qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    assert blocker.args == ["Enter the 6-digit code from your authenticator app."]
    assert workstation.login_calls == []


def test_a_bug_shows_the_generic_message(
    qtbot: QtBot, workstation: FakeWorkstation, runner: TaskRunner, monkeypatch, caplog
) -> None:
    def broken_login(**_kwargs: object) -> None:
        raise ValueError("internal detail that must not be shown")

    monkeypatch.setattr(workstation, "login", broken_login)
    dialog = _dialog(qtbot, workstation, runner)
    dialog.password_edit.setText(PASSWORD)
    dialog.code_edit.setText(TOTP)
    with qtbot.waitSignal(dialog.sign_in_failed, timeout=2000):
        dialog.submit()
    assert dialog.error_label.text() == (
        "Something went wrong inside Platedesk; the details are in the log."
    )
    assert "internal detail" in caplog.text
