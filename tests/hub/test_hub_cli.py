"""`platedesk-hub` through a subprocess: init, demo-seed, audit-verify, refusals."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyotp


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def _json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


def _db_args(hub_db: str | None) -> list[str]:
    return ["--db", hub_db] if hub_db else []


def test_init_seed_verify(tmp_path: Path, hub_db: str | None) -> None:
    data = tmp_path / "hubdata"
    init = _json(_run("init", "--data", str(data), *_db_args(hub_db)))
    assert init["data"] == str(data)
    assert init["database"] == ("postgresql" if hub_db else "sqlite")
    assert init["revision"] == "0001"
    secret = data / "hub-secret.key"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert len(secret.read_bytes()) == 32

    small = ["--cameras", "2", "--days", "1", "--reads-per-day", "50"]
    seeded = _json(_run("demo-seed", "--data", str(data), *_db_args(hub_db), *small))
    assert seeded["reads"] == 100
    roles = {user["username"]: user["role"] for user in seeded["users"]}
    assert roles == {
        "detective": "detective",
        "technician": "evidence_technician",
        "supervisor": "supervisor",
        "admin": "admin",
    }
    for user in seeded["users"]:
        assert len(user["password"]) >= 12
        pyotp.TOTP(user["totp_secret"]).now()
    assert all("detective" in case["assigned"] for case in seeded["cases"])
    assert len(list((data / "images").glob("*/*.jpg"))) == 200

    again = _run("demo-seed", "--data", str(data), *_db_args(hub_db), *small)
    assert again.returncode == 1
    assert "--reset" in again.stderr
    assert "Traceback" not in again.stderr
    reseeded = _json(_run("demo-seed", "--data", str(data), *_db_args(hub_db), *small, "--reset"))
    assert reseeded["users"] == seeded["users"]  # deterministic under --seed

    verify = _json(_run("audit-verify", "--data", str(data), *_db_args(hub_db)))
    assert verify == {"events": 0, "devices": 0, "chains_ok": True, "problems": []}


def test_serve_refuses_without_init(tmp_path: Path) -> None:
    result = _run("serve", "--data", str(tmp_path / "empty"), "--port", "9")
    assert result.returncode == 1
    assert "run platedesk-hub init first" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_database_url(tmp_path: Path) -> None:
    result = _run("init", "--data", str(tmp_path / "d"), "--db", "mysql://x")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
