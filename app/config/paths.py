"""Where things live: resources and models beside the code, user data under platformdirs.

This module alone locates them. Relative resource names are checked: an
absolute path or `..` is refused, so a name from a settings file cannot reach
outside the resource folder.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path, PurePosixPath

import platformdirs

APP_NAME = "platedesk"


def install_root() -> Path:
    """The folder holding resources/ and models/: the checkout, or a PyInstaller bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle)
    return Path(__file__).resolve().parents[2]


def _checked(name: str) -> PurePosixPath:
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise ValueError(f"'{name}' is not a resource name (absolute paths and '..' are refused)")
    return relative


def resource_path(name: str) -> Path:
    return install_root() / "resources" / _checked(name)


def model_path(name: str) -> Path:
    return install_root() / "models" / _checked(name)


def user_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_profile_dir(*, username: str, hub_url: str) -> Path:
    """One profile per user and hub, e.g. .../platedesk/profiles/detective@127.0.0.1-8750."""
    host = re.sub(r"^[a-z]+://", "", hub_url.rstrip("/"))
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{username}@{host}")
    return user_data_dir() / "profiles" / slug


def hub_profile_dir(hub_url: str) -> Path:
    """The profile a first run makes for a hub before anyone signs in, e.g.
    .../platedesk/profiles/hub.example.gov-8750 (the first user to sign in takes it)."""
    return user_data_dir() / "profiles" / _slug(re.sub(r"^[a-z]+://", "", hub_url.rstrip("/")))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text)


def current_profile_file() -> Path:
    """Names the profile used last, for commands run without --profile."""
    return user_data_dir() / "current-profile"
