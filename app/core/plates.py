"""Plates and plate patterns.

A plate is normalized to upper case A-Z and 0-9 only. A pattern is a plate with
wildcards: `*` (any run of characters, possibly empty) and `?` (exactly one
character). Spaces and dashes are ignored, as they are on the plate itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from app.core.errors import PatternError

_SEPARATORS = frozenset(" -·.")
_PLATE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_WILDCARDS = frozenset("*?")
MAX_PLATE_LENGTH = 10
TRIGRAM = 3


def normalize_plate(text: str) -> str:
    """Upper case, A-Z and 0-9 only: the form every read's plate is stored in."""
    return "".join(ch for ch in text.upper() if ch in _PLATE_CHARS)


class PatternKind(StrEnum):
    EXACT = "exact"
    PREFIX = "prefix"
    WILDCARD = "wildcard"


@dataclass(frozen=True)
class PlatePattern:
    """A parsed plate pattern; `text` is normalized (wildcards kept)."""

    text: str
    kind: PatternKind

    @property
    def prefix(self) -> str:
        """The literal characters before the first wildcard."""
        return re.split(r"[*?]", self.text, maxsplit=1)[0]

    @property
    def glob(self) -> str:
        """The pattern as a SQLite GLOB (same wildcard syntax; plates need no escaping)."""
        return self.text

    @property
    def like(self) -> str:
        """The pattern as a SQL LIKE (plates hold no `%` or `_`)."""
        return self.text.replace("*", "%").replace("?", "_")

    @property
    def literal_runs(self) -> tuple[str, ...]:
        """The runs of literal characters between wildcards, in order."""
        return tuple(run for run in re.split(r"[*?]", self.text) if run)

    @property
    def trigram_terms(self) -> tuple[str, ...]:
        """Literal runs long enough for a trigram index to narrow the search."""
        return tuple(run for run in self.literal_runs if len(run) >= TRIGRAM)

    @property
    def known_characters(self) -> int:
        """How many characters of the plate the pattern pins down."""
        return sum(len(run) for run in self.literal_runs)

    def matches(self, plate: str) -> bool:
        """Whether a normalized plate matches; the reference the SQL must agree with."""
        regex = "".join(
            ".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in self.text
        )
        return re.fullmatch(regex, plate) is not None


def parse_pattern(text: str) -> PlatePattern:
    """Parse what a user typed; raises PatternError naming the 1-based position."""
    kept: list[str] = []
    for position, ch in enumerate(text, start=1):
        up = ch.upper()
        if ch in _SEPARATORS:
            continue
        if up in _PLATE_CHARS:
            kept.append(up)
        elif ch in _WILDCARDS:
            if ch == "*" and kept and kept[-1] == "*":
                continue
            kept.append(ch)
        else:
            raise PatternError(
                f"'{ch}' is not allowed in a plate pattern (use letters, digits, * or ?)",
                position,
            )
    if not kept:
        raise PatternError("the plate pattern is empty", 1)
    literal_count = sum(1 for ch in kept if ch in _PLATE_CHARS)
    if literal_count == 0:
        raise PatternError("the plate pattern has no letter or digit", 1)
    fixed_length = sum(1 for ch in kept if ch != "*")
    if fixed_length > MAX_PLATE_LENGTH:
        raise PatternError(
            f"a plate has at most {MAX_PLATE_LENGTH} characters",
            _position_of(text, MAX_PLATE_LENGTH + 1),
        )
    normalized = "".join(kept)
    wildcards = [ch for ch in normalized if ch in _WILDCARDS]
    if not wildcards:
        kind = PatternKind.EXACT
    elif wildcards == ["*"] and normalized.endswith("*"):
        kind = PatternKind.PREFIX
    else:
        kind = PatternKind.WILDCARD
    return PlatePattern(text=normalized, kind=kind)


def _position_of(text: str, nth_kept: int) -> int:
    """The 1-based position in `text` of the nth character that is not a separator or `*`."""
    seen = 0
    for position, ch in enumerate(text, start=1):
        if ch in _SEPARATORS or ch == "*":
            continue
        seen += 1
        if seen == nth_kept:
            return position
    return len(text)


# Characters a plate reader confuses with one another. Folding a plate maps each
# character to the first of its class, so a misread and the true plate fold alike.
CONFUSION_CLASSES = ("0ODQ", "1IL", "8B", "5S", "2Z", "6G")
_FOLD = {ch: cls[0] for cls in CONFUSION_CLASSES for ch in cls}


def fold_plate(text: str) -> str:
    """The plate (or pattern: wildcards pass through) with confusable characters folded."""
    return "".join(_FOLD.get(ch, ch) for ch in text)


@dataclass(frozen=True)
class FuzzyVariants:
    """What a fuzzy search looks for, all in folded form.

    `equal`: folded plates to find exactly (the pattern, and the pattern with one
    character missing from the read); `globs`: folded GLOB patterns (the read has
    one extra character, or the pattern has wildcards).
    """

    equal: tuple[str, ...]
    globs: tuple[str, ...]


def fuzzy_variants(pattern: PlatePattern) -> FuzzyVariants:
    folded = fold_plate(pattern.text)
    if pattern.kind is not PatternKind.EXACT:
        return FuzzyVariants(equal=(), globs=(folded,))
    shorter = (
        {folded[:i] + folded[i + 1 :] for i in range(len(folded))} if len(folded) > 1 else set()
    )
    longer = {folded[:i] + "?" + folded[i:] for i in range(len(folded) + 1)}
    return FuzzyVariants(equal=tuple(sorted({folded} | shorter)), globs=tuple(sorted(longer)))


def fuzzy_matches(pattern: PlatePattern, plate: str) -> bool:
    """Whether a plate matches the pattern fuzzily; the reference the SQL must agree with."""
    variants = fuzzy_variants(pattern)
    folded = fold_plate(plate)
    if folded in variants.equal:
        return True
    return any(
        PlatePattern(text=glob, kind=PatternKind.WILDCARD).matches(folded)
        for glob in variants.globs
    )
