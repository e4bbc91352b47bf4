"""The review queue's order: most severe first, then newest first."""

from __future__ import annotations

from app.core.oversight import Severity, item_severity, queue_order
from tests.support.review_items import item


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
