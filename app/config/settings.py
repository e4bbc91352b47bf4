"""The profile's settings: typed, versioned, in a JSON file inside the profile folder.

No secret ever goes here: tokens and the cache key live in the OS keyring.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from app.core.errors import KnownError
from app.core.policy import IDLE_LOCK_DEFAULT, IDLE_LOCK_MAX

SETTINGS_VERSION = 1
PROFILE_FILE = "profile.json"


class ProfileSettings(BaseModel):
    """Who this profile belongs to and how it behaves; no plate, case or secret."""

    version: int = SETTINGS_VERSION
    profile_id: str = ""
    hub_url: str = ""
    # The agency's CA bundle for the hub, a PEM file in the profile folder ("" = the
    # system's trusted authorities). A certificate, not a secret.
    hub_ca_file: str = ""
    username: str = ""
    device_id: str = ""
    idle_lock_minutes: int = Field(
        default=int(IDLE_LOCK_DEFAULT.total_seconds() // 60),
        ge=1,
        le=int(IDLE_LOCK_MAX.total_seconds() // 60),
    )
    feed_page_size: int = Field(default=1000, ge=1, le=1000)
    dark_theme: bool = False  # the window's look, kept between sessions
    export_dir: str = ""  # where the last evidence packet was written (the export dialog's start)


def load_settings(profile_dir: Path) -> ProfileSettings:
    """The profile's settings, or fresh defaults when the profile is new."""
    path = profile_dir / PROFILE_FILE
    if not path.exists():
        return ProfileSettings()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        settings = ProfileSettings.model_validate(data)
    except (OSError, ValueError, ValidationError) as exc:
        raise KnownError(
            f"The profile settings in {path} cannot be read ({exc.__class__.__name__}); "
            "fix or remove that file and sign in again."
        ) from exc
    if settings.version > SETTINGS_VERSION:
        raise KnownError(
            f"The profile in {profile_dir} was written by a newer Platedesk; update Platedesk."
        )
    return settings


def save_settings(profile_dir: Path, settings: ProfileSettings) -> None:
    """Write atomically: a crash leaves the old file or the new one, never half of one."""
    profile_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=profile_dir, prefix=".profile-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(settings.model_dump_json(indent=2))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, profile_dir / PROFILE_FILE)
