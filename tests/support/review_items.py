"""Review items as the hub sends them, for tests of the queue's order and its model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.core.oversight import item_severity
from app.core.schemas import FiredRulePublic, ReviewItemPublic

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def item(item_id: str, rules: list[str], minutes: int) -> ReviewItemPublic:
    when = T0 + timedelta(minutes=minutes)
    return ReviewItemPublic(
        item_id=item_id, status="open", severity=item_severity(rules).name.lower(),
        source="search", username="detective", display_name=None, unit="robbery", case_number="2026-000123", purpose="robbery",
        justification="why", params={}, result_count=3, occurred_at=when, flagged_at=when,
        rules=[FiredRulePublic(rule=rule, reason=f"{rule} fired") for rule in rules],
        history=[], recent_searches=[],
    )  # fmt: skip
