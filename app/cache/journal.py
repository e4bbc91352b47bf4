"""The audit journal: this device's hash chain of events, in the cache.

`append` runs inside the caller's transaction, so an action and the event that
records it commit together or not at all.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.cache.connection import DESK, Database
from app.core.audit_chain import EVENT_FIELDS, GENESIS_HASH, seal_event, verify_chain
from app.core.canonical import utc_iso
from app.core.records import JournalStatus

VERIFIED_KEY = "journal_verified_through"


@dataclass(frozen=True)
class Actor:
    """Who acts: the device, the signed-in user and their session."""

    device_id: str
    username: str
    session_id: str


class JournalRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def append(
        self,
        actor: Actor,
        action: str,
        *,
        object_refs: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        outcome: str = "ok",
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """Append one event to the chain, in the current transaction (or its own)."""
        with self.db.atomic(only=DESK):
            head = self.db.one("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1")
            seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
            event = seal_event(
                {
                    "event_id": uuid.uuid4().hex,
                    "device_id": actor.device_id,
                    "username": actor.username,
                    "session_id": actor.session_id,
                    "seq": seq,
                    "occurred_at": utc_iso(now or datetime.now(UTC)),
                    "action": action,
                    "object_refs": dict(object_refs or {}),
                    "params": dict(params or {}),
                    "outcome": outcome,
                    "prev_hash": prev_hash,
                }
            )
            self.db.execute(
                "INSERT INTO journal (seq, event_id, device_id, username, session_id, occurred_at,"
                " action, object_refs, params, outcome, prev_hash, hash)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    event["seq"],
                    event["event_id"],
                    event["device_id"],
                    event["username"],
                    event["session_id"],
                    event["occurred_at"],
                    event["action"],
                    json.dumps(event["object_refs"]),
                    json.dumps(event["params"]),
                    event["outcome"],
                    event["prev_hash"],
                    event["hash"],
                ),
            )
        return event

    def pending(self, *, limit: int) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT * FROM journal WHERE delivered_at IS NULL ORDER BY seq LIMIT ?", (limit,)
        ).fetchall()
        return [_event(row) for row in rows]

    def mark_delivered(self, *, through_seq: int, now: datetime | None = None) -> int:
        with self.db.atomic(only=DESK):
            cursor = self.db.execute(
                "UPDATE journal SET delivered_at = ? WHERE delivered_at IS NULL AND seq <= ?",
                (utc_iso(now or datetime.now(UTC)), through_seq),
            )
        return int(cursor.rowcount)

    def delivered_through(self) -> int:
        """The highest seq the hub has acknowledged (0 when none)."""
        value = self.db.scalar("SELECT max(seq) FROM journal WHERE delivered_at IS NOT NULL")
        return int(value or 0)

    def events(self, *, after_seq: int = 0, limit: int = 10_000) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT * FROM journal WHERE seq > ? ORDER BY seq LIMIT ?", (after_seq, limit)
        ).fetchall()
        return [_event(row) for row in rows]

    def status(self, *, full: bool = True) -> JournalStatus:
        """Counts, and whether the chain verifies.

        `full` re-verifies every event; otherwise only the events after the last
        point verified (kept in the cache), so the window can ask often.
        """
        pending = int(self.db.scalar("SELECT count(*) FROM journal WHERE delivered_at IS NULL"))
        delivered = int(
            self.db.scalar("SELECT count(*) FROM journal WHERE delivered_at IS NOT NULL")
        )
        last_seq, last_hash = 0, GENESIS_HASH
        problems: list[str] = []
        checkpoint = (
            None
            if full
            else self.db.scalar("SELECT value FROM settings WHERE key = ?", (VERIFIED_KEY,))
        )
        if checkpoint:
            seq_text, _, last_hash = str(checkpoint).partition(":")
            last_seq = int(seq_text)
            if self._hash_of(last_seq) != last_hash:
                problems.append(f"event {last_seq} changed after it was verified")
        while batch := self.events(after_seq=last_seq, limit=5_000):
            problems += [
                str(p) for p in verify_chain(batch, start_seq=last_seq + 1, start_hash=last_hash)
            ]
            last_seq, last_hash = int(batch[-1]["seq"]), str(batch[-1]["hash"])
        if not problems and last_seq:
            self.db.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (VERIFIED_KEY, f"{last_seq}:{last_hash}"),
            )
        return JournalStatus(
            pending=pending, delivered=delivered, chain_ok=not problems, problems=tuple(problems)
        )

    def _hash_of(self, seq: int) -> str:
        return str(self.db.scalar("SELECT hash FROM journal WHERE seq = ?", (seq,)))


def _event(row: Any) -> dict[str, Any]:
    event = {name: row[name] for name in EVENT_FIELDS}
    event["object_refs"] = json.loads(row["object_refs"])
    event["params"] = json.loads(row["params"])
    event["hash"] = row["hash"]
    return event
