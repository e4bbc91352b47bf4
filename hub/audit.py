"""The audit log at the hub: its own events, ingest from workstations, verification.

Every device numbers its events 1, 2, 3... in a hash chain (app.core.audit_chain).
`chain_heads` holds, per device, the last event that extends an unbroken chain from
the genesis: the hub acknowledges up to it.

Ingest rules (one batch, events taken in seq order):
- a batch is refused whole, and nothing of it stored, when one of its new events is
  not the device owner's (its `username`) or carries parameters of the wrong type
  where the hub reads them (ACTION_PARAMS: the transparency report and the flag
  rules). The refusal is itself a hub event (`audit.refused`); the workstation
  keeps the batch in its outbox. Every event after a refused one links to it, so
  storing the rest would only make gaps;
- an event_id already stored with the same hash is a duplicate (acknowledged again);
  with a different hash it is a "conflict" problem and the stored one stays;
- an event whose hash is right and that links to the head (seq == last + 1 and
  prev_hash == last hash) is stored and advances the head; stored events that
  were waiting behind a gap are then adopted if they link;
- any other event is stored anyway (never silently dropped) and recorded in
  audit_problems ("hash", "gap", "link" or "order"); the head does not move, so
  the workstation keeps it in its outbox and a supervisor sees the problem.
  A "gap" problem is resolved once the missing events arrive and link.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy.engine import Connection

from app.core.audit_chain import GENESIS_HASH, event_hash, seal_event, verify_chain
from app.core.canonical import canonical_json, parse_utc, utc_iso
from app.core.schemas import AuditAck, AuditEventIn
from hub.core.db import AUDIT_LOCK
from hub.db.tables import audit_events, audit_problems, chain_heads, devices
from hub.merkle_log import (
    CHECKPOINTS_FILE_NAME,
    CheckpointLine,
    CheckpointReport,
    read_checkpoints,
    stored_public_key,
    verify_checkpoints,
)

log = logging.getLogger(__name__)

HUB_DEVICE_ID = "hub"
LATE_AFTER = timedelta(hours=1)
REFUSED_ACTION = "audit.refused"
DEVICE_REGISTER_ACTION = "device.register"  # hub.accounts.register_device


class _ReadParams(BaseModel):
    """The parameters the hub reads from a workstation event: strict types, others free."""

    model_config = ConfigDict(extra="allow", strict=True)


class OutcomeParams(_ReadParams):
    """`search.outcome` (app.workstation.record_outcome), counted by hub.transparency."""

    outcome: str
    purpose: str | None = None
    note: str | None = None


class SearchParams(_ReadParams):
    """`search` (app.workstation._journal_search), read by hub.flags.workstation_record."""

    case_number: str | None = None
    purpose: str | None = None
    pattern: str | None = None
    plate_pattern: str | None = None
    plate: str | None = None
    result_count: int | None = None
    time_from: str | None = None
    time_to: str | None = None
    camera_ids: list[str] | None = None
    places: list[list[str]] | None = None


class CaseRefs(_ReadParams):
    case_number: str | None = None


ACTION_PARAMS: dict[str, type[_ReadParams]] = {
    "search.outcome": OutcomeParams,
    "search": SearchParams,
}
ACTION_REFS: dict[str, type[_ReadParams]] = {"search": CaseRefs}


class RefusalKind(StrEnum):
    USERNAME = "username"  # the event is not the device owner's
    PARAMS = "params"  # a parameter the hub reads has the wrong type


@dataclass(frozen=True)
class BatchRefusal:
    """Why a batch was refused; `message` is for the workstation's user."""

    kind: RefusalKind
    seq: int
    event_id: str
    message: str


def _type_problem(event: Mapping[str, Any]) -> str | None:
    """What is wrong with the event's parameters where the hub reads them, or None."""
    checks = (
        ("params", ACTION_PARAMS.get(event["action"])),
        ("object_refs", ACTION_REFS.get(event["action"])),
    )
    for part, model in checks:
        if model is None:
            continue
        try:
            model.model_validate(event[part])
        except ValidationError as exc:
            error = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(item) for item in (part, *error["loc"]))
            return f"{where}: {error['msg']}"
    return None


