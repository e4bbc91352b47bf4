"""Audit events and their per-device hash chain.

Each device (a workstation, or the hub itself) numbers its events 1, 2, 3...
and links each to the previous one's hash. The hash covers every field but
itself, in canonical JSON, so changing, removing or reordering an event breaks
the chain at that point.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.core.canonical import canonical_json, sha256_hex

GENESIS_HASH = "0" * 64

EVENT_FIELDS = (
    "event_id",
    "device_id",
    "username",
    "session_id",
    "seq",
    "occurred_at",
    "action",
    "object_refs",
    "params",
    "outcome",
    "prev_hash",
)


def event_hash(event: Mapping[str, Any]) -> str:
    """The hash of an event: SHA-256 over its fields (all but `hash`) in canonical JSON."""
    missing = [name for name in EVENT_FIELDS if name not in event]
    if missing:
        raise ValueError(f"audit event lacks {', '.join(missing)}")
    return sha256_hex(canonical_json({name: event[name] for name in EVENT_FIELDS}))


def seal_event(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The event with its `hash` filled in."""
    sealed = {name: fields[name] for name in EVENT_FIELDS}
    sealed["hash"] = event_hash(sealed)
    return sealed


@dataclass(frozen=True)
class ChainProblem:
    """Where and how a chain breaks."""

    device_id: str
    seq: int
    kind: str  # "gap", "link", "hash", "order"
    detail: str

    def __str__(self) -> str:
        return f"device {self.device_id} event {self.seq}: {self.detail}"


def withheld(event: Mapping[str, Any]) -> dict[str, Any]:
    """An event reduced to its place in the chain (seq, links, hash), its contents withheld:
    how an excerpt for one case carries the other cases' events that sit between its own."""
    return {
        "device_id": event["device_id"],
        "seq": event["seq"],
        "prev_hash": event["prev_hash"],
        "hash": event["hash"],
        "withheld": True,
    }


def verify_chain(
    events: Iterable[Mapping[str, Any]],
    *,
    start_seq: int = 1,
    start_hash: str = GENESIS_HASH,
) -> list[ChainProblem]:
    """Check one device's events (in seq order) link up; return every problem found.

    A withheld event (see `withheld`) is checked for its place and links only.
    """
    problems: list[ChainProblem] = []
    expected_seq, expected_prev = start_seq, start_hash
    for event in events:
        device, seq = str(event["device_id"]), int(event["seq"])
        if seq != expected_seq:
            kind = "gap" if seq > expected_seq else "order"
            problems.append(
                ChainProblem(device, seq, kind, f"expected event {expected_seq}, found {seq}")
            )
        if event["prev_hash"] != expected_prev:
            problems.append(
                ChainProblem(device, seq, "link", "does not link to the event before it")
            )
        if not event.get("withheld") and event_hash(event) != event["hash"]:
            problems.append(ChainProblem(device, seq, "hash", "its contents do not match its hash"))
        expected_seq, expected_prev = seq + 1, str(event["hash"])
    return problems
