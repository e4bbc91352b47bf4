"""How the review queue is ordered: each flag rule's severity, an item's severity
(its most severe rule), and the queue most severe first, then newest first."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import IntEnum
from typing import TypeVar

from app.core.flag_rules import (
    ALL_CAMERAS_NO_PATTERN,
    CASE_NOT_ASSIGNED,
    JUSTIFICATION_WORDS,
    LONG_WINDOW,
    OFF_HOURS,
    OVERBROAD_PATTERN,
    RANDOM_SAMPLE,
    VOLUME,
)
from app.core.schemas import ReviewItemPublic


class Severity(IntEnum):
    LOW = 1  # routine checks: a random sample, a search off hours
    MEDIUM = 2  # a search broader than the case may need
    HIGH = 3  # outside the user's cases, or words that suggest a prohibited use


RULE_SEVERITY: dict[str, Severity] = {
    CASE_NOT_ASSIGNED: Severity.HIGH,
    JUSTIFICATION_WORDS: Severity.HIGH,
    OVERBROAD_PATTERN: Severity.MEDIUM,
    LONG_WINDOW: Severity.MEDIUM,
    ALL_CAMERAS_NO_PATTERN: Severity.MEDIUM,
    VOLUME: Severity.MEDIUM,
    OFF_HOURS: Severity.LOW,
    RANDOM_SAMPLE: Severity.LOW,
}
UNKNOWN_RULE = Severity.MEDIUM  # a rule this workstation does not know yet ("unevaluated")

Item = TypeVar("Item", bound=ReviewItemPublic)


def rule_severity(rule: str) -> Severity:
    return RULE_SEVERITY.get(rule, UNKNOWN_RULE)


def item_severity(rules: Iterable[str]) -> Severity:
    """An item's severity: that of its most severe rule (low when none fired)."""
    return max((rule_severity(rule) for rule in rules), default=Severity.LOW)


def queue_order(items: Sequence[Item]) -> list[Item]:
    """Most severe first, then newest search first (then by item id, for a stable order)."""
    by_id = sorted(items, key=lambda item: item.item_id)
    by_time = sorted(by_id, key=lambda item: item.occurred_at, reverse=True)
    return sorted(by_time, key=lambda item: item_severity(r.rule for r in item.rules), reverse=True)