def _refusal(event: Mapping[str, Any], *, owner: str) -> BatchRefusal | None:
    seq, action = int(event["seq"]), str(event["action"])
    if event["username"] != owner:
        return BatchRefusal(
            RefusalKind.USERNAME,
            seq,
            str(event["event_id"]),
            f"Audit event {seq} ({action}) names another user than this device's owner "
            f"({owner}); the hub files a device's events under its owner only. No event of "
            "this batch was stored; tell your administrator.",
        )
    problem = _type_problem(event)
    if problem is not None:
        return BatchRefusal(
            RefusalKind.PARAMS,
            seq,
            str(event["event_id"]),
            f"Audit event {seq} ({action}) has a parameter of the wrong type ({problem}). "
            "No event of this batch was stored; tell your administrator (this "
            "workstation may need an update).",
        )
    return None


def _record_refusal(
    connection: Connection,
    device_id: str,
    event: Mapping[str, Any],
    refusal: BatchRefusal,
    *,
    owner: str,
    now: datetime,
) -> None:
    """The refusal as a hub event: who posted, from which device, which event, and why.

    Once per event: the workstation resends the batch at each upload and is refused
    the same way, which the first record already tells.
    """
    refs = {"device_id": device_id, "event_id": refusal.event_id}
    already = connection.execute(
        sa.select(audit_events.c.row_id)
        .where(
            audit_events.c.action == REFUSED_ACTION,
            audit_events.c.device_id == HUB_DEVICE_ID,
            audit_events.c.object_refs == canonical_json(refs).decode(),
        )
        .limit(1)
    ).first()
    if already is not None:
        return
    record_hub_event(
        connection,
        action=REFUSED_ACTION,
        now=now,
        username=owner,
        object_refs=refs,
        params={
            "seq": refusal.seq,
            "reason": refusal.kind.value,
            "event_action": str(event["action"]),
            "event_username": str(event["username"]),
        },
        outcome="refused",
    )
    log.warning(
        "audit batch refused: device %s event %d (%s)", device_id, refusal.seq, refusal.kind
    )


def lock_audit_log(connection: Connection) -> None:
    """On PostgreSQL, serialize writers so row ids commit in order (the Merkle tree's order).

    A transaction-scoped advisory lock, taken by every writer of audit_events (here and
    ingest_batch) before it draws a row id and held until its commit; readers never wait.
    Not LOCK TABLE: its EXCLUSIVE mode needs the UPDATE, DELETE or TRUNCATE privilege,
    which the hub's database role does not have on the audit table (docs/deploy.md).
    SQLite has one writer at a time already.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK})


def _lock_head(connection: Connection, device_id: str) -> tuple[int, str]:
    """The device's chain head, locked until the transaction ends (created at 0)."""
    query = sa.select(chain_heads.c.last_seq, chain_heads.c.last_hash).where(
        chain_heads.c.device_id == device_id
    )
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    row = connection.execute(query).first()
    if row is None:
        connection.execute(
            chain_heads.insert().values(device_id=device_id, last_seq=0, last_hash=GENESIS_HASH)
        )
        if connection.dialect.name == "postgresql":
            row = connection.execute(query).first()
        if row is None:
            return 0, GENESIS_HASH
    return int(row.last_seq), str(row.last_hash)


def _set_head(connection: Connection, device_id: str, seq: int, hash_: str) -> None:
    connection.execute(
        chain_heads.update()
        .where(chain_heads.c.device_id == device_id)
        .values(last_seq=seq, last_hash=hash_)
    )


def _row(event: Mapping[str, Any], *, received_at: datetime) -> dict[str, Any]:
    late = False
    try:
        late = received_at - parse_utc(str(event["occurred_at"])) > LATE_AFTER
    except ValueError:
        late = False
    return {
        "event_id": event["event_id"],
        "device_id": event["device_id"],
        "username": event["username"],
        "session_id": event["session_id"],
        "seq": event["seq"],
        "occurred_at": event["occurred_at"],
        "action": event["action"],
        "object_refs": canonical_json(event["object_refs"]).decode(),
        "params": canonical_json(event["params"]).decode(),
        "outcome": event["outcome"],
        "prev_hash": event["prev_hash"],
        "hash": event["hash"],
        "received_at": received_at,
        "late": late,
    }


def _store(connection: Connection, event: Mapping[str, Any], *, received_at: datetime) -> None:
    connection.execute(audit_events.insert(), [_row(event, received_at=received_at)])


