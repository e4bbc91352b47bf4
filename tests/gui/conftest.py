"""Fixtures for the widget tests: a fake workstation and a task runner that is shut down."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from app.ui.workers import TaskRunner

from .fakes import FakeWorkstation


@pytest.fixture
def runner(qtbot: QtBot) -> Iterator[TaskRunner]:
    """A task runner, shut down (every task waited for) before the widgets are closed."""
    task_runner = TaskRunner()
    yield task_runner
    assert task_runner.shutdown(timeout_ms=10_000), "background tasks did not finish"


@pytest.fixture
def workstation(qtbot: QtBot) -> FakeWorkstation:
    """A signed-in fake workstation with 450 reads and no slices yet."""
    return FakeWorkstation()
