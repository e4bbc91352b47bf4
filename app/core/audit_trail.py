"""The audit trail browser's records: found events, each device's chain status in plain
words, and a selection exported as CSV or as a hash-chained JSON excerpt.

The excerpt verifies on its own (`verify_excerpt`, `platedesk audit verify-excerpt`):
- each event's `hash` is recomputed from its fields (app.core.audit_chain.event_hash),
  so a changed field shows;
- the entries are chained: entry i's `link` is SHA-256 of the previous link and the
  event's hash (the first from the genesis), and `head` is the last link, so an entry
  removed, added or moved shows;
- `count` is the number of entries.
Each event's hash is also the one in its device's chain at the hub, where an inclusion
proof (GET /audit/proof/inclusion) ties it to the signed log.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, Field

from app.core.audit_chain import EVENT_FIELDS, GENESIS_HASH, event_hash
from app.core.canonical import canonical_json, sha256_hex, utc_iso
from app.core.schemas import WireModel

EXCERPT_FORMAT = "platedesk-audit-excerpt/1"
PAGE_LIMIT = 500
ChainStatus = Literal["intact", "gap", "broken", "empty"]
CSV_COLUMNS = (
    "occurred_at", "username", "device_id", "seq", "action", "outcome", "case_number",
    "object_refs", "params", "event_id", "hash", "late",
)  # fmt: skip


class AuditEventPublic(WireModel):
    """One stored audit event, every hashed field as stored, and where the hub got it."""

    event_id: str
    device_id: str
    username: str
    session_id: str
    seq: int
    occurred_at: str  # exactly as hashed
    action: str
    object_refs: dict[str, Any]
    params: dict[str, Any]
    outcome: str
    prev_hash: str
    hash: str
    received_at: AwareDatetime
    late: bool

    def chained(self) -> dict[str, Any]:
        """The fields the event's hash covers, and the hash."""
        data = self.model_dump(mode="json")
        return {name: data[name] for name in (*EVENT_FIELDS, "hash")}


class AuditSearchPage(WireModel):
    events: list[AuditEventPublic]
    next_cursor: str | None = None  # pass as `cursor` for the next (older) page


class DeviceChainPublic(WireModel):
    device_id: str
    username: str  # the owner ("" for the hub's own chain)
    name: str
    events: int
    last_seq: int
    status: ChainStatus
    summary: str  # in plain words, for people
    problems: list[str] = Field(default_factory=list)


def chain_summary(
    status: ChainStatus, *, events: int, last_seq: int, first_problem: str | None
) -> str:
    """A device chain's status in plain words."""
    if status == "empty":
        return "No events delivered yet."
    if status == "intact":
        return (
            f"Intact: all {events} events link up from the first to event {last_seq}, "
            "and none was changed."
        )
    if status == "gap":
        return (
            f"Gap: events are missing ({first_problem}); they may still be on their way "
            "from the workstation, or were lost."
        )
    return (
        f"Broken: {first_problem}. An event was changed, removed or put out of order "
        "after it was written; tell your administrator."
    )


def case_of(event: AuditEventPublic) -> str:
    for part in (event.object_refs, event.params):
        value = part.get("case_number")
        if isinstance(value, str):
            return value
    return ""


def events_csv(events: Iterable[AuditEventPublic]) -> str:
    """The events as CSV, one row each (JSON columns for references and parameters)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for e in events:
        writer.writerow(
            [
                e.occurred_at, e.username, e.device_id, e.seq, e.action, e.outcome,
                case_of(e), canonical_json(e.object_refs).decode(),
                canonical_json(e.params).decode(), e.event_id, e.hash, e.late,
            ]
        )  # fmt: skip
    return out.getvalue()


def _link(previous: str, hash_: str) -> str:
    return sha256_hex(f"{previous}{hash_}".encode())


def build_excerpt(
    events: Sequence[AuditEventPublic],
    *,
    hub_url: str,
    exported_by: str,
    exported_at: datetime,
    query: Mapping[str, Any],
) -> dict[str, Any]:
    """The selection as a self-verifying, hash-chained JSON document (see the module doc)."""
    entries: list[dict[str, Any]] = []
    link = GENESIS_HASH
    for event in events:
        chained = event.chained()
        link = _link(link, str(chained["hash"]))
        entries.append({"event": chained, "link": link})
    return {
        "format": EXCERPT_FORMAT,
        "hub": hub_url,
        "exported_by": exported_by,
        "exported_at": utc_iso(exported_at),
        "query": dict(query),
        "count": len(entries),
        "entries": entries,
        "head": link,
    }


def verify_excerpt(document: Any) -> list[str]:
    """Every problem found in an excerpt (none: it is as exported)."""
    if not isinstance(document, dict) or document.get("format") != EXCERPT_FORMAT:
        return [f"this is not an audit excerpt ({EXCERPT_FORMAT})"]
    entries = document.get("entries")
    if not isinstance(entries, list):
        return ["the excerpt has no list of entries"]
    problems: list[str] = []
    if document.get("count") != len(entries):
        problems.append(f"it says {document.get('count')} entries but holds {len(entries)}")
    link = GENESIS_HASH
    for number, entry in enumerate(entries, start=1):
        try:
            event = entry["event"]
            if event_hash(event) != event["hash"]:
                problems.append(
                    f"entry {number} (event {event.get('event_id')}): its contents do not "
                    "match its hash: it was changed"
                )
            link = _link(link, str(event["hash"]))
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"entry {number} cannot be read ({exc})")
            continue
        if entry.get("link") != link:
            problems.append(
                f"entry {number}: does not link to the entry before it: entries were "
                "removed, added or reordered"
            )
            link = str(entry.get("link"))
    if document.get("head") != link:
        problems.append("the excerpt's head does not match its last entry: entries were removed")
    return problems


def excerpt_json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
