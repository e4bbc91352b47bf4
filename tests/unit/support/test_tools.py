"""A test that needs a missing tool says which package brings it: skips here, fails in CI."""

from __future__ import annotations

import pytest

from tests.support.tools import need_tool


def test_a_missing_tool_skips_outside_ci_naming_its_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install poppler-utils"):
        need_tool("pdftotext")


def test_a_missing_tool_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="apt-get install chromium"):
        need_tool("chromium", "chromium-browser")


def test_a_present_tool_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    assert need_tool("sh").endswith("/sh")
