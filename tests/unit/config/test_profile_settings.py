"""The profile's settings file: what the user chose survives a restart; damage is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config.settings import PROFILE_FILE, load_settings
from app.core.errors import KnownError
from app.workstation import Workstation


def test_the_chosen_theme_is_kept_for_the_next_start(tmp_path: Path) -> None:
    first = Workstation(profile_dir=tmp_path)
    assert first.dark_theme is False
    first.set_dark_theme(True)
    assert Workstation(profile_dir=tmp_path).dark_theme is True
    assert load_settings(tmp_path).dark_theme is True
    assert "password" not in (tmp_path / PROFILE_FILE).read_text(encoding="utf-8")


def test_a_damaged_settings_file_is_named_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / PROFILE_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(KnownError, match=r"profile settings in .*profile\.json cannot be read"):
        load_settings(tmp_path)
