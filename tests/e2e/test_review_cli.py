"""`platedesk review` end to end, each command in its own process against a real hub:
a detective's overbroad search reaches the supervisor's queue with its rules; the
supervisor asks for a justification; the detective finds the question in the inbox
and answers; the item comes back "answered". A detective cannot open the queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.core.plates import parse_pattern
from app.core.records import SearchQuery
from app.demo import totp_now
from app.workstation import Workstation
from hub.review import SUPERVISORS_ONLY
from tests.support.live_hub import JUSTIFICATION, SeededHub, cli_json, run_cli

pytestmark = pytest.mark.e2e

UNIT = "robbery-unit"


def _login(hub: SeededHub, profile: Path, role: str) -> None:
    user = hub.user(role)
    cli_json(
        "--hub", hub.url, "--profile", str(profile),
        "login", "--user", user["username"], "--totp", totp_now(user["totp_secret"]),
        stdin=user["password"] + "\n",
    )  # fmt: skip


def _hub(hub: SeededHub, *args: str) -> None:
    done = hub.hub_cli(*args)
    assert done.returncode == 0, done.stderr


def _review(profile: Path, *args: str) -> Any:
    return cli_json("--profile", str(profile), "review", *args)


def test_a_flagged_search_is_questioned_answered_and_back_in_the_queue(
    seeded_hub: SeededHub, tmp_path: Path
) -> None:
    detective = seeded_hub.user("detective")["username"]
    supervisor = seeded_hub.user("supervisor")["username"]
    for username in (detective, supervisor):
        _hub(seeded_hub, "user", "set-unit", "--username", username, "--unit", UNIT)
    for key, value in (("sample_rate", "0"), ("off_hours_start", "0"), ("off_hours_end", "0")):
        _hub(seeded_hub, "policy", "set", key, value)

    desk, own = tmp_path / "detective", tmp_path / "supervisor"
    _login(seeded_hub, desk, "detective")
    case = seeded_hub.case_for(detective)
    now = datetime.now(UTC)
    window = [(now - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
              now.strftime("%Y-%m-%dT%H:%M:%SZ")]  # fmt: skip
    cli_json(
        "--profile", str(desk), "slice", "request", "--case", case, "--purpose", "robbery",
        "--justification", JUSTIFICATION, "--from", window[0], "--to", window[1],
    )  # fmt: skip
    cli_json("--profile", str(desk), "sync")
    found = cli_json("--profile", str(desk), "search", "--case", case, "--plate", "1*")

    # The detective may not open the queue: one sentence, no traceback, non-zero exit.
    refused = run_cli("--profile", str(desk), "review", "list", "--json")
    assert refused.returncode != 0
    assert refused.stderr.strip() == f"platedesk: {SUPERVISORS_ONLY}"
    assert refused.stdout == ""

    _login(seeded_hub, own, "supervisor")
    queue = _review(own, "list", "--rule", "overbroad_pattern", "--user", detective)["items"]
    [item] = [i for i in queue if i["source"] == "workstation"]
    assert [rule["rule"] for rule in item["rules"]] == ["overbroad_pattern"]
    assert item["rules"][0]["reason"]
    assert (item["username"], item["case_number"], item["status"]) == (detective, case, "open")
    assert item["params"]["pattern"] == "1*"
    assert item["result_count"] == found["count"]
    assert _review(own, "list", "--rule", "off_hours", "--user", detective)["items"] == []

    question = "Why search every plate starting with 1?"
    asked = _review(
        own, "decide", item["item_id"], "--decision", "request_justification", "--note", question
    )
    assert asked["status"] == "justification_requested"

    [request] = _review(desk, "inbox")["requests"]
    assert (request["item_id"], request["question"]) == (item["item_id"], question)
    assert request["requested_by"] == supervisor
    answer = "The witness saw only the first digit, 1, on the getaway car's plate."
    assert _review(desk, "answer", item["item_id"], "--text", answer)["status"] == "answered"
    assert _review(desk, "inbox")["requests"] == []

    [back] = _review(own, "list", "--status", "answered", "--user", detective)["items"]
    assert (back["item_id"], back["status"]) == (item["item_id"], "answered")
    assert [(s["kind"], s["text"]) for s in back["history"]] == [
        ("request_justification", question),
        ("answer", answer),
    ]
    approved = _review(own, "decide", item["item_id"], "--decision", "approve", "--note", "ok")
    assert approved["status"] == "approved"
    closed = run_cli("--profile", str(own), "review", "decide", item["item_id"],
                     "--decision", "refer", "--note", "to the chief", "--json")  # fmt: skip
    assert (closed.returncode, closed.stderr.strip()) == (
        1,
        "platedesk: This flagged search was approved already; it is closed.",
    )

    # Each decision and the answer is in the local journal, the refused one too.
    assert _journaled(own, "review.decision") == [
        ({"item_id": item["item_id"], "case_number": case, "username": detective},
         {"decision": "request_justification", "note": question}, "ok"),
        ({"item_id": item["item_id"], "case_number": case, "username": detective},
         {"decision": "approve", "note": "ok"}, "ok"),
        ({"item_id": item["item_id"]}, {"decision": "refer", "note": "to the chief"}, "refused"),
    ]  # fmt: skip
    assert _journaled(desk, "review.answer") == [
        ({"item_id": item["item_id"]}, {"answer": answer}, "ok")
    ]


def _journaled(profile: Path, action: str) -> list[tuple[Any, Any, str]]:
    workstation = Workstation.open(profile_dir=profile)
    try:
        events = workstation.journal().events()
    finally:
        workstation.close()
    return [(e["object_refs"], e["params"], e["outcome"]) for e in events if e["action"] == action]


def test_random_sample_items_approved_together_and_the_council_report(
    seeded_hub: SeededHub, tmp_path: Path
) -> None:
    """`review approve-sample` takes low-severity random-sample items only (all or none);
    `transparency report` saves the council's PDF; both journaled."""
    detective = seeded_hub.user("detective")["username"]
    for username in (detective, seeded_hub.user("supervisor")["username"]):
        _hub(seeded_hub, "user", "set-unit", "--username", username, "--unit", UNIT)
    for key, value in (("sample_rate", "1"), ("off_hours_start", "0"), ("off_hours_end", "0")):
        _hub(seeded_hub, "policy", "set", key, value)
    try:
        user = seeded_hub.user("detective")
        desk = Workstation.open(profile_dir=tmp_path / "detective", hub_url=seeded_hub.url)
        try:
            desk.login(username=user["username"], password=user["password"],
                       totp=totp_now(user["totp_secret"]))  # fmt: skip
            case = seeded_hub.case_for(detective)
            now = datetime.now(UTC)
            created = desk.slices.request(
                case_number=case, purpose="robbery", justification=JUSTIFICATION,
                time_from=now - timedelta(days=5), time_to=now,
            )  # fmt: skip
            desk.sync(slice_id=created.slice_id)
            for pattern in ("7K2*", "ABC*", "9*"):  # the last one is overbroad too
                desk.search.run(SearchQuery(case_number=case, purpose="robbery",
                                            pattern=parse_pattern(pattern)))  # fmt: skip
            assert desk.audit.upload() > 0
        finally:
            desk.close()
    finally:
        _hub(seeded_hub, "policy", "set", "sample_rate", "0")

    own = tmp_path / "supervisor"
    _login(seeded_hub, own, "supervisor")
    sampled = _review(own, "list", "--rule", "random_sample", "--user", detective)["items"]
    mine = {i["params"]["pattern"]: i for i in sampled if i["source"] == "workstation"}
    low = [mine["7K2*"]["item_id"], mine["ABC*"]["item_id"]]
    broad = mine["9*"]["item_id"]
    assert mine["9*"]["severity"] == "medium"
    refused = run_cli("--profile", str(own), "review", "approve-sample", *low, broad, "--json")
    assert refused.returncode == 1
    assert broad in refused.stderr
    assert "Only low-severity random-sample items" in refused.stderr
    done = _review(own, "approve-sample", *low, "--note", "Routine sample, checked.")
    assert sorted((i["item_id"], i["status"]) for i in done["items"]) == sorted(
        (item_id, "approved") for item_id in low
    )
    decisions = _journaled(own, "review.decision")
    assert [outcome for _refs, _params, outcome in decisions] == ["refused", "ok", "ok"]
    assert all(params["bulk"] is True for _refs, params, _outcome in decisions)

    month = datetime.now(UTC).strftime("%Y-%m")
    saved = cli_json("--profile", str(own), "transparency", "report", "--month", month,
                     "--out", str(tmp_path / "council.pdf"))  # fmt: skip
    assert Path(saved["out"]).read_bytes().startswith(b"%PDF")
    [(refs, params, outcome)] = _journaled(own, "transparency.report")
    assert (refs, outcome) == ({"month": month}, "ok")
    assert params["bytes"] == Path(saved["out"]).stat().st_size
