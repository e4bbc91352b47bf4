"""Canonical JSON and hashing: the one byte form both sides hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: the same bytes for the same value everywhere."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def utc_iso(moment: datetime) -> str:
    """UTC to the millisecond, with a Z: the one text form of a time on the wire."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every time in Platedesk is timezone-aware UTC")
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def parse_utc(text: str) -> datetime:
    """Parse an ISO 8601 time; a time without a zone is refused rather than guessed."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"'{text}' has no time zone; give it in UTC, e.g. 2026-11-20T08:00:00Z")
    return moment.astimezone(UTC)


def page_checksum(reads: Sequence[Mapping[str, Any]], tombstones: Sequence[str]) -> str:
    """The checksum of one change-feed page, over its JSON form as sent."""
    return sha256_hex(canonical_json({"reads": list(reads), "tombstones": list(tombstones)}))
