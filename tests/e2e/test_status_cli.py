"""`platedesk --profile DIR status --json`: the truth about the hub, in 5 s, exit 0."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.core.errors import ErrorKind, PolicyRefusal
from app.demo import totp_now
from app.workstation import Workstation
from tests.support.live_hub import SeededHub, cli_json, run_cli
from tests.support.silent_hub import refused_url, silent_hub

pytestmark = pytest.mark.e2e
KEYS = {"hub", "reason", "last_contact", "pending_events", "user", "role"}


def _signed_in(hub: SeededHub, profile: Path) -> dict[str, object]:
    user = hub.user("detective")
    return cli_json(
        "--hub", hub.url, "--profile", str(profile),
        "login", "--user", user["username"], "--totp", totp_now(user["totp_secret"]),
        stdin=user["password"] + "\n",
    )  # fmt: skip


def test_status_is_online_then_offline_when_refused_or_silent(
    seeded_hub: SeededHub, tmp_path: Path
) -> None:
    profile = tmp_path / "profile"
    session = _signed_in(seeded_hub, profile)

    online = cli_json("--profile", str(profile), "status")
    assert set(online) == KEYS
    assert online["hub"] == "online"
    assert online["reason"] is None
    assert online["user"] == session["username"]
    assert online["role"] == "detective"
    assert online["pending_events"] == 0  # the sign-in was delivered
    assert online["last_contact"] is not None

    refused = run_cli("--profile", str(profile), "--hub", refused_url(), "status", "--json")
    assert refused.returncode == 0, refused.stderr
    assert json.loads(refused.stdout) == {
        **online, "hub": "offline", "reason": ErrorKind.UNREACHABLE.value,
    }  # fmt: skip

    with silent_hub() as url:
        # The subprocess's limit is well under the client's 30 s read timeout: the status
        # check gives up on a silent hub after its own 3 s.
        silent = run_cli("--profile", str(profile), "--hub", url, "status", "--json", timeout=20)
    assert silent.returncode == 0, silent.stderr
    assert json.loads(silent.stdout) == {
        **online, "hub": "offline", "reason": ErrorKind.TIMED_OUT.value,
    }  # fmt: skip


def test_status_without_a_profile_is_offline_and_names_no_user(tmp_path: Path) -> None:
    done = run_cli("--profile", str(tmp_path / "none"), "--hub", refused_url(), "status", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "hub": "offline", "reason": "unreachable", "last_contact": None,
        "pending_events": 0, "user": None, "role": None,
    }  # fmt: skip


def test_a_policy_refusal_has_its_kind_from_the_hub(seeded_hub: SeededHub, tmp_path: Path) -> None:
    user = seeded_hub.user("detective")
    workstation = Workstation.open(profile_dir=tmp_path / "p", hub_url=seeded_hub.url)
    try:
        workstation.login(
            username=user["username"],
            password=user["password"],
            totp=totp_now(user["totp_secret"]),
        )
        now = datetime.now(UTC)
        with pytest.raises(PolicyRefusal) as caught:
            workstation.slices.request(
                case_number=seeded_hub.case_for(user["username"]),
                purpose="robbery",
                justification="Find the cars of people at the protest on Capitol Avenue",
                time_from=now - timedelta(days=1),
                time_to=now,
            )
        assert caught.value.kind is ErrorKind.POLICY_REFUSED
    finally:
        workstation.close()