def record_hub_event(
    connection: Connection,
    *,
    action: str,
    now: datetime,
    username: str = "",
    session_id: str = "",
    object_refs: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    outcome: str = "ok",
) -> dict[str, Any]:
    """Append one of the hub's own events to its chain, in the caller's transaction.

    Never pass passwords, codes or tokens in `params`.
    """
    lock_audit_log(connection)
    last_seq, last_hash = _lock_head(connection, HUB_DEVICE_ID)
    event = seal_event(
        {
            "event_id": uuid.uuid4().hex,
            "device_id": HUB_DEVICE_ID,
            "username": username,
            "session_id": session_id,
            "seq": last_seq + 1,
            "occurred_at": utc_iso(now),
            "action": action,
            "object_refs": dict(object_refs or {}),
            "params": dict(params or {}),
            "outcome": outcome,
            "prev_hash": last_hash,
        }
    )
    _store(connection, event, received_at=now)
    _set_head(connection, HUB_DEVICE_ID, event["seq"], event["hash"])
    return event


def _problem(
    connection: Connection, event: Mapping[str, Any], kind: str, detail: str, now: datetime
) -> str:
    connection.execute(
        audit_problems.insert().values(
            device_id=event["device_id"],
            seq=event["seq"],
            event_id=event["event_id"],
            kind=kind,
            detail=detail,
            detected_at=now,
        )
    )
    text = f"device {event['device_id']} event {event['seq']}: {detail}"
    log.warning("audit chain problem recorded: kind=%s seq=%s", kind, event["seq"])
    return text


def _row_event(row: Any) -> dict[str, Any]:
    return {
        "event_id": row.event_id,
        "device_id": row.device_id,
        "username": row.username,
        "session_id": row.session_id,
        "seq": int(row.seq),
        "occurred_at": row.occurred_at,
        "action": row.action,
        "object_refs": json.loads(row.object_refs),
        "params": json.loads(row.params),
        "outcome": row.outcome,
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }


def _adopt_waiting(
    connection: Connection, device_id: str, seq: int, hash_: str, now: datetime
) -> tuple[int, str]:
    """Extend the head over stored events that were waiting behind a gap."""
    while True:
        rows = connection.execute(
            sa.select(audit_events)
            .where(audit_events.c.device_id == device_id, audit_events.c.seq == seq + 1)
            .order_by(audit_events.c.row_id)
        ).all()
        nxt = next(
            (
                ev
                for ev in map(_row_event, rows)
                if ev["prev_hash"] == hash_ and event_hash(ev) == ev["hash"]
            ),
            None,
        )
        if nxt is None:
            return seq, hash_
        connection.execute(
            audit_problems.update()
            .where(
                audit_problems.c.device_id == device_id,
                audit_problems.c.event_id == nxt["event_id"],
                audit_problems.c.kind == "gap",
                audit_problems.c.resolved_at.is_(None),
            )
            .values(resolved_at=now)
        )
        seq, hash_ = nxt["seq"], nxt["hash"]


_ID_CHUNK = 500


