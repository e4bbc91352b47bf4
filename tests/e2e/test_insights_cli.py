"""`platedesk review operators` and `platedesk audit ...` end to end, each command in its
own process against a real hub: the supervisor gets the unit's operators and searches
the audit trail, exports an excerpt that `audit verify-excerpt` accepts until it is
changed, and reads each device chain's status; a detective is refused, in one sentence.

The CLI does not depend on the hub's database (tests/hub covers both): SQLite only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.demo import totp_now
from hub.review import SUPERVISORS_ONLY
from tests.support.live_hub import SeededHub, cli_json, run_cli

pytestmark = pytest.mark.e2e

UNIT = "robbery-unit"


@pytest.fixture(scope="module")
def hub_db() -> str | None:
    return None


def _login(hub: SeededHub, profile: Path, role: str) -> str:
    user = hub.user(role)
    cli_json(
        "--hub", hub.url, "--profile", str(profile),
        "login", "--user", user["username"], "--totp", totp_now(user["totp_secret"]),
        stdin=user["password"] + "\n",
    )  # fmt: skip
    return str(user["username"])


def _cli(profile: Path, *args: str) -> Any:
    return cli_json("--profile", str(profile), *args)


def test_operators_and_the_audit_trail_from_the_shell(
    seeded_hub: SeededHub, tmp_path: Path
) -> None:
    desk, own = tmp_path / "detective", tmp_path / "supervisor"
    detective = _login(seeded_hub, desk, "detective")
    supervisor = _login(seeded_hub, own, "supervisor")
    for username in (detective, supervisor):
        done = seeded_hub.hub_cli("user", "set-unit", "--username", username, "--unit", UNIT)
        assert done.returncode == 0, done.stderr

    for args in (("review", "operators"), ("audit", "search"), ("audit", "chains")):
        refused = run_cli("--profile", str(desk), *args, "--json")
        assert refused.returncode == 1
        assert refused.stderr.strip() == f"platedesk: {SUPERVISORS_ONLY}"
        assert refused.stdout == ""

    operators = _cli(own, "review", "operators", "--days", "7")["operators"]
    mine = next(o for o in operators if o["username"] == detective)
    assert {"searches", "baseline_per_day", "repeat_targets", "isolated_sessions"} <= set(mine)
    # the three refusals just now are the detective's: the insights show them
    assert mine["refusals"]["count"] == 3
    assert mine["refusals"]["actions"] == [{"key": "review.refused", "searches": 3}]
    assert supervisor not in [o["username"] for o in operators]

    excerpt = tmp_path / "excerpt.json"
    found = _cli(own, "audit", "search", "--user", detective, "--excerpt", str(excerpt))
    assert found["events"]
    assert {e["username"] for e in found["events"]} == {detective}
    assert found["written"] == {"excerpt": str(excerpt)}
    assert _cli(own, "audit", "verify-excerpt", str(excerpt))["ok"] is True
    document = json.loads(excerpt.read_text(encoding="utf-8"))
    document["entries"][0]["event"]["action"] = "nothing.happened"
    excerpt.write_text(json.dumps(document), encoding="utf-8")
    changed = run_cli("audit", "verify-excerpt", str(excerpt), "--json")
    assert changed.returncode == 1
    assert "was changed" in json.loads(changed.stdout)["problems"][0]

    chains = _cli(own, "audit", "chains")["chains"]
    assert chains
    assert {c["status"] for c in chains} <= {"intact", "empty"}
    assert all(c["summary"] for c in chains)
