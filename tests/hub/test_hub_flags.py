"""Flags at the hub: each rule on hub searches, slices and mirrored workstation
searches; the policy file, its audited changes, its CLI; flagging never fails a search."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app.core.flag_rules import sample_draw
from hub.cli import main as hub_cli
from hub.flag_policy import POLICY_FILE_NAME
from tests.hub.flag_support import (
    UNIT,
    Workstation,
    hub_events,
    item_count,
    local_search_params,
    oversight,
    review_list,
    search_body,
    set_policy,
    slice_body,
)
from tests.hub.hub_support import CASE, OTHER_CASE, HubFixture


def _rules(item: dict[str, Any]) -> list[str]:
    return [rule["rule"] for rule in item["rules"]]


def _search(hub: HubFixture, username: str = "detective", **overrides: Any) -> dict[str, Any]:
    reply = hub.client.post(
        "/api/v1/search", json=search_body(hub, **overrides), headers=hub.headers(username)
    )
    assert reply.status_code == 201, reply.text
    result: dict[str, Any] = reply.json()
    return result


def _slice(hub: HubFixture, username: str = "detective", **overrides: Any) -> dict[str, Any]:
    reply = hub.client.post(
        "/api/v1/slices", json=slice_body(hub, **overrides), headers=hub.headers(username)
    )
    assert reply.status_code == 201, reply.text
    created: dict[str, Any] = reply.json()
    return created


def test_flagged_hub_search_reaches_the_unit_supervisor_with_full_context(
    hub: HubFixture,
) -> None:
    oversight(hub)
    benign = _search(hub)
    assert item_count(hub) == 0
    broad = _search(hub, plate_pattern="A*")
    items = review_list(hub)
    assert len(items) == 1
    item = items[0]
    assert _rules(item) == ["overbroad_pattern"]
    assert "1 character" in item["rules"][0]["reason"]
    assert item["status"] == "open"
    assert item["source"] == "search"
    assert (item["username"], item["unit"], item["case_number"]) == ("detective", UNIT, CASE)
    assert item["purpose"] == "robbery"
    assert item["justification"] == search_body(hub)["justification"]
    assert item["params"]["plate_pattern"] == "A*"
    assert item["params"]["camera_ids"] == ["CAM-001", "CAM-002"]
    assert item["result_count"] == broad["total"] > benign["total"]
    recent = item["recent_searches"]
    assert [search["flagged"] for search in recent] == [True, False]
    assert [search["params"]["plate_pattern"] for search in recent] == ["A*", "7K2*"]
    assert json.loads(hub_events(hub, "flag.raise")[0].object_refs) == {
        "case_number": CASE,
        "event_id": item_event_id(hub),
        "item_id": item["item_id"],
        "username": "detective",
    }


def item_event_id(hub: HubFixture) -> str:
    """The audit event id of the newest remote search."""
    event_id: str = hub_events(hub, "search.request")[-1].event_id
    return event_id


def test_flagged_slices_long_window_and_all_cameras(hub: HubFixture) -> None:
    oversight(hub)
    now = hub.clock.now
    _slice(hub)
    _slice(hub, time_from=(now - timedelta(days=6, hours=23)).isoformat())
    assert item_count(hub) == 0
    _slice(hub, time_from=(now - timedelta(days=8)).isoformat())
    _slice(hub, plate_pattern=None, camera_ids=None)
    items = review_list(hub)  # as severe as each other, at one time: the later filed first
    assert [_rules(item) for item in items] == [["all_cameras_no_pattern"], ["long_window"]]
    assert "8.0 days" in items[1]["rules"][0]["reason"]
    assert all(item["source"] == "slice" for item in items)
    assert items[0]["params"]["plate_pattern"] is None
    assert items[0]["params"]["camera_ids"] is None


def test_ambiguous_words_in_a_justification_are_flagged(hub: HubFixture) -> None:
    oversight(hub)
    _slice(hub, justification="Suspect vehicle seen leaving the robbery scene on Lincolnway.")
    assert item_count(hub) == 0
    wording = "Checking where the car went; my neighbor saw it near the robbery scene."
    _slice(hub, justification=wording)
    [item] = review_list(hub)
    assert _rules(item) == ["justification_words"]
    assert "'neighbor'" in item["rules"][0]["reason"]
    assert item["justification"] == wording


def test_volume_over_the_daily_threshold(hub: HubFixture) -> None:
    oversight(hub, daily_search_threshold=2)
    _search(hub)
    _slice(hub)
    assert item_count(hub) == 0
    _search(hub)
    [item] = review_list(hub)
    assert _rules(item) == ["volume"]
    assert "3 searches" in item["rules"][0]["reason"]
    # Another user's searches do not count toward the detective's volume.
    _search(hub, username="detective2")
    assert item_count(hub) == 1
    # A day later the count starts again.
    hub.clock.advance(timedelta(hours=25))
    _search(hub)
    assert item_count(hub) == 1


def test_off_hours(hub: HubFixture) -> None:
    oversight(hub)
    # A sign-in may move the test clock on to the next TOTP step (HubFixture.code),
    # which can cross an hour: sign in first, then read the hour the searches run in.
    admin, detective = hub.headers("admin"), hub.headers("detective")
    hour = hub.clock.now.hour

    def policy(**changes: int) -> None:
        reply = hub.client.patch("/api/v1/admin/policy", json=changes, headers=admin)
        assert reply.status_code == 200, reply.text

    def search() -> None:
        reply = hub.client.post("/api/v1/search", json=search_body(hub), headers=detective)
        assert reply.status_code == 201, reply.text

    policy(off_hours_start=(hour + 1) % 24, off_hours_end=(hour + 3) % 24)
    search()
    assert item_count(hub) == 0
    policy(off_hours_start=hour, off_hours_end=(hour + 1) % 24)
    search()
    [item] = review_list(hub)
    assert _rules(item) == ["off_hours"]
    assert f"{hour:02d}:00-" in item["rules"][0]["reason"]


def test_random_sample_is_deterministic_under_a_seed(hub: HubFixture) -> None:
    oversight(hub, sample_rate=0.5, sample_seed="routine-audit-7")
    expected: list[bool] = []
    # Event ids are random: search until the seed has picked some and passed over some
    # (each search is a coin toss; 40 all alike has a chance of about 2e-12).
    while len(set(expected)) < 2 and len(expected) < 40:
        _search(hub)
        expected = [
            sample_draw("routine-audit-7", row.event_id) < 0.5
            for row in hub_events(hub, "search.request")
        ]
    assert 0 < sum(expected) < len(expected)  # the seed picks some, not all
    flagged_events = {row.event_id for row in hub_events(hub, "search.request")} & {
        json.loads(row.object_refs)["event_id"] for row in hub_events(hub, "flag.raise")
    }
    picked = [row.event_id in flagged_events for row in hub_events(hub, "search.request")]
    assert picked == expected
    assert all(_rules(item) == ["random_sample"] for item in review_list(hub))
    set_policy(hub, sample_rate=1.0)
    _search(hub)
    assert item_count(hub) == sum(expected) + 1


def test_mirrored_workstation_searches_are_flagged(hub: HubFixture) -> None:
    oversight(hub)
    justification = search_body(hub)["justification"]
    _slice(hub)  # the slice the local searches run under
    desk = Workstation(hub, "detective")
    benign = desk.event("search", local_search_params())
    unassigned = desk.event(
        "search", local_search_params(case_number=OTHER_CASE, purpose="burglary")
    )
    everything = desk.event("search", local_search_params(pattern=None, camera_ids=[]))
    now = hub.clock.now
    wide = desk.event(
        "search",
        local_search_params(time_from=now - timedelta(days=9), time_to=now, result_count=41),
    )
    other = desk.event("sync.start", {"case_number": CASE})
    batch = [benign, unassigned, everything, wide, other]
    assert desk.upload(batch)["acked_seq"] == 5
    items = review_list(hub)  # most severe first; then the later filed first
    assert [_rules(item) for item in items] == [
        ["case_not_assigned"],
        ["long_window"],
        ["all_cameras_no_pattern"],
    ]
    assert all(item["source"] == "workstation" for item in items)
    assert items[0]["case_number"] == OTHER_CASE
    assert items[0]["justification"] is None  # no slice of the detective for that case
    assert items[1]["justification"] == justification
    assert items[1]["params"] == wide["params"]
    assert items[1]["result_count"] == 41
    assert items[1]["occurred_at"].startswith(wide["occurred_at"][:19])
    sources = [search["source"] for search in items[1]["recent_searches"]]
    assert sources.count("workstation") == 4
    assert sources.count("slice") == 1
    # A batch sent again is acknowledged, and flags nothing twice.
    assert desk.upload(batch)["duplicates"] == 5
    assert item_count(hub) == 3


def test_policy_change_is_audited_and_takes_effect(hub: HubFixture) -> None:
    oversight(hub)
    policy_file = hub.settings.data_dir / POLICY_FILE_NAME
    assert json.loads(policy_file.read_text())["max_window_days"] == 7
    eight_days = (hub.clock.now - timedelta(days=8)).isoformat()
    _slice(hub, time_from=eight_days)
    assert item_count(hub) == 1
    set_policy(hub, max_window_days=10)
    _slice(hub, time_from=eight_days)
    assert item_count(hub) == 1
    change = hub_events(hub, "policy.change")[-1]
    assert change.username == "admin"
    assert json.loads(change.params) == {"changes": {"max_window_days": {"old": 7, "new": 10}}}
    admin = hub.headers("admin")
    shown = hub.client.get("/api/v1/admin/policy", headers=admin).json()
    assert shown["max_window_days"] == 10
    # Bad values and unknown keys are refused with the reason; nothing changes.
    bad = hub.client.patch("/api/v1/admin/policy", json={"sample_rate": 2}, headers=admin)
    assert bad.status_code == 422
    assert "sample_rate" in bad.json()["detail"]
    unknown = hub.client.patch("/api/v1/admin/policy", json={"max_days": 3}, headers=admin)
    assert unknown.status_code == 422
    assert "'max_days' is not a flag policy setting" in unknown.json()["detail"]
    zone = hub.client.patch("/api/v1/admin/policy", json={"timezone": "Mars/Base"}, headers=admin)
    assert zone.status_code == 422
    assert "Mars/Base" in zone.json()["detail"]
    assert json.loads(policy_file.read_text())["max_window_days"] == 10
    # Only an administrator reads or changes the policy.
    for username in ("supervisor", "detective"):
        headers = hub.headers(username)
        assert hub.client.get("/api/v1/admin/policy", headers=headers).status_code == 403
        changed = hub.client.patch("/api/v1/admin/policy", json=QUIET_OFF, headers=headers)
        assert changed.status_code == 403


QUIET_OFF = {"sample_rate": 0.0}


def _cli(hub: HubFixture, *args: str) -> list[str]:
    argv = [*args, "--data", str(hub.settings.data_dir)]
    if hub.settings.database_url:
        argv += ["--db", hub.settings.database_url]
    return argv


def test_policy_cli_show_and_set(hub: HubFixture, capsys: pytest.CaptureFixture[str]) -> None:
    assert hub_cli(_cli(hub, "policy", "show")) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["exists"] is False
    assert shown["policy"]["min_known_characters"] == 3
    assert hub_cli([*_cli(hub, "policy", "set"), "min_known_characters", "4"]) == 0
    changed = json.loads(capsys.readouterr().out)
    assert (changed["key"], changed["old"], changed["new"]) == ("min_known_characters", 3, 4)
    words = [*_cli(hub, "policy", "set"), "ambiguous_words", "hunch, just curious"]
    assert hub_cli(words) == 0
    assert json.loads(capsys.readouterr().out)["new"] == ["hunch", "just curious"]
    event = hub_events(hub, "policy.change")[-1]
    assert event.username == "platedesk-hub"
    assert hub_cli([*_cli(hub, "policy", "set"), "max_window_days", "soon"]) == 1
    assert "max_window_days takes a whole number, not 'soon'" in capsys.readouterr().err
    assert hub_cli([*_cli(hub, "policy", "set"), "min_known_characters", "0"]) == 1
    assert "min_known_characters is not valid" in capsys.readouterr().err
    assert hub_cli([*_cli(hub, "policy", "set"), "colour", "red"]) == 1
    assert "'colour' is not a flag policy setting" in capsys.readouterr().err
    # Now a 3-character pattern is overbroad.
    oversight(hub)
    _search(hub, plate_pattern="7K2*")
    assert [_rules(item) for item in review_list(hub)] == [["overbroad_pattern"]]


def test_cli_user_add_with_unit(
    hub: HubFixture, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("violet-harbor-kettle\n"))
    argv = _cli(hub, "user", "add")
    argv += ["--username", "newdet", "--role", "detective", "--display-name", "Det. New"]
    assert hub_cli([*argv, "--unit", "burglary-unit"]) == 0
    assert json.loads(capsys.readouterr().out)["unit"] == "burglary-unit"
    move = [*_cli(hub, "user", "set-unit"), "--username", "newdet", "--unit", UNIT]
    assert hub_cli(move) == 0
    assert json.loads(capsys.readouterr().out) == {"username": "newdet", "unit": UNIT}
    missing = [*_cli(hub, "user", "set-unit"), "--username", "nobody", "--unit", UNIT]
    assert hub_cli(missing) == 1
    assert "No user named nobody" in capsys.readouterr().err


def test_a_damaged_policy_file_never_blocks_a_search(hub: HubFixture) -> None:
    oversight(hub)
    (hub.settings.data_dir / POLICY_FILE_NAME).write_text("{not json")
    _search(hub, plate_pattern="7*")  # the defaults apply: still flagged
    assert "overbroad_pattern" in _rules(review_list(hub)[0])
    shown = hub.client.get("/api/v1/admin/policy", headers=hub.headers("admin"))
    assert shown.status_code == 422
    assert "not valid JSON" in shown.json()["detail"]


def test_a_failing_evaluation_files_the_search_unevaluated(
    hub: HubFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    oversight(hub)

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("injected fault")

    monkeypatch.setattr("hub.flags.evaluate", broken)
    result = _search(hub)
    assert result["total"] > 0
    [item] = review_list(hub)
    assert _rules(item) == ["unevaluated"]
    assert item["recent_searches"][0]["flagged"] is True


def test_unit_is_set_by_the_admin_and_audited(hub: HubFixture, tmp_path: Path) -> None:
    admin = hub.headers("admin")
    reply = hub.client.put("/api/v1/admin/users/detective/unit", json={"unit": UNIT}, headers=admin)
    assert reply.status_code == 200, reply.text
    assert reply.json()["unit"] == UNIT
    assert hub.login("detective")["user"]["unit"] == UNIT
    event = hub_events(hub, "admin.unit_set")[-1]
    assert json.loads(event.params) == {"old": None, "new": UNIT}
    empty = hub.client.put("/api/v1/admin/users/detective/unit", json={"unit": ""}, headers=admin)
    assert empty.status_code == 422
    missing = hub.client.put("/api/v1/admin/users/nobody/unit", json={"unit": UNIT}, headers=admin)
    assert missing.status_code == 404
    refused = hub.client.put(
        "/api/v1/admin/users/detective/unit", json={"unit": "x"}, headers=hub.headers("supervisor")
    )
    assert refused.status_code == 403
