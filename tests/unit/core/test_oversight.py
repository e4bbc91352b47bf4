"""The review queue's order: most severe first, then newest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.core.oversight import Severity, item_severity, queue_order
from app.core.schemas import FiredRulePublic, ReviewItemPublic

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def item(item_id: str, rules: list[str], minutes: int) -> ReviewItemPublic:
    when = T0 + timedelta(minutes=minutes)
    return ReviewItemPublic(
        item_id=item_id, status="open", source="search", username="detective",
        display_name=None, unit="robbery", case_number="2026-000123", purpose="robbery",
        justification="why", params={}, result_count=3, occurred_at=when, flagged_at=when,
        rules=[FiredRulePublic(rule=rule, reason=f"{rule} fired") for rule in rules],
        history=[], recent_searches=[],
    )  # fmt: skip


def test_an_item_is_as_severe_as_its_most_severe_rule() -> None:
    assert item_severity(["off_hours", "case_not_assigned"]) is Severity.HIGH
    assert item_severity(["random_sample"]) is Severity.LOW
    assert item_severity(["overbroad_pattern", "off_hours"]) is Severity.MEDIUM
    assert item_severity(["unevaluated"]) is Severity.MEDIUM
    assert item_severity([]) is Severity.LOW


def test_the_queue_is_most_severe_then_newest_first() -> None:
    items = [
        item("a", ["off_hours"], 50),
        item("b", ["overbroad_pattern"], 10),
        item("c", ["justification_words", "off_hours"], 0),
        item("d", ["overbroad_pattern", "off_hours"], 30),
        item("e", ["random_sample"], 60),
        item("f", ["case_not_assigned"], 20),
    ]
    assert [i.item_id for i in queue_order(items)] == ["f", "c", "d", "b", "e", "a"]
