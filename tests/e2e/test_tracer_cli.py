"""The tracer, headless: sign in, request a slice, sync, search, deliver the journal."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import platformdirs
import pytest

from app.demo import totp_now
from tests.support.live_hub import JUSTIFICATION, SeededHub, cli_json, run_cli

pytestmark = pytest.mark.e2e


def _login(hub: SeededHub, profile: Path, role: str = "detective") -> dict[str, object]:
    user = hub.user(role)
    return cli_json(
        "--hub", hub.url, "--profile", str(profile),
        "login", "--user", user["username"], "--totp", totp_now(user["totp_secret"]),
        stdin=user["password"] + "\n",
    )  # fmt: skip


def _window() -> tuple[str, str]:
    now = datetime.now(UTC)
    return (now - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ"), now.strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def test_detective_signs_in_syncs_a_slice_searches_and_the_journal_reaches_the_hub(
    seeded_hub: SeededHub, tmp_path: Path
) -> None:
    profile = tmp_path / "profile"
    session = _login(seeded_hub, profile)
    assert session["role"] == "detective"
    case = seeded_hub.case_for(seeded_hub.user("detective")["username"])
    start, end = _window()

    created = cli_json(
        "--profile", str(profile), "slice", "request", "--case", case, "--purpose", "robbery",
        "--justification", JUSTIFICATION, "--from", start, "--to", end,
    )  # fmt: skip
    assert created["estimated_reads"] > 0

    synced = cli_json("--profile", str(profile), "sync")
    assert synced["reads"] == created["estimated_reads"]

    everything = cli_json("--profile", str(profile), "search", "--case", case, "--limit", "1")
    assert everything["count"] == created["estimated_reads"]
    some_plate = everything["results"][0]["plate"]

    exact = cli_json("--profile", str(profile), "search", "--case", case, "--plate", some_plate)
    assert exact["count"] >= 1
    assert {row["plate"] for row in exact["results"]} == {some_plate}

    middle = some_plate[1:4]
    wildcard = cli_json(
        "--profile",
        str(profile),
        "search",
        "--case",
        case,
        "--plate",
        f"*{middle}*",
        "--limit",
        "500",
    )
    assert wildcard["count"] >= exact["count"]
    assert all(middle in row["plate"] for row in wildcard["results"])

    prefix = cli_json(
        "--profile",
        str(profile),
        "search",
        "--case",
        case,
        "--plate",
        some_plate[:2] + "*",
        "--limit",
        "500",
    )
    assert all(row["plate"].startswith(some_plate[:2]) for row in prefix["results"])

    status = cli_json("--profile", str(profile), "journal", "status")
    assert status == {
        "pending": 0,
        "delivered": status["delivered"],
        "chain_ok": True,
        "problems": [],
    }
    assert status["delivered"] >= 6  # sign-in, slice, sync start/end, four searches

    verified = seeded_hub.hub_cli("audit-verify")
    assert verified.returncode == 0, verified.stderr
    report = json.loads(verified.stdout)
    assert report["chains_ok"] is True
    assert report["devices"] >= 2  # the hub's own chain and this workstation's
    assert report["events"] >= status["delivered"]


def test_no_plate_text_in_the_profile_folder(seeded_hub: SeededHub, tmp_path: Path) -> None:
    profile = tmp_path / "profile"
    _login(seeded_hub, profile)
    case = seeded_hub.case_for(seeded_hub.user("detective")["username"])
    start, end = _window()
    cli_json(
        "--profile", str(profile), "slice", "request", "--case", case, "--purpose", "robbery",
        "--justification", JUSTIFICATION, "--from", start, "--to", end,
    )  # fmt: skip
    cli_json("--profile", str(profile), "sync")
    found = cli_json("--profile", str(profile), "search", "--case", case, "--limit", "200")
    plates = {row["plate"] for row in found["results"]}
    assert plates
    raw = b"".join(path.read_bytes() for path in profile.rglob("*") if path.is_file())
    leaked = [plate for plate in plates if plate.encode() in raw]
    assert leaked == []
    assert case.encode() not in raw

    # Nor in the application's log or the hub's, nor a password, token or key.
    user = seeded_hub.user("detective")
    secrets = [user["password"], user["totp_secret"]]
    keyring_file = next(Path(os.environ["XDG_DATA_HOME"]).rglob("keyring_pass.cfg"))
    secrets += [
        line.split("=", 1)[1].strip()
        for line in keyring_file.read_text().splitlines()
        if "=" in line and len(line.split("=", 1)[1].strip()) >= 16
    ]
    app_log = Path(platformdirs.user_log_dir("platedesk", appauthor=False)) / "platedesk.log"
    logs = app_log.read_text() + seeded_hub.process.log_path.read_text()
    assert "audit checkpoint verified" in logs  # the workstation did write its log
    assert [plate for plate in plates if plate in logs] == []
    assert [secret for secret in secrets if secret in logs] == []


def test_errors_name_the_problem(seeded_hub: SeededHub, tmp_path: Path) -> None:
    profile = tmp_path / "profile"
    user = seeded_hub.user("detective")
    wrong = run_cli(
        "--hub", seeded_hub.url, "--profile", str(profile), "login", "--user", user["username"],
        "--totp", "000000", "--json", stdin=user["password"] + "\n",
    )  # fmt: skip
    assert wrong.returncode != 0
    assert "Wrong user name, password or code" in wrong.stderr
    assert "Traceback" not in wrong.stderr

    unreachable = run_cli(
        "--hub", "http://127.0.0.1:9", "--profile", str(tmp_path / "other"), "login",
        "--user", user["username"], "--totp", "123456", stdin="x\n",
    )  # fmt: skip
    assert unreachable.returncode != 0
    assert "Cannot reach the hub at http://127.0.0.1:9" in unreachable.stderr

    _login(seeded_hub, profile)
    case = seeded_hub.case_for(user["username"])
    start, end = _window()
    refused = run_cli(
        "--profile", str(profile), "slice", "request", "--case", case, "--purpose", "robbery",
        "--justification", "Find the cars of people at the protest on Capitol Avenue",
        "--from", start, "--to", end,
    )  # fmt: skip
    assert refused.returncode != 0
    assert "protests" in refused.stderr

    bad_pattern = run_cli("--profile", str(profile), "search", "--case", case, "--plate", "AB%1")
    assert bad_pattern.returncode != 0
    assert "position 3" in bad_pattern.stderr
