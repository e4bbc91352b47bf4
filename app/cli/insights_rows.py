"""How `platedesk review operators` shows operator insights: whole records with --json,
one line per user for people."""

from __future__ import annotations

from typing import Any

from app.core.insights import OperatorInsightPublic, OperatorInsightsPublic


def operators_result(found: OperatorInsightsPublic, *, as_json: bool) -> dict[str, Any]:
    if as_json:
        return found.model_dump(mode="json")
    return {
        "window": f"{found.days} days to {found.until:%Y-%m-%d %H:%M} UTC",
        "operators": [_row(o) for o in found.operators],
    }


def _row(o: OperatorInsightPublic) -> dict[str, Any]:
    return {
        "username": o.username,
        "searches": o.searches,
        "baseline_per_day": o.baseline_per_day,
        "busy_days": sum(1 for d in o.per_day if d.above_baseline),
        "repeat_targets": len(o.repeat_targets),
        "isolated_sessions": len(o.isolated_sessions),
        "refusals": o.refusals.count,
    }
