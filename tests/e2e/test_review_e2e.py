"""Flags and review end to end: a real workstation's local search, mirrored to a
real hub process, reaches the unit's supervisor, who asks for a justification;
the detective answers through the workstation's HubClient."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.core.plates import parse_pattern
from app.core.records import SearchQuery
from app.core.schemas import LoginRequest, ReviewDecisionCreate
from app.demo import totp_now
from app.sync.client import HubClient
from app.workstation import Workstation
from tests.support.live_hub import SeededHub

pytestmark = pytest.mark.e2e

UNIT = "robbery-unit"


def _cli(hub: SeededHub, *args: str) -> dict[str, Any]:
    done = hub.hub_cli(*args)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _supervisor(hub: SeededHub) -> HubClient:
    """The unit's supervisor, signed in through the client the supervisor desk will use."""
    user = hub.user("supervisor")
    client = HubClient(hub.url)
    token = client.login(
        LoginRequest(
            username=user["username"],
            password=user["password"],
            totp=totp_now(user["totp_secret"]),
        )
    )
    client.access_token = token.access_token
    return client


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
    page = workstation.search.run(broad)
    assert workstation.audit.upload() > 0

    supervisor_client = _supervisor(seeded_hub)
    [item] = [i for i in supervisor_client.review_items() if i.source == "workstation"]
    assert [rule.rule for rule in item.rules] == ["overbroad_pattern"]
    assert (item.username, item.unit, item.case_number) == (detective, UNIT, case)
    assert item.params["pattern"] == "1*"
    assert item.result_count == page.total
    assert item.justification  # the slice's, the search ran under it

    question = "Why search every plate starting with 1?"
    decided = supervisor_client.decide_review(
        item.item_id, ReviewDecisionCreate(decision="request_justification", note=question)
    )
    assert decided.status == "justification_requested"

    [request] = workstation.core.client.justification_requests()
    assert (request.item_id, request.question) == (item.item_id, question)
    answer = "The witness saw only the first digit, 1, on the getaway car's plate."
    workstation.core.client.answer_justification(request.item_id, answer)
    assert workstation.core.client.justification_requests() == []

    after = supervisor_client.review_item(item.item_id)
    assert after.status == "answered"
    assert [step.kind for step in after.history] == ["request_justification", "answer"]
    assert after.history[-1].text == answer
    pending = supervisor_client.review_items()
    assert item.item_id in {i.item_id for i in pending}  # answered: back with the supervisor
    supervisor_client.close()
