"""Flags and review end to end: a real workstation's local search, mirrored to a
real hub process, reaches the unit's supervisor, who asks for a justification;
the detective answers through the workstation's HubClient."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from app.core.plates import parse_pattern
from app.core.records import SearchQuery
from app.demo import totp_now
from app.workstation import Workstation
from tests.support.live_hub import SeededHub

pytestmark = pytest.mark.e2e

UNIT = "robbery-unit"


def _cli(hub: SeededHub, *args: str) -> dict[str, Any]:
    done = hub.hub_cli(*args)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _supervisor(hub: SeededHub) -> dict[str, str]:
    user = hub.user("supervisor")
    reply = httpx.post(
        f"{hub.url}/api/v1/auth/login",
        json={
            "username": user["username"],
            "password": user["password"],
            "totp": totp_now(user["totp_secret"]),
        },
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}


def test_a_flagged_local_search_is_reviewed_and_answered(
    seeded_hub: SeededHub, synced_workstation: tuple[Workstation, str]
) -> None:
    workstation, case = synced_workstation
    detective = seeded_hub.user("detective")["username"]
    supervisor = seeded_hub.user("supervisor")["username"]
    for username in (detective, supervisor):
        moved = _cli(seeded_hub, "user", "set-unit", "--username", username, "--unit", UNIT)
        assert moved == {"username": username, "unit": UNIT}
    for key, value in (("sample_rate", "0"), ("off_hours_start", "0"), ("off_hours_end", "0")):
        assert _cli(seeded_hub, "policy", "set", key, value)["new"] == float(value)

    broad = SearchQuery(case_number=case, purpose="robbery", pattern=parse_pattern("1*"))
    page = workstation.search(broad)
    assert workstation.upload_journal() > 0

    headers = _supervisor(seeded_hub)
    items = httpx.get(f"{seeded_hub.url}/api/v1/review/items", headers=headers, timeout=30)
    assert items.status_code == 200, items.text
    [item] = [i for i in items.json() if i["source"] == "workstation"]
    assert [rule["rule"] for rule in item["rules"]] == ["overbroad_pattern"]
    assert (item["username"], item["unit"], item["case_number"]) == (detective, UNIT, case)
    assert item["params"]["pattern"] == "1*"
    assert item["result_count"] == page.total
    assert item["justification"]  # the slice's, the search ran under it

    question = "Why search every plate starting with 1?"
    decided = httpx.post(
        f"{seeded_hub.url}/api/v1/review/items/{item['item_id']}/decision",
        json={"decision": "request_justification", "note": question},
        headers=headers,
        timeout=30,
    )
    assert decided.status_code == 200, decided.text

    [request] = workstation.client.justification_requests()
    assert (request.item_id, request.question) == (item["item_id"], question)
    answer = "The witness saw only the first digit, 1, on the getaway car's plate."
    workstation.client.answer_justification(request.item_id, answer)
    assert workstation.client.justification_requests() == []

    after = httpx.get(
        f"{seeded_hub.url}/api/v1/review/items/{item['item_id']}", headers=headers, timeout=30
    ).json()
    assert after["status"] == "answered"
    assert [step["kind"] for step in after["history"]] == ["request_justification", "answer"]
    assert after["history"][-1]["text"] == answer
