"""The flag rules, pure: each fires on its case and stays quiet on a benign search."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from app.core.errors import KnownError
from app.core.flag_rules import (
    RULES,
    FlagPolicy,
    SearchFacts,
    evaluate,
    known_characters,
    off_hours,
    parse_policy_value,
    sample_draw,
    updated_policy,
)

NOON = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
POLICY = FlagPolicy(sample_rate=0.0)
BENIGN = SearchFacts(
    pattern="7K2*",
    time_from=NOON - timedelta(days=2),
    time_to=NOON,
    camera_ids=["CAM-001"],
    justification="Suspect vehicle seen leaving the robbery scene on Lincolnway.",
    case_assigned=True,
    searches_in_day=3,
    at=NOON,
    sample_draw=0.5,
)


def _fired(facts: SearchFacts, policy: FlagPolicy = POLICY) -> list[str]:
    return [rule.rule for rule in evaluate(facts, policy)]


def test_a_benign_search_fires_nothing() -> None:
    assert evaluate(BENIGN, POLICY) == []


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"pattern": "7*"}, "overbroad_pattern"),
        ({"pattern": "?K*"}, "overbroad_pattern"),
        ({"time_from": NOON - timedelta(days=7, seconds=1)}, "long_window"),
        ({"camera_ids": None, "pattern": None}, "all_cameras_no_pattern"),
        ({"camera_ids": [], "pattern": None}, "all_cameras_no_pattern"),
        ({"case_assigned": False}, "case_not_assigned"),
        ({"justification": "My neighbor asked me to see who parks there."}, "justification_words"),
        ({"justification": "Robbery suspect, also a repossession lead."}, "justification_words"),
        ({"searches_in_day": 51}, "volume"),
        ({"at": NOON.replace(hour=23)}, "off_hours"),
        ({"at": NOON.replace(hour=5, minute=59)}, "off_hours"),
        ({"sample_draw": 0.0}, "random_sample"),
    ],
)
def test_each_rule_fires_on_its_case(change: dict[str, object], rule: str) -> None:
    facts = replace(BENIGN, **change)  # type: ignore[arg-type]
    policy = POLICY.model_copy(update={"sample_rate": 0.02}) if rule == "random_sample" else POLICY
    assert _fired(facts, policy) == [rule]


@pytest.mark.parametrize(
    "change",
    [
        {"pattern": "7K2"},
        {"pattern": "*K2M*"},
        {"time_from": NOON - timedelta(days=7)},
        {"camera_ids": None},  # every camera, but a plate pattern
        {"pattern": None},  # no pattern, but named cameras
        {"justification": None},  # nothing to check (a workstation search)
        {"justification": "Vehicle seen at the testing site near the robbery scene."},
        {"searches_in_day": 50},
        {"at": NOON.replace(hour=6)},
        {"at": NOON.replace(hour=21, minute=59)},
        {"sample_draw": 0.02},
    ],
)
def test_rules_stay_quiet_at_their_limits(change: dict[str, object]) -> None:
    assert evaluate(replace(BENIGN, **change), POLICY) == []  # type: ignore[arg-type]


def test_reasons_name_the_figures() -> None:
    broad = replace(BENIGN, pattern="7*", searches_in_day=60, time_from=NOON - timedelta(days=9))
    reasons = {rule.rule: rule.reason for rule in evaluate(broad, POLICY)}
    assert "pins down 1 character" in reasons["overbroad_pattern"]
    assert "9.0 days" in reasons["long_window"]
    assert "60 searches" in reasons["volume"]
    assert list(reasons) == [rule for rule in RULES if rule in reasons]


def test_thresholds_come_from_the_policy() -> None:
    strict = FlagPolicy(
        sample_rate=0.0, min_known_characters=4, max_window_days=1, daily_search_threshold=2
    )
    assert _fired(BENIGN, strict) == ["overbroad_pattern", "long_window", "volume"]
    words = FlagPolicy(sample_rate=0.0, ambiguous_words=["lincolnway"])
    assert _fired(BENIGN, words) == ["justification_words"]


def test_off_hours_in_the_agency_zone_and_without_wrap() -> None:
    denver = FlagPolicy(timezone="America/Denver")  # UTC-7 in November
    assert off_hours(NOON.replace(hour=5), denver)  # 22:00 in Denver
    assert not off_hours(NOON.replace(hour=14), denver)  # 07:00 in Denver
    day = FlagPolicy(off_hours_start=9, off_hours_end=17)
    assert off_hours(NOON, day)
    assert not off_hours(NOON.replace(hour=17), day)
    assert not off_hours(NOON, FlagPolicy(off_hours_start=3, off_hours_end=3))


def test_sample_draw_is_seeded_and_uniform() -> None:
    assert sample_draw("seed", "event-1") == sample_draw("seed", "event-1")
    assert sample_draw("seed", "event-1") != sample_draw("other", "event-1")
    draws = [sample_draw("seed", f"event-{n}") for n in range(2000)]
    assert all(0.0 <= draw < 1.0 for draw in draws)
    assert 0.08 < sum(draw < 0.1 for draw in draws) / len(draws) < 0.12
    assert 0.0 <= sample_draw(None, "event-1") < 1.0


def test_known_characters() -> None:
    assert known_characters("7K2*") == 3
    assert known_characters("*K?M") == 2
    assert known_characters("7K2-LMV") == 6
    assert known_characters("??") == 0  # unreadable as a pattern: no letter or digit


def test_policy_values_are_parsed_and_validated() -> None:
    assert parse_policy_value("max_window_days", "10") == 10
    assert parse_policy_value("sample_rate", "0.1") == 0.1
    assert parse_policy_value("ambiguous_words", "hunch, Just Looking ,") == [
        "hunch",
        "Just Looking",
    ]
    assert parse_policy_value("sample_seed", "none") is None
    with pytest.raises(KnownError, match="takes a whole number"):
        parse_policy_value("max_window_days", "ten")
    with pytest.raises(KnownError, match="not a flag policy setting"):
        parse_policy_value("window", "3")
    changed = updated_policy(FlagPolicy(), {"ambiguous_words": ["Hunch", "hunch", " Favor  "]})
    assert changed.ambiguous_words == ["hunch", "favor"]
    with pytest.raises(KnownError, match="off_hours_end is not valid"):
        updated_policy(FlagPolicy(), {"off_hours_end": 24})
    with pytest.raises(KnownError, match="not a time zone"):
        updated_policy(FlagPolicy(), {"timezone": "Mars/Base"})
