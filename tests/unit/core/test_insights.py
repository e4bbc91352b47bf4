"""The operator insights' analysis without a hub: what counts as a burst, an isolated
session, a day above the baseline and a repeatedly tracked plate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.core.insights import (
    ActivityEvent,
    operator_insight,
    search_target,
    unit_days_per_target,
)

START = datetime(2026, 11, 1, tzinfo=UTC)
END = START + timedelta(days=30)


def _search(at: datetime, target: str | None = "ABC1*", n: int = 0) -> ActivityEvent:
    return ActivityEvent(f"e{at.timestamp():.0f}-{n}", at, "search", "ok", "2026-000001",
                         "robbery", target)  # fmt: skip


def test_a_burst_with_quiet_on_both_sides_is_isolated_and_a_shift_is_not() -> None:
    night = START + timedelta(days=5, hours=3)
    burst = [_search(night + timedelta(minutes=5 * i), n=i) for i in range(3)]
    shift_start = START + timedelta(days=8, hours=8)
    shift = [_search(shift_start + timedelta(minutes=20 * i), n=i) for i in range(12)]
    lone = [_search(START + timedelta(days=12, hours=2))]
    found = operator_insight("det", burst + shift + lone, since=START, until=END,
                             unit_days_per_target=1.0)  # fmt: skip
    [session] = found.isolated_sessions
    assert session.event_ids == [e.event_id for e in burst]
    assert session.quiet_before_hours == 5 * 24 + 3
    two = [_search(night, n=0), _search(night + timedelta(minutes=5), n=1)]
    assert operator_insight("det", two, since=START, until=END,
                            unit_days_per_target=1.0).isolated_sessions == []  # fmt: skip
    near = [*burst, _search(night + timedelta(hours=7), n=9)]
    assert operator_insight("det", near, since=START, until=END,
                            unit_days_per_target=1.0).isolated_sessions == []  # fmt: skip


def test_a_day_well_above_the_users_baseline_stands_out() -> None:
    usual = [_search(START + timedelta(days=d, hours=9), n=d) for d in range(1, 11)]
    busy_day = START + timedelta(days=15, hours=9)
    busy = [_search(busy_day + timedelta(minutes=i), n=i) for i in range(8)]
    found = operator_insight("det", usual + busy, since=START, until=END,
                             unit_days_per_target=1.0)  # fmt: skip
    assert found.baseline_per_day == 1
    [day] = [d for d in found.per_day if d.above_baseline]
    assert day.day == busy_day.date()
    assert day.event_ids == [e.event_id for e in busy]


def test_a_plate_on_three_days_is_repeated_and_scored_against_the_baselines() -> None:
    tracked = [_search(START + timedelta(days=d, hours=10), "7K2ABC") for d in (2, 6, 9)]
    others = [_search(START + timedelta(days=d, hours=11), f"Z{d}*") for d in range(1, 10)]
    unit = unit_days_per_target([tracked + others])
    found = operator_insight("det", tracked + others, since=START, until=END,
                             unit_days_per_target=unit)  # fmt: skip
    [repeat] = found.repeat_targets
    assert (repeat.target, repeat.days, repeat.searches) == ("7K2ABC", 3, 3)
    assert repeat.user_score == round(3 / (12 / 10), 2)
    assert repeat.unit_score == round(3 / unit, 2)


def test_targets_are_normalized_and_refusals_do_not_count_as_searches() -> None:
    assert search_target({"plate": "7k2-abc"}) == "7K2ABC"
    assert search_target({"plate_pattern": "7k2 *"}) == "7K2*"
    assert search_target({"pattern": ""}) is None
    refused = ActivityEvent("r1", START + timedelta(days=1), "search.refused", "refused",
                            "", "", "ABC*")  # fmt: skip
    found = operator_insight("det", [refused], since=START, until=END, unit_days_per_target=1)
    assert found.searches == 0
    assert found.refusals.count == 1
    assert found.refusals.event_ids == ["r1"]
