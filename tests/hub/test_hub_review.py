"""Supervisor review: decide, request a justification and get the answer, refer;
self-review and non-supervisors refused; units kept apart; every step audited."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from hub.review import NO_UNIT, OWN_SEARCH, REFUSED_ACTION, SUPERVISORS_ONLY
from tests.hub.flag_support import (
    ITEMS,
    OTHER_UNIT,
    REQUESTS,
    UNIT,
    Workstation,
    add_supervisor,
    hub_events,
    local_search_params,
    oversight,
    review_list,
    search_body,
    set_unit,
)
from tests.hub.hub_support import CASE, OTHER_CASE, HubFixture


def _flag_broad_search(hub: HubFixture, username: str = "detective") -> str:
    """A remote search with a 1-character pattern: flagged; its review item id."""
    reply = hub.client.post(
        "/api/v1/search",
        json=search_body(hub, plate_pattern="A*"),
        headers=hub.headers(username),
    )
    assert reply.status_code == 201, reply.text
    event_id = hub_events(hub, "search.request")[-1].event_id
    flagged = [json.loads(row.object_refs) for row in hub_events(hub, "flag.raise")]
    item_id: str = next(refs["item_id"] for refs in flagged if refs["event_id"] == event_id)
    return item_id


def _decide(
    hub: HubFixture, item_id: str, decision: str, note: str = "", username: str = "supervisor"
) -> Any:
    return hub.client.post(
        f"{ITEMS}/{item_id}/decision",
        json={"decision": decision, "note": note},
        headers=hub.headers(username),
    )


def test_approve_closes_the_item_and_is_audited(hub: HubFixture) -> None:
    oversight(hub)
    item_id = _flag_broad_search(hub)
    reply = _decide(hub, item_id, "approve", "Plate partly seen by the witness; fine.")
    assert reply.status_code == 200, reply.text
    item = reply.json()
    assert item["status"] == "approved"
    assert item["history"][0]["kind"] == "approve"
    assert item["history"][0]["actor"] == "supervisor"
    assert review_list(hub) == []
    assert [i["item_id"] for i in review_list(hub, status="approved")] == [item_id]
    [event] = hub_events(hub, "review.decision")
    assert event.username == "supervisor"
    assert json.loads(event.object_refs)["item_id"] == item_id
    assert json.loads(event.params)["decision"] == "approve"
    again = _decide(hub, item_id, "refer", "second thoughts")
    assert again.status_code == 409
    assert "closed" in again.json()["detail"]


def test_request_justification_answer_then_decide(hub: HubFixture) -> None:
    oversight(hub)
    item_id = _flag_broad_search(hub)
    assert hub.client.get(REQUESTS, headers=hub.headers("detective")).json() == []
    no_question = _decide(hub, item_id, "request_justification")
    assert no_question.status_code == 422
    assert "question" in no_question.json()["detail"]
    question = "Why a one-letter pattern? Say what the witness saw."
    asked = _decide(hub, item_id, "request_justification", question)
    assert asked.status_code == 200, asked.text
    assert asked.json()["status"] == "justification_requested"
    twice = _decide(hub, item_id, "request_justification", question)
    assert twice.status_code == 409

    waiting = hub.client.get(REQUESTS, headers=hub.headers("detective")).json()
    assert len(waiting) == 1
    request = waiting[0]
    assert (request["item_id"], request["question"]) == (item_id, question)
    assert request["requested_by"] == "supervisor"
    assert [rule["rule"] for rule in request["rules"]] == ["overbroad_pattern"]
    assert request["params"]["plate_pattern"] == "A*"
    assert hub.client.get(REQUESTS, headers=hub.headers("detective2")).json() == []

    answer = "The witness only saw the first letter, A, on a white pickup."
    path = f"{REQUESTS}/{item_id}/answer"
    stranger = hub.client.post(path, json={"answer": answer}, headers=hub.headers("detective2"))
    assert stranger.status_code == 404
    blank = hub.client.post(path, json={"answer": "   "}, headers=hub.headers("detective"))
    assert blank.status_code == 422
    answered = hub.client.post(path, json={"answer": answer}, headers=hub.headers("detective"))
    assert answered.status_code == 204, answered.text
    late = hub.client.post(path, json={"answer": answer}, headers=hub.headers("detective"))
    assert late.status_code == 409
    assert hub.client.get(REQUESTS, headers=hub.headers("detective")).json() == []

    [item] = review_list(hub)
    assert item["status"] == "answered"
    assert [(step["kind"], step["actor"], step["text"]) for step in item["history"]] == [
        ("request_justification", "supervisor", question),
        ("answer", "detective", answer),
    ]
    [event] = hub_events(hub, "review.answer")
    assert event.username == "detective"
    assert json.loads(event.params) == {"answer": answer}
    approved = _decide(hub, item_id, "approve", "Answer accepted.")
    assert approved.json()["status"] == "approved"
    decisions = [json.loads(row.params)["decision"] for row in hub_events(hub, "review.decision")]
    assert decisions == ["request_justification", "approve"]


def test_refer_needs_a_note(hub: HubFixture) -> None:
    oversight(hub)
    item_id = _flag_broad_search(hub)
    assert _decide(hub, item_id, "refer").status_code == 422
    referred = _decide(hub, item_id, "refer", "To internal affairs: pattern of broad searches.")
    assert referred.json()["status"] == "referred"
    bad = _decide(hub, item_id, "ignore", "x")
    assert bad.status_code == 422


def test_a_supervisor_cannot_review_their_own_search(hub: HubFixture) -> None:
    oversight(hub)
    add_supervisor(hub, "supervisor2", UNIT)
    desk = Workstation(hub, "supervisor")  # not assigned to the case: flagged
    desk.upload([desk.event("search", local_search_params(case_number=OTHER_CASE))])
    assert review_list(hub, "supervisor") == []
    [item] = review_list(hub, "supervisor2")
    assert item["username"] == "supervisor"
    assert [rule["rule"] for rule in item["rules"]] == ["case_not_assigned"]
    item_id = item["item_id"]
    own = hub.client.get(f"{ITEMS}/{item_id}", headers=hub.headers("supervisor"))
    assert own.status_code == 403
    assert own.json()["detail"] == OWN_SEARCH
    decided = _decide(hub, item_id, "approve", "fine", username="supervisor")
    assert decided.status_code == 403
    assert decided.json()["detail"] == OWN_SEARCH
    assert hub_events(hub, "review.decision") == []
    assert _decide(hub, item_id, "approve", "ok", username="supervisor2").status_code == 200


def test_only_supervisors_and_admins_review(hub: HubFixture) -> None:
    oversight(hub)
    item_id = _flag_broad_search(hub)
    for username in ("detective", "detective2", "technician"):
        listing = hub.client.get(ITEMS, headers=hub.headers(username))
        assert listing.status_code == 403
        assert listing.json()["detail"] == SUPERVISORS_ONLY
        decided = _decide(hub, item_id, "approve", "ok", username=username)
        assert decided.status_code == 403
    # The flagged detective cannot approve their own either (and is not a supervisor).
    assert hub.client.get(f"{ITEMS}/{item_id}", headers=hub.headers("detective")).status_code == 403
    # A supervisor with no unit has no queue; an admin reviews every unit.
    set_unit(hub, "supervisor", None)
    no_unit = hub.client.get(ITEMS, headers=hub.headers("supervisor"))
    assert (no_unit.status_code, no_unit.json()["detail"]) == (403, NO_UNIT)
    assert [item["item_id"] for item in review_list(hub, "admin")] == [item_id]
    assert _decide(hub, item_id, "approve", "ok", username="admin").status_code == 200


def test_a_refused_reviewer_is_audited(hub: HubFixture) -> None:
    oversight(hub)
    item_id = _flag_broad_search(hub)
    assert hub.client.get(ITEMS, headers=hub.headers("detective")).status_code == 403
    assert _decide(hub, item_id, "approve", "mine", username="detective").status_code == 403
    listed, decided = hub_events(hub, REFUSED_ACTION)
    for event, method, path in (
        (listed, "GET", ITEMS),
        (decided, "POST", f"{ITEMS}/{item_id}/decision"),
    ):
        assert (event.username, event.outcome) == ("detective", "refused")
        assert json.loads(event.object_refs) == {"method": method, "path": path}
        assert json.loads(event.params) == {"role": "detective", "reason": SUPERVISORS_ONLY}
    assert hub_events(hub, "review.decision") == []
    assert review_list(hub)[0]["status"] == "open"  # a refusal changes nothing


def test_units_are_kept_apart(hub: HubFixture) -> None:
    oversight(hub)
    set_unit(hub, "detective2", OTHER_UNIT)
    ours = _flag_broad_search(hub, "detective")
    theirs = _flag_broad_search(hub, "detective2")
    assert [item["item_id"] for item in review_list(hub)] == [ours]
    hidden = hub.client.get(f"{ITEMS}/{theirs}", headers=hub.headers("supervisor"))
    assert hidden.status_code == 404
    assert _decide(hub, theirs, "approve", "ok").status_code == 404
    add_supervisor(hub, "traffic-sgt", OTHER_UNIT)
    assert [item["item_id"] for item in review_list(hub, "traffic-sgt")] == [theirs]
    bad_status = hub.client.get(ITEMS, params={"status": "done"}, headers=hub.headers("supervisor"))
    assert bad_status.status_code == 422
    assert "not a review status" in bad_status.json()["detail"]


def test_transparency_counts_flags_and_review_outcomes(hub: HubFixture) -> None:
    oversight(hub)
    first = _flag_broad_search(hub)
    second = _flag_broad_search(hub)
    third = _flag_broad_search(hub)
    _decide(hub, first, "approve", "ok")
    _decide(hub, second, "request_justification", "Why so broad?")
    _decide(hub, third, "refer", "To the captain.")
    figures = hub.client.get("/transparency.json").json()
    assert figures["flagged_searches"] == 3
    assert figures["review_outcomes"] == {
        "approved": 1,
        "justification_requested": 1,
        "referred": 1,
    }
    assert CASE not in json.dumps(figures)


def test_the_queue_filters_by_user_case_rule_and_time(hub: HubFixture) -> None:
    oversight(hub)
    broad = _flag_broad_search(hub)  # overbroad pattern, the detective's case
    hub.clock.advance(timedelta(minutes=5))
    other = Workstation(hub, "detective2")
    other.upload([other.event("search", local_search_params(case_number=OTHER_CASE))])
    items = {item["item_id"]: item for item in review_list(hub)}
    [elsewhere] = set(items) - {broad}
    first, second = items[broad], items[elsewhere]
    assert first["username"] == "detective"
    assert second["username"] == "detective2"

    def ids(**params: str) -> set[str]:
        return {item["item_id"] for item in review_list(hub, **params)}

    assert ids(user="detective") == {broad}
    assert ids(user="detective2") == {elsewhere}
    assert ids(case=second["case_number"]) == {elsewhere}
    for item in (first, second):
        for rule in item["rules"]:
            matched = {i for i, it in items.items() if rule["rule"] in
                       {r["rule"] for r in it["rules"]}}  # fmt: skip
            assert ids(rule=rule["rule"]) == matched
    assert ids(rule="random_sample") == set()
    when = {i: datetime.fromisoformat(it["occurred_at"]) for i, it in items.items()}
    newest = max(when, key=lambda i: when[i])
    assert when[newest] > min(when.values())
    assert ids(since=when[newest].isoformat()) == {newest}
    assert ids(until=when[newest].isoformat()) == set(items) - {newest}
    bad = hub.client.get(ITEMS, params={"rule": "r%"}, headers=hub.headers("supervisor"))
    assert bad.status_code == 422
    assert bad.json()["detail"].startswith("'r%' is not a flag rule; use one of:")
