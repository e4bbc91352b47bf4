"""The flag policy file: the thresholds of the flag rules, in the hub's data folder.

DATA/flag-policy.json holds the whole policy (app.core.flag_rules.FlagPolicy);
when it is absent the defaults apply. Only `platedesk-hub policy set` and the
admin API change it, and every change is a hub audit event (`policy.change`)
naming the administrator with each changed key's old and new values.

Searches read the policy through current_policy(), which re-reads the file only
when it changed and falls back to the defaults (with a warning in the log) if the
file is damaged: a flag must never block a search.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.engine import Connection

from app.core.errors import KnownError
from app.core.flag_rules import FlagPolicy, policy_problem, updated_policy
from hub.audit import record_hub_event

log = logging.getLogger(__name__)

POLICY_FILE_NAME = "flag-policy.json"
POLICY_CHANGE_ACTION = "policy.change"

_cache_lock = threading.Lock()
_cache: dict[Path, tuple[tuple[int, int, int], FlagPolicy]] = {}


def policy_path(data_dir: Path) -> Path:
    return data_dir / POLICY_FILE_NAME


def load_policy(data_dir: Path) -> FlagPolicy:
    """The policy in the data folder (defaults when there is no file); KnownError if damaged."""
    path = policy_path(data_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return FlagPolicy()
    except OSError as exc:
        raise KnownError(f"Cannot read the flag policy {path} ({exc.strerror}).") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise KnownError(
            f"The flag policy {path} is not valid JSON; fix it or delete it to get the defaults."
        ) from None
    if not isinstance(data, dict):
        raise KnownError(f"The flag policy {path} must be a JSON object of settings.")
    try:
        return FlagPolicy.model_validate(data)
    except ValidationError as exc:
        raise KnownError(f"{policy_problem(exc)} (in {path})") from None


def current_policy(data_dir: Path) -> FlagPolicy:
    """The policy for flagging a search: cached by the file's mtime; never raises."""
    path = policy_path(data_dir)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return FlagPolicy()
    except OSError:
        log.warning("the flag policy file cannot be read; the default thresholds apply")
        return FlagPolicy()
    key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
    with _cache_lock:
        cached = _cache.get(path)
    if cached is not None and cached[0] == key:
        return cached[1]
    try:
        policy = load_policy(data_dir)
    except KnownError as exc:
        log.warning("%s; the default thresholds apply until it is fixed", exc)
        return FlagPolicy()
    with _cache_lock:
        _cache[path] = (key, policy)
    return policy


def _write(path: Path, policy: FlagPolicy) -> None:
    """Replace the file atomically (a reader sees the old or the new policy, whole)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".flag-policy-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(policy.model_dump(mode="json"), indent=2) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def change_policy(
    connection: Connection,
    data_dir: Path,
    changes: dict[str, Any],
    *,
    by: str,
    session_id: str = "",
    now: datetime,
) -> FlagPolicy:
    """Apply and save `changes` (validated together), audited in the caller's transaction.

    The event is recorded before the file is written, so a failed write rolls the
    event back with the transaction; a change that changes nothing is not recorded.
    """
    if not changes:
        raise KnownError("Name at least one flag policy setting to change.")
    old = load_policy(data_dir)
    new = updated_policy(old, changes)
    before, after = old.model_dump(mode="json"), new.model_dump(mode="json")
    changed = {
        key: {"old": before[key], "new": after[key]} for key in after if before[key] != after[key]
    }
    if not changed:
        return new
    record_hub_event(
        connection,
        action=POLICY_CHANGE_ACTION,
        now=now,
        username=by,
        session_id=session_id,
        object_refs={"policy": POLICY_FILE_NAME},
        params={"changes": changed},
    )
    _write(policy_path(data_dir), new)
    return new