def _stored_hashes(connection: Connection, event_ids: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for start in range(0, len(event_ids), _ID_CHUNK):
        chunk = event_ids[start : start + _ID_CHUNK]
        rows = connection.execute(
            sa.select(audit_events.c.event_id, audit_events.c.hash).where(
                audit_events.c.event_id.in_(chunk)
            )
        )
        found.update((str(event_id), str(hash_)) for event_id, hash_ in rows)
    return found


StoredHook = Callable[[Connection, list[dict[str, Any]]], object]


def ingest_batch(
    connection: Connection,
    device_id: str,
    events: Sequence[AuditEventIn],
    *,
    owner: str,
    now: datetime,
    on_stored: StoredHook | None = None,
) -> AuditAck | BatchRefusal:
    """Store a workstation's batch (see the module docstring for the rules).

    `owner` is the username of the device's owner. A refused batch stores nothing
    but the hub's `audit.refused` event: commit, then answer the refusal.

    One query finds the events held already and the new rows go in one statement;
    stored events waiting behind a gap are looked for only when some may exist
    (an earlier event of the device beyond the head, or one stored in this batch
    without moving the head). `on_stored` gets the newly stored events, in the
    same transaction (hub.flags flags the mirrored searches among them).
    """
    lock_audit_log(connection)
    last_seq, last_hash = _lock_head(connection, device_id)
    accepted = duplicates = 0
    problems: list[str] = []
    ordered = [incoming.model_dump() for incoming in sorted(events, key=lambda item: item.seq)]
    known = _stored_hashes(connection, [event["event_id"] for event in ordered])
    for event in ordered:
        if event["event_id"] in known:
            continue
        refusal = _refusal(event, owner=owner)
        if refusal is not None:
            _record_refusal(connection, device_id, event, refusal, owner=owner, now=now)
            return refusal
    waiting = (
        connection.execute(
            sa.select(audit_events.c.row_id)
            .where(audit_events.c.device_id == device_id, audit_events.c.seq > last_seq)
            .limit(1)
        ).first()
        is not None
    )
    rows: list[dict[str, Any]] = []
    stored: list[dict[str, Any]] = []

    def flush() -> None:
        if rows:
            connection.execute(audit_events.insert(), rows)
            rows.clear()

    for event in ordered:
        stored_hash = known.get(event["event_id"])
        if stored_hash is not None:
            if stored_hash == event["hash"]:
                duplicates += 1
            else:
                problems.append(
                    _problem(connection, event, "conflict", "resent with different contents", now)
                )
            continue
        hash_ok = event_hash(event) == event["hash"]
        links = event["seq"] == last_seq + 1 and event["prev_hash"] == last_hash
        rows.append(_row(event, received_at=now))
        stored.append(event)
        known[event["event_id"]] = event["hash"]
        accepted += 1
        if hash_ok and links:
            last_seq, last_hash = event["seq"], event["hash"]
            if waiting:
                flush()
                last_seq, last_hash = _adopt_waiting(
                    connection, device_id, last_seq, last_hash, now
                )
            continue
        waiting = True
        if not hash_ok:
            kind, detail = "hash", "its contents do not match its hash"
        elif event["seq"] > last_seq + 1:
            kind, detail = "gap", f"expected event {last_seq + 1}, found {event['seq']}"
        elif event["seq"] <= last_seq:
            kind, detail = "order", f"event {event['seq']} repeats an acknowledged position"
        else:
            kind, detail = "link", "does not link to the event before it"
        problems.append(_problem(connection, event, kind, detail, now))
    flush()
    _set_head(connection, device_id, last_seq, last_hash)
    if on_stored is not None and stored:
        on_stored(connection, stored)
    return AuditAck(acked_seq=last_seq, accepted=accepted, duplicates=duplicates, problems=problems)


@dataclass
class VerifyReport:
    events: int = 0
    devices: int = 0  # devices whose events the log holds (the hub among them)
    registered_devices: int = 0
    idle_devices: list[str] = field(default_factory=list)  # registered, nothing delivered yet
    problems: list[str] = field(default_factory=list)
    tree_size: int = 0  # the audit log's Merkle tree (hub.merkle_log)
    root_hash: str = ""
    checkpoints: CheckpointReport = field(default_factory=CheckpointReport)

    @property
    def chains_ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        latest = self.checkpoints.latest
        return {
            "events": self.events,
            "devices": self.devices,
            "registered_devices": self.registered_devices,
            "idle_devices": self.idle_devices,
            "chains_ok": self.chains_ok,
            "problems": self.problems,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "checkpoints": {
                "checked": self.checkpoints.checked,
                "latest_tree_size": latest.tree_size if latest else None,
                "latest_signed_at": latest.signed_at if latest else None,
                "events_after_latest": self.tree_size - latest.tree_size if latest else None,
            },
        }


def _linked_end(events: Sequence[Mapping[str, Any]]) -> tuple[int, str]:
    """How far an unbroken, correctly hashed chain reaches from the genesis: (seq, hash)."""
    by_seq: dict[int, list[Mapping[str, Any]]] = {}
    for event in events:
        by_seq.setdefault(int(event["seq"]), []).append(event)
    seq, hash_ = 0, GENESIS_HASH
    while True:
        nxt = next(
            (
                ev
                for ev in by_seq.get(seq + 1, ())
                if ev["prev_hash"] == hash_ and event_hash(ev) == ev["hash"]
            ),
            None,
        )
        if nxt is None:
            return seq, hash_
        seq, hash_ = seq + 1, str(nxt["hash"])


def _head_problems(
    device_id: str,
    events: Sequence[Mapping[str, Any]],
    head: tuple[int, str] | None,
    *,
    chain_ok: bool,
) -> list[str]:
    """The device's acknowledged head (chain_heads) against its stored chain (`chain_ok`:
    verify_chain found nothing, so the chain reaches its last event)."""
    name = f"device {device_id}"
    if head is None:
        return [f"{name}: the hub holds no acknowledged head for it (its chain_heads row is gone)"]
    seq, hash_ = head
    if not chain_ok:
        linked_seq, linked_hash = _linked_end(events)
    elif events:
        linked_seq, linked_hash = int(events[-1]["seq"]), str(events[-1]["hash"])
    else:
        linked_seq, linked_hash = 0, GENESIS_HASH
    if (linked_seq, linked_hash) == (seq, hash_):
        return []
    if seq > 0 and not any(int(e["seq"]) == seq and e["hash"] == hash_ for e in events):
        return [f"{name}: event {seq}, which the hub acknowledged, is not in the log"]
    if linked_seq > seq:
        return [
            f"{name}: events {seq + 1} to {linked_seq} link to its acknowledged head (event "
            f"{seq}) but are not acknowledged: the head was moved back"
        ]
    return [f"{name}: its chain breaks after event {linked_seq}, before the acknowledged {seq}"]


def _registered_in_log(connection: Connection) -> set[str]:
    """The devices whose registration the hub's own chain records (`device.register`)."""
    found: set[str] = set()
    for refs in connection.execute(
        sa.select(audit_events.c.object_refs).where(
            audit_events.c.device_id == HUB_DEVICE_ID,
            audit_events.c.action == DEVICE_REGISTER_ACTION,
        )
    ).scalars():
        try:
            device_id = json.loads(refs).get("device_id")
        except (ValueError, AttributeError, RecursionError):
            continue
        if isinstance(device_id, str):
            found.add(device_id)
    return found


def verify_all(
    connection: Connection,
    *,
    checkpoints: Sequence[CheckpointLine] = (),
    public_key: str | None = None,
) -> VerifyReport:
    """Re-verify the log: every device's chain from the genesis; each chain against its
    acknowledged head and the registered devices; open recorded problems; and the log
    against every signed checkpoint given (hub.merkle_log.verify_checkpoints, by the
    hub's `public_key` when given). Against a live hub, give it one snapshot (on
    PostgreSQL a REPEATABLE READ transaction, as audit-verify does): heads read
    before a batch and events after it would look like a head moved back."""
    report = VerifyReport()
    event_devices = set(
        connection.execute(sa.select(audit_events.c.device_id).distinct()).scalars()
    )
    heads = {
        str(row.device_id): (int(row.last_seq), str(row.last_hash))
        for row in connection.execute(sa.select(chain_heads))
    }
    registered = {
        str(device_id) for device_id in connection.execute(sa.select(devices.c.device_id)).scalars()
    }
    in_log = _registered_in_log(connection)
    report.devices = len(event_devices)
    report.registered_devices = len(registered)
    for device_id in sorted(event_devices | set(heads) | registered | in_log):
        rows = connection.execute(
            sa.select(audit_events)
            .where(audit_events.c.device_id == device_id)
            .order_by(audit_events.c.seq, audit_events.c.row_id)
        ).all()
        events = [_row_event(row) for row in rows]
        report.events += len(events)
        broken = [str(problem) for problem in verify_chain(events)]
        report.problems.extend(broken)
        report.problems.extend(
            _head_problems(device_id, events, heads.get(device_id), chain_ok=not broken)
        )
        if device_id != HUB_DEVICE_ID and device_id not in registered:
            report.problems.append(
                f"device {device_id}: the log holds its events or registration, but it is not "
                "among the registered devices"
            )
        elif device_id in registered and not events:
            report.idle_devices.append(device_id)
        if device_id in registered and device_id not in in_log:
            report.problems.append(
                f"device {device_id}: registered, but the hub's log does not record its "
                "registration"
            )
    recorded = connection.execute(
        sa.select(audit_problems)
        .where(audit_problems.c.resolved_at.is_(None))
        .order_by(audit_problems.c.problem_id)
    ).all()
    report.problems.extend(
        f"recorded {row.kind} at {utc_iso(row.detected_at)}: device {row.device_id} "
        f"event {row.seq}: {row.detail}"
        for row in recorded
    )
    report.checkpoints = verify_checkpoints(connection, checkpoints, public_key=public_key)
    report.tree_size = report.checkpoints.tree_size
    report.root_hash = report.checkpoints.root_hash
    report.problems.extend(report.checkpoints.problems)
    return report


def verify_hub(
    connection: Connection, *, data_dir: Path, external: Sequence[Path] = ()
) -> VerifyReport:
    """verify_all against every checkpoint the hub published (its data folder's file,
    checked by its key) and those kept elsewhere (`external`: JSON-lines files)."""
    lines, damaged = read_checkpoints(data_dir / CHECKPOINTS_FILE_NAME, missing_ok=True)
    for path in external:
        found, problems = read_checkpoints(path, missing_ok=False)
        lines += found
        damaged += problems
    public_key = stored_public_key(data_dir)
    if public_key is None and lines:
        damaged.append(
            "the hub's checkpoint key is missing from its data folder: the checkpoints "
            "cannot be tied to this hub"
        )
    report = verify_all(connection, checkpoints=lines, public_key=public_key)
    report.problems.extend(damaged)
    return report
