"""Flag rules: which oversight rules a search or slice request hits, and why.

Pure logic. The hub gathers the facts (hub.flags) and keeps the thresholds in a
policy file (hub.flag_policy); a rule takes the facts and the policy and says,
in one sentence a supervisor can read, why it fired. A flag never refuses
anything: it puts the search in the supervisors' review queue.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.core.errors import KnownError, PatternError
from app.core.plates import parse_pattern
from app.core.purposes import PROHIBITED_USES

# Words that are not refused outright but that a supervisor should read in context:
# personal motives, fishing, and wording close to the prohibited uses.
DEFAULT_AMBIGUOUS_WORDS: tuple[str, ...] = (
    "curious",
    "just checking",
    "just looking",
    "personal",
    "favor",
    "friend",
    "girlfriend",
    "boyfriend",
    "ex-wife",
    "ex-husband",
    "neighbor",
    "relative",
    "fishing",
    "see who",
    "keep an eye",
    "gathering",
    "crowd",
    "meeting",
    "activist",
    "organizer",
    "journalist",
)

OVERBROAD_PATTERN = "overbroad_pattern"
LONG_WINDOW = "long_window"
ALL_CAMERAS_NO_PATTERN = "all_cameras_no_pattern"
CASE_NOT_ASSIGNED = "case_not_assigned"
JUSTIFICATION_WORDS = "justification_words"
VOLUME = "volume"
OFF_HOURS = "off_hours"
RANDOM_SAMPLE = "random_sample"

RULES: tuple[str, ...] = (
    OVERBROAD_PATTERN,
    LONG_WINDOW,
    ALL_CAMERAS_NO_PATTERN,
    CASE_NOT_ASSIGNED,
    JUSTIFICATION_WORDS,
    VOLUME,
    OFF_HOURS,
    RANDOM_SAMPLE,
)


class FlagPolicy(BaseModel):
    """The thresholds of the flag rules (the hub's policy file holds the changed ones)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    min_known_characters: int = Field(default=3, ge=1, le=10)
    max_window_days: int = Field(default=7, ge=1, le=366)
    daily_search_threshold: int = Field(default=50, ge=1, le=1_000_000)
    off_hours_start: int = Field(default=22, ge=0, le=23)  # hour, in `timezone`
    off_hours_end: int = Field(default=6, ge=0, le=23)  # hour the off hours end
    timezone: str = Field(default="UTC", min_length=1, max_length=64)
    sample_rate: float = Field(default=0.02, ge=0.0, le=1.0)
    sample_seed: str | None = Field(default=None, max_length=128)  # None: truly random
    ambiguous_words: list[str] = Field(
        default_factory=lambda: list(DEFAULT_AMBIGUOUS_WORDS), max_length=500
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"'{value}' is not a time zone name; use one such as UTC or America/Denver"
            ) from None
        return value

    @field_validator("ambiguous_words")
    @classmethod
    def _clean_words(cls, value: list[str]) -> list[str]:
        words = [" ".join(word.lower().split()) for word in value]
        if any(not word or len(word) > 64 for word in words):
            raise ValueError("each word or phrase must have 1 to 64 characters")
        return sorted(set(words), key=words.index)


POLICY_KEYS: tuple[str, ...] = tuple(FlagPolicy.model_fields)


def policy_problem(exc: ValidationError) -> str:
    """One sentence naming the first invalid key and why."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    if first.get("type") == "extra_forbidden":
        return (
            f"'{where}' is not a flag policy setting; the settings are: {', '.join(POLICY_KEYS)}."
        )
    return f"The flag policy setting {where} is not valid: {message}."


def updated_policy(policy: FlagPolicy, changes: dict[str, Any]) -> FlagPolicy:
    """The policy with `changes` applied; KnownError naming the first bad key or value."""
    try:
        return FlagPolicy.model_validate({**policy.model_dump(), **changes})
    except ValidationError as exc:
        raise KnownError(policy_problem(exc)) from None


def parse_policy_value(key: str, text: str) -> Any:
    """A value typed on the command line, as the setting's type.

    Lists are comma-separated; `none` (or nothing) clears the sample seed.
    """
    if key not in POLICY_KEYS:
        raise KnownError(
            f"'{key}' is not a flag policy setting; the settings are: {', '.join(POLICY_KEYS)}."
        )
    if key == "ambiguous_words":
        return [word.strip() for word in text.split(",") if word.strip()]
    if key == "sample_seed":
        return None if text.strip().lower() in ("", "none") else text
    if key == "timezone":
        return text.strip()
    kind = float if key == "sample_rate" else int
    try:
        return kind(text)
    except ValueError:
        noun = "a number" if kind is float else "a whole number"
        raise KnownError(f"The flag policy setting {key} takes {noun}, not '{text}'.") from None


@dataclass(frozen=True)
class SearchFacts:
    """What the rules look at: one search or slice request and its context.

    camera_ids None or empty: every camera. justification None: none to check
    (a workstation search runs under a slice whose justification was checked).
    searches_in_day counts the user's searches in the 24 hours up to this one,
    this one included. sample_draw is uniform in [0, 1) (see sample_draw()).
    """

    pattern: str | None
    time_from: datetime | None
    time_to: datetime | None
    camera_ids: list[str] | None
    justification: str | None
    case_assigned: bool
    searches_in_day: int
    at: datetime
    sample_draw: float


@dataclass(frozen=True)
class FiredRule:
    rule: str
    reason: str

    def as_json(self) -> dict[str, str]:
        return {"rule": self.rule, "reason": self.reason}


def known_characters(pattern: str) -> int:
    """How many plate characters a pattern pins down (an unreadable one: its letters and digits)."""
    try:
        return parse_pattern(pattern).known_characters
    except PatternError:
        return sum(1 for ch in pattern if ch.isascii() and ch.isalnum())


def _word_hits(text: str, words: list[str]) -> list[str]:
    lowered = " ".join(text.lower().split())
    return [
        word
        for word in words
        if re.search(r"(?<![a-z0-9])" + re.escape(word) + r"(?![a-z0-9])", lowered)
    ]


def off_hours(at: datetime, policy: FlagPolicy) -> bool:
    """Whether `at` falls in [start, end) hours in the policy's zone (wrapping midnight)."""
    start, end = policy.off_hours_start, policy.off_hours_end
    if start == end:
        return False
    hour = at.astimezone(ZoneInfo(policy.timezone)).hour
    return start <= hour < end if start < end else hour >= start or hour < end


def sample_draw(seed: str | None, key: str) -> float:
    """The random-sample draw for one item: from the seed and the item's key when a
    seed is set (the same item always draws the same), truly random otherwise."""
    if seed is None:
        return secrets.randbits(53) / (1 << 53)
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / (1 << 64)


def evaluate(facts: SearchFacts, policy: FlagPolicy) -> list[FiredRule]:
    """The rules the search hits, in RULES order, each with its reason."""
    fired: list[FiredRule] = []
    if facts.pattern:
        known = known_characters(facts.pattern)
        if known < policy.min_known_characters:
            fired.append(
                FiredRule(
                    OVERBROAD_PATTERN,
                    f"The plate pattern '{facts.pattern}' pins down {known} character(s); "
                    f"fewer than {policy.min_known_characters} matches too many vehicles.",
                )
            )
    if facts.time_from is not None and facts.time_to is not None:
        span = facts.time_to - facts.time_from
        if span.total_seconds() > policy.max_window_days * 86400:
            days = span.total_seconds() / 86400
            fired.append(
                FiredRule(
                    LONG_WINDOW,
                    f"The time window covers {days:.1f} days, over the "
                    f"{policy.max_window_days}-day limit for routine searches.",
                )
            )
    if not facts.camera_ids and not facts.pattern:
        fired.append(
            FiredRule(
                ALL_CAMERAS_NO_PATTERN,
                "Every camera, with no plate pattern: this asks for all traffic in the window.",
            )
        )
    if not facts.case_assigned:
        fired.append(
            FiredRule(CASE_NOT_ASSIGNED, "The user is not assigned to the case the search names.")
        )
    if facts.justification:
        prohibited = [
            use.code for use in PROHIBITED_USES if use.pattern.search(facts.justification)
        ]
        ambiguous = _word_hits(facts.justification, policy.ambiguous_words)
        if prohibited or ambiguous:
            parts = []
            if prohibited:
                parts.append("wording of a prohibited use (" + ", ".join(prohibited) + ")")
            if ambiguous:
                parts.append("ambiguous words (" + ", ".join(f"'{w}'" for w in ambiguous) + ")")
            fired.append(
                FiredRule(
                    JUSTIFICATION_WORDS,
                    "The justification contains " + " and ".join(parts) + "; check the real use.",
                )
            )
    if facts.searches_in_day > policy.daily_search_threshold:
        fired.append(
            FiredRule(
                VOLUME,
                f"{facts.searches_in_day} searches by this user in 24 hours, over the "
                f"threshold of {policy.daily_search_threshold}.",
            )
        )
    if off_hours(facts.at, policy):
        local = facts.at.astimezone(ZoneInfo(policy.timezone))
        fired.append(
            FiredRule(
                OFF_HOURS,
                f"Run at {local:%H:%M} {policy.timezone}, inside the off hours "
                f"{policy.off_hours_start:02d}:00-{policy.off_hours_end:02d}:00.",
            )
        )
    if facts.sample_draw < policy.sample_rate:
        fired.append(
            FiredRule(
                RANDOM_SAMPLE,
                f"Picked for the routine audit (a random {policy.sample_rate:.0%} sample).",
            )
        )
    return fired
