"""Operator insights: what a supervisor looks at in a user's searches over N days.

Pure functions over the user's audit events (hub.insights loads them):
- searches per day against the user's own baseline (the median of their active days),
  days at three times the baseline and five searches above it stand out;
- repeated tracking: one plate or pattern searched on several different days, scored
  against the user's own baseline (days per target over all their targets) and the
  unit's;
- isolated sessions: a short burst of searches (three or more within an hour, each
  less than 30 minutes after the one before) with at least 8 hours without a search on
  each side (the window's start and end count as quiet so far);
- searches per case and per purpose, and refusals.
Every insight names the audit events behind it, so the supervisor can open them.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal, NamedTuple

from pydantic import AwareDatetime, Field

from app.core.plates import normalize_plate
from app.core.schemas import WireModel

DEFAULT_DAYS = 30
MAX_DAYS = 366
SEARCH_ACTIONS = ("search", "search.request", "slice.request")
_SEARCH_ACTIONS = frozenset(SEARCH_ACTIONS)
SESSION_GAP = timedelta(minutes=30)  # searches closer than this belong to one session
BURST_MAX = timedelta(hours=1)  # a session this short or shorter is a burst...
BURST_MIN = 3  # ...of at least this many searches
QUIET = timedelta(hours=8)  # the inactivity an isolated session has on each side
REPEAT_MIN_DAYS = 3  # a target searched on this many different days is "repeated"
SPIKE_FACTOR = 3.0
SPIKE_MARGIN = 5
MAX_EVENT_IDS = 200  # event ids one insight carries (the count says how many there are)
INSIGHT_KINDS = ("search_volume", "repeat_target", "isolated_session", "refusals")
InsightKind = Literal["search_volume", "repeat_target", "isolated_session", "refusals"]


# the wire ------------------------------------------------------------------------------
class DayCountPublic(WireModel):
    day: date
    searches: int
    above_baseline: bool = False
    event_ids: list[str] = Field(default_factory=list)  # only for the days above baseline


class RepeatTargetPublic(WireModel):
    """One plate or pattern the user searched on `days` different days."""

    target: str
    searches: int
    days: int
    first_at: AwareDatetime
    last_at: AwareDatetime
    user_score: float  # days / the user's days per target
    unit_score: float  # days / the unit's days per target
    event_ids: list[str]


class IsolatedSessionPublic(WireModel):
    started_at: AwareDatetime
    ended_at: AwareDatetime
    searches: int
    quiet_before_hours: float
    quiet_after_hours: float
    event_ids: list[str]


class CountPublic(WireModel):
    key: str
    searches: int


class RefusalsPublic(WireModel):
    count: int
    actions: list[CountPublic]
    event_ids: list[str]


class OperatorInsightPublic(WireModel):
    username: str
    display_name: str | None = None
    searches: int
    baseline_per_day: float
    per_day: list[DayCountPublic]
    repeat_targets: list[RepeatTargetPublic]
    isolated_sessions: list[IsolatedSessionPublic]
    per_case: list[CountPublic]
    per_purpose: list[CountPublic]
    refusals: RefusalsPublic


class OperatorInsightsPublic(WireModel):
    days: int
    since: AwareDatetime
    until: AwareDatetime
    unit: str | None  # None: every unit (an administrator)
    unit_days_per_target: float
    operators: list[OperatorInsightPublic]


class InsightItemCreate(WireModel):
    """Turn one insight into a review item for the unit's queue."""

    username: str = Field(min_length=1, max_length=64)
    kind: InsightKind
    summary: str = Field(min_length=1, max_length=2000)
    event_ids: list[str] = Field(min_length=1, max_length=MAX_EVENT_IDS)


# the analysis ---------------------------------------------------------------------------
class ActivityEvent(NamedTuple):
    """One audit event of a user, as the insights read it (a tuple: thousands are read
    per request)."""

    event_id: str
    at: datetime
    action: str
    outcome: str
    case_number: str
    purpose: str
    target: str | None  # the plate or pattern searched, normalized

    @property
    def is_search(self) -> bool:
        return self.action in _SEARCH_ACTIONS and self.outcome != "refused"


def search_target(params: dict[str, Any]) -> str | None:
    """The plate or pattern a search looked for (upper case, spaces dropped), or None."""
    for name in ("plate", "plate_pattern", "pattern"):
        value = params.get(name)
        if isinstance(value, str) and value.strip():
            if name == "plate":
                return normalize_plate(value)
            return "".join(value.split()).upper()
    return None


@dataclass
class _Targets:
    by_target: dict[str, list[ActivityEvent]] = field(default_factory=dict)

    def days_per_target(self) -> list[int]:
        return [len({e.at.date() for e in events}) for events in self.by_target.values()]


def _targets(searches: Sequence[ActivityEvent]) -> _Targets:
    grouped: dict[str, list[ActivityEvent]] = defaultdict(list)
    for event in searches:
        if event.target:
            grouped[event.target].append(event)
    return _Targets(dict(grouped))


def _mean(values: Sequence[int]) -> float:
    return float(statistics.fmean(values)) if values else 0.0


