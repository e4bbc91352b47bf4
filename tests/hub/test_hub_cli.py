"""`platedesk-hub` through a subprocess: init, demo-seed, audit-verify, refusals."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyotp

from hub.core.db import head_revision


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
    assert init["revision"] == head_revision()
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

    # The seed's only audited acts are the hub's own: the demo hotlist entry and its hits.
    verify = _json(_run("audit-verify", "--data", str(data), *_db_args(hub_db)))
    assert verify["chains_ok"] is True
    assert verify["problems"] == []
    assert verify["devices"] == 1
    assert verify["events"] == verify["tree_size"] >= 2
    assert reseeded["alerts"] == seeded["alerts"]


def test_serve_refuses_without_init(tmp_path: Path) -> None:
    result = _run("serve", "--data", str(tmp_path / "empty"), "--port", "9")
    assert result.returncode == 1
    assert "run platedesk-hub init first" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_database_url(tmp_path: Path) -> None:
    result = _run("init", "--data", str(tmp_path / "d"), "--db", "mysql://x")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_user_add_and_unlock(tmp_path: Path) -> None:
    data = str(tmp_path / "hub")
    _json(_run("init", "--data", data))
    add = ["user", "add", "--data", data, "--username", "kim", "--role", "admin"]
    untrained = subprocess.run(
        [sys.executable, "-m", "hub.cli", *add, "--display-name", "Pat Kim"],
        input="violet-harbor-kettle\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )  # an administrator without training could never sign in
    assert untrained.returncode == 1
    assert "An administrator needs current ALPR training too" in untrained.stderr
    add += ["--training-until", "2099-01-01"]
    created = subprocess.run(
        [sys.executable, "-m", "hub.cli", *add, "--display-name", "Pat Kim"],
        input="violet-harbor-kettle\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    user = _json(created)
    assert user["role"] == "admin"
    assert user["provisioning_uri"].startswith("otpauth://totp/")
    pyotp.TOTP(user["totp_secret"]).now()
    weak = subprocess.run(
        [sys.executable, "-m", "hub.cli", *add[:5], "lee", *add[6:], "--display-name", "Lee"],
        input="Password2024\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert weak.returncode == 1
    assert "list of common or leaked passwords" in weak.stderr
    unlocked = _json(_run("user", "unlock", "--data", data, "--username", "kim"))
    assert unlocked == {"username": "kim", "locked": False}
    missing = _run("user", "unlock", "--data", data, "--username", "nobody")
    assert missing.returncode == 1
    assert "No user named nobody" in missing.stderr


def test_simulate_bulk(tmp_path: Path, hub_db: str | None) -> None:
    data = str(tmp_path / "hub")
    _json(_run("init", "--data", data, *_db_args(hub_db)))
    args = ["--cameras", "2", "--days", "1", "--reads-per-day", "40", "--seed", "3"]
    result = _json(_run("simulate", "--data", data, *_db_args(hub_db), *args, "--bulk"))
    assert result["reads"] == 80
    assert result["mode"] == "bulk"
    no_target = _run("simulate", "--data", data, *args)
    assert no_target.returncode == 1
    assert "--url" in no_target.stderr


def test_simulate_over_http(tmp_path: Path) -> None:
    data = str(tmp_path / "hub")
    _json(_run("init", "--data", data))
    feed = _json(_run("feed", "add", "--data", data, "--name", "gate"))
    port = _free_port()
    with subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "serve", "--data", data, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as server:
        assert server.stdout is not None
        assert json.loads(server.stdout.readline())["listening"].endswith(str(port))
        url = f"http://127.0.0.1:{port}"
        args = ["--cameras", "2", "--days", "1", "--reads-per-day", "30", "--seed", "5"]
        common = ["simulate", "--data", data, "--url", url, "--camera-token", feed["token"]]
        first = _json(_run(*common, *args))
        assert first == {**first, "reads": 60, "created": 60, "duplicates": 0, "mode": "http"}
        again = _json(_run(*common, *args))  # same seed, same day: the same reads
        server.terminate()
        server.wait(timeout=30)
    assert again["created"] == 0
    assert again["duplicates"] == 60