def _ids(events: Iterable[ActivityEvent]) -> list[str]:
    return [e.event_id for e in events][:MAX_EVENT_IDS]


def _per_day(
    searches: Sequence[ActivityEvent], since: datetime, until: datetime
) -> tuple[float, list[DayCountPublic]]:
    by_day: dict[date, list[ActivityEvent]] = defaultdict(list)
    for event in searches:
        by_day[event.at.date()].append(event)
    active = sorted(len(events) for events in by_day.values())
    baseline = float(statistics.median(active)) if active else 0.0
    days: list[DayCountPublic] = []
    day = since.date()
    while day <= until.date():
        events = by_day.get(day, [])
        above = bool(events) and (
            len(events) >= SPIKE_FACTOR * baseline and len(events) >= baseline + SPIKE_MARGIN
        )
        days.append(
            DayCountPublic(
                day=day,
                searches=len(events),
                above_baseline=above,
                event_ids=_ids(events) if above else [],
            )
        )
        day += timedelta(days=1)
    return baseline, days


def _sessions(
    searches: Sequence[ActivityEvent], since: datetime, until: datetime
) -> list[IsolatedSessionPublic]:
    """The bursts with QUIET on each side (the window's edges count as quiet so far)."""
    runs: list[list[ActivityEvent]] = []
    for event in searches:
        if runs and event.at - runs[-1][-1].at < SESSION_GAP:
            runs[-1].append(event)
        else:
            runs.append([event])
    found: list[IsolatedSessionPublic] = []
    for index, run in enumerate(runs):
        start, end = run[0].at, run[-1].at
        if end - start > BURST_MAX or len(run) < BURST_MIN:
            continue
        before = start - (runs[index - 1][-1].at if index > 0 else since)
        after = (runs[index + 1][0].at if index + 1 < len(runs) else until) - end
        if before >= QUIET and after >= QUIET:
            found.append(
                IsolatedSessionPublic(
                    started_at=start,
                    ended_at=end,
                    searches=len(run),
                    quiet_before_hours=round(before.total_seconds() / 3600, 1),
                    quiet_after_hours=round(after.total_seconds() / 3600, 1),
                    event_ids=_ids(run),
                )
            )
    return found


def _counts(values: Iterable[str]) -> list[CountPublic]:
    return [CountPublic(key=k, searches=n) for k, n in Counter(values).most_common()]


def operator_insight(
    username: str,
    events: Sequence[ActivityEvent],
    *,
    since: datetime,
    until: datetime,
    unit_days_per_target: float,
    display_name: str | None = None,
) -> OperatorInsightPublic:
    """One user's insights from their events in [since, until), sorted by time."""
    ordered = sorted(events, key=lambda e: (e.at, e.event_id))
    searches = [e for e in ordered if e.is_search]
    refused = [e for e in ordered if e.outcome == "refused"]
    baseline, per_day = _per_day(searches, since, until)
    targets = _targets(searches)
    user_days = _mean(targets.days_per_target()) or 1.0
    unit_days = unit_days_per_target or 1.0
    repeats: list[RepeatTargetPublic] = []
    for target, hits in targets.by_target.items():
        days = len({e.at.date() for e in hits})
        if days < REPEAT_MIN_DAYS:
            continue
        repeats.append(
            RepeatTargetPublic(
                target=target,
                searches=len(hits),
                days=days,
                first_at=hits[0].at,
                last_at=hits[-1].at,
                user_score=round(days / user_days, 2),
                unit_score=round(days / unit_days, 2),
                event_ids=_ids(hits),
            )
        )
    repeats.sort(key=lambda r: (-r.unit_score, -r.days, r.target))
    return OperatorInsightPublic(
        username=username,
        display_name=display_name,
        searches=len(searches),
        baseline_per_day=baseline,
        per_day=per_day,
        repeat_targets=repeats,
        isolated_sessions=_sessions(searches, since, until),
        per_case=_counts(e.case_number for e in searches if e.case_number),
        per_purpose=_counts(e.purpose for e in searches if e.purpose),
        refusals=RefusalsPublic(
            count=len(refused), actions=_counts(e.action for e in refused), event_ids=_ids(refused)
        ),
    )


def unit_days_per_target(events_by_user: Iterable[Sequence[ActivityEvent]]) -> float:
    """The unit's baseline: over every user's targets, the mean number of days searched."""
    days: list[int] = []
    for events in events_by_user:
        days.extend(_targets([e for e in events if e.is_search]).days_per_target())
    return round(_mean(days), 2)


# the charts ------------------------------------------------------------------------------
class DayValuePublic(WireModel):
    day: date
    count: int


class DecisionDayPublic(WireModel):
    day: date
    decision: str  # approve, request_justification, refer or answer
    count: int


class OversightChartsPublic(WireModel):
    """The supervisor's charts over the unit's last N days."""

    days: int
    since: AwareDatetime
    until: AwareDatetime
    searches_per_day: list[DayValuePublic]
    flags_per_rule: list[CountPublic]
    decisions_per_day: list[DecisionDayPublic]
    users_by_volume: list[CountPublic]
