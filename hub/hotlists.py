"""Hotlists: plates of interest for a case, and matching ingested reads against them.

Who may do what: administrators and supervisors add, import, list and remove
entries; nobody else manages hotlists. Every change is one audit event of the
hub's chain (`hotlist.add`, `hotlist.import`, `hotlist.remove`), and every batch
of hits one `hotlist.hit` event (ids only, no plates).

Matching (exact, and fuzzy for misreads, app.core.plates): an entry is indexed by
its folded plate (confusable characters folded) and, in hotlist_keys, by its folded
plate with one character left out. A read whose folded plate F equals an entry's
folded plate, or one of its keys, or whose F with one character left out equals an
entry's folded plate, is a candidate; app.core.plates.fuzzy_matches, the reference,
confirms it. So a batch of reads costs one indexed query however long the list is.
Only active entries (not removed, expires_at after now) are matched: an expired
entry never alerts.

Oversight: an entry tracks a vehicle for as long as it lives, so it passes the
flag rules a search passes (hub.flags, app.core.flag_rules: its reason and source
as the justification's wording, whether its author is assigned to its case, the
plate as the pattern, volume, off hours, the random sample); a hit files a review
item for the supervisors of the author's unit. Its alerts go only to the users
assigned to its case (hub.alerts.recipient_condition).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import Connection

from app.core.errors import KnownError
from app.core.flag_rules import FlagPolicy
from app.core.plates import (
    MAX_PLATE_LENGTH,
    PatternKind,
    PlatePattern,
    fold_plate,
    fuzzy_matches,
    normalize_plate,
)
from app.core.purposes import validate_case_number
from app.core.schemas import HotlistEntryCreate, HotlistEntryPublic, HotlistImportPublic, Role
from hub.audit import record_hub_event
from hub.db.lists import among, by_dialect
from hub.db.tables import alerts, cases, hotlist_entries, hotlist_keys
from hub.db.types import UTCDateTime, to_ms
from hub.errors import HubError, forbidden, not_found
from hub.flags import SOURCE_HOTLIST, SearchRecord, flag_search
from hub.notify import ALERTS, notify
from hub.slices import Caller

MANAGERS = frozenset({Role.ADMIN, Role.SUPERVISOR})
MANAGERS_ONLY = "Only an administrator or a supervisor may manage hotlists."
EXACT = "exact"
FUZZY = "fuzzy"
MIN_PLATE_LENGTH = 2
MIN_FUZZY_LENGTH = 4  # shorter plates would fuzzily match too many reads to be useful
CSV_COLUMNS = ("plate", "state", "reason", "source", "case_number", "expires_at")
CSV_OPTIONAL = ("unit",)
MAX_IMPORT_ERRORS_SHOWN = 20
_IN_CHUNK = 500
ANALYZE_AFTER = 100  # entries added at once
MATCH_CHUNK = 500  # reads matched per query, far below the parameter limits


def require_manager(caller: Caller) -> None:
    if caller.role not in MANAGERS:
        raise forbidden(MANAGERS_ONLY)


def deletion_keys(folded: str) -> set[str]:
    """The folded plate with one character left out (none for a one-character plate)."""
    if len(folded) < 2:
        return set()
    return {folded[:i] + folded[i + 1 :] for i in range(len(folded))}


def entry_public(row: Any, *, now: datetime) -> HotlistEntryPublic:
    return HotlistEntryPublic(
        entry_id=row.entry_id,
        plate=row.plate,
        state=row.state,
        reason=row.reason,
        source=row.source,
        case_number=row.case_number,
        unit=row.unit,
        expires_at=row.expires_at,
        created_by=row.created_by,
        created_at=row.created_at,
        removed_by=row.removed_by,
        removed_at=row.removed_at,
        active=row.removed_at is None and row.expires_at > now,
    )


class _Cases:
    """Case numbers checked once per request: format (the agency's pattern), then existence."""

    def __init__(self, connection: Connection, pattern: str) -> None:
        self._connection = connection
        self._pattern = pattern
        self._known: set[str] = set()

    def check(self, case_number: str) -> str:
        try:
            number = validate_case_number(case_number, self._pattern)
        except KnownError as exc:
            raise HubError(422, str(exc)) from None
        if number in self._known:
            return number
        found = self._connection.execute(
            sa.select(cases.c.case_number).where(cases.c.case_number == number)
        ).first()
        if found is None:
            raise not_found(f"No case {number} is on record at this hub; check the case number.")
        self._known.add(number)
        return number


def _entry_values(
    request: HotlistEntryCreate, caller: Caller, *, now: datetime, case_check: _Cases
) -> dict[str, Any]:
    """The row for one entry; HubError (422, or 404 for an unknown case) naming the problem."""
    plate = normalize_plate(request.plate)
    if len(plate) < MIN_PLATE_LENGTH:
        raise HubError(422, f"plate needs at least {MIN_PLATE_LENGTH} letters or digits.")
    if len(plate) > MAX_PLATE_LENGTH:
        raise HubError(422, f"plate has more than {MAX_PLATE_LENGTH} letters and digits.")
    state = (request.state or "").strip().upper() or None
    if state is not None and not (state.isascii() and state.isalpha()):
        raise HubError(422, f"state '{state}' is not a state code; give letters, e.g. WY.")
    expires_at = to_ms(request.expires_at)
    if expires_at <= now:
        raise HubError(422, "expires_at is not in the future; an expired entry would never alert.")
    reason = " ".join(request.reason.split())
    source = " ".join(request.source.split())
    if not reason or not source:
        raise HubError(422, "reason and source must not be blank.")
    unit = (request.unit or "").strip() or None
    return {
        "entry_id": uuid.uuid4().hex,
        "plate": plate,
        "folded": fold_plate(plate),
        "state": state,
        "reason": reason,
        "source": source,
        "case_number": case_check.check(request.case_number),
        "unit": unit,
        "expires_at": expires_at,
        "created_by": caller.username,
        "created_at": now,
        "removed_by": None,
        "removed_at": None,
    }


def _insert_entries(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    connection.execute(hotlist_entries.insert(), list(rows))
    keys = [
        {"key": key, "entry_id": row["entry_id"]}
        for row in rows
        for key in sorted(deletion_keys(row["folded"]))
    ]
    for start in range(0, len(keys), 5000):
        connection.execute(hotlist_keys.insert(), keys[start : start + 5000])
    if len(rows) >= ANALYZE_AFTER and connection.dialect.name == "postgresql":
        # Fresh statistics, or the planner scans the whole list for every read until
        # autovacuum gets to it (measured: 30 ms instead of 1 ms per read at 10,000).
        connection.exec_driver_sql("ANALYZE hotlist_entries")
        connection.exec_driver_sql("ANALYZE hotlist_keys")


def add_entry(
    connection: Connection,
    caller: Caller,
    request: HotlistEntryCreate,
    *,
    now: datetime,
    case_number_pattern: str,
    policy: FlagPolicy | None = None,
) -> HotlistEntryPublic:
    """Add one entry (audited `hotlist.add`) and pass it through the flag rules."""
    require_manager(caller)
    row = _entry_values(
        request, caller, now=now, case_check=_Cases(connection, case_number_pattern)
    )
    _insert_entries(connection, [row])
    event = record_hub_event(
        connection,
        action="hotlist.add",
        now=now,
        username=caller.username,
        session_id=caller.session_id,
        object_refs={"entry_id": row["entry_id"], "case_number": row["case_number"]},
        params={
            "source": row["source"],
            "reason": row["reason"],
            "state": row["state"],
            "unit": row["unit"],
            "expires_at": row["expires_at"].isoformat(),
        },
    )
    _flag_entries(connection, caller, [row], event_id=event["event_id"], policy=policy, now=now)
    return entry_public(SimpleNamespace(**row), now=now)


def _flag_entries(
    connection: Connection,
    caller: Caller,
    rows: Sequence[Mapping[str, Any]],
    *,
    event_id: str,
    policy: FlagPolicy | None,
    now: datetime,
) -> None:
    """Check new entries against the flag rules, one record per case among them.

    The reasons and sources are what the wording rule reads (the justification of
    an entry); the shortest plate is the pattern (exact, so "overbroad" means a
    plate of fewer known characters than the policy asks); the window is open
    (an entry tracks until it expires). A flag never refuses the entry.
    """
    by_case: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_case.setdefault(row["case_number"], []).append(row)
    for case_number, entries in by_case.items():
        wording = list(
            dict.fromkeys(f"{row['reason']} (source: {row['source']})" for row in entries)
        )
        params: dict[str, Any] = {
            "entry_ids": [row["entry_id"] for row in entries],
            "plates": [row["plate"] for row in entries],
            "reasons": wording,
            "expires_at": max(row["expires_at"] for row in entries).isoformat(),
        }
        flag_search(
            connection,
            SearchRecord(
                source=SOURCE_HOTLIST,
                username=caller.username,
                case_number=case_number,
                purpose="hotlist",
                params=params,
                result_count=None,
                occurred_at=now,
                pattern=min((row["plate"] for row in entries), key=len),
                time_from=None,
                time_to=None,
                camera_ids=None,
                justification="; ".join(wording),
                check_justification=True,
                case_assigned=None,  # looked up: the author's assignment to the case
                key=f"{event_id}:{case_number}",
                event_id=event_id,
            ),
            policy=policy or FlagPolicy(),
            now=now,
        )


def parse_csv(text: str) -> tuple[list[tuple[int, dict[str, Any]]], list[str]]:
    """The CSV's rows as (line number, fields) and the problems found in its header."""
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    if not header:
        return [], ["line 1: the file is empty; the first line must name the columns."]
    missing = [name for name in CSV_COLUMNS if name not in header]
    unknown = [name for name in header if name not in CSV_COLUMNS + CSV_OPTIONAL]
    problems = []
    if missing:
        problems.append(f"line 1: the header lacks the column(s) {', '.join(missing)}.")
    if unknown:
        problems.append(f"line 1: unknown column(s) {', '.join(unknown)}.")
    if problems:
        problems[-1] += f" Expected: {', '.join(CSV_COLUMNS + CSV_OPTIONAL)} (unit optional)."
        return [], problems
    reader.fieldnames = header
    rows: list[tuple[int, dict[str, Any]]] = []
    for raw in reader:
        line = reader.line_num
        extra = raw.pop(None, None)
        fields: dict[str, Any] = {key: (value or "").strip() for key, value in raw.items()}
        if extra:
            fields["__extra__"] = True
        if not any(fields.values()):
            continue  # a blank line
        rows.append((line, fields))
    return rows, []


def _validation_reason(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "the line"
    return f"{where}: {first['msg']}"


def import_csv(
    connection: Connection,
    caller: Caller,
    text: str,
    *,
    now: datetime,
    case_number_pattern: str,
    origin: str = "api",
    policy: FlagPolicy | None = None,
) -> HotlistImportPublic:
    """Import every line of a hotlist CSV, or none: 422 naming each bad line and its problem."""
    require_manager(caller)
    parsed, problems = parse_csv(text)
    case_check = _Cases(connection, case_number_pattern)
    values: list[dict[str, Any]] = []
    for line, fields in parsed:
        if fields.pop("__extra__", False):
            problems.append(f"line {line}: more values than the header has columns.")
            continue
        try:
            request = HotlistEntryCreate.model_validate(
                {
                    **fields,
                    "state": fields.get("state") or None,
                    "unit": fields.get("unit") or None,
                }
            )
            values.append(_entry_values(request, caller, now=now, case_check=case_check))
        except ValidationError as exc:
            problems.append(f"line {line}: {_validation_reason(exc)}.")
        except HubError as exc:
            problems.append(f"line {line}: {exc.message}")
    if not problems and not values:
        problems.append("the file holds no entries (only a header).")
    if problems:
        shown = problems[:MAX_IMPORT_ERRORS_SHOWN]
        more = len(problems) - len(shown)
        tail = f" ...and {more} more problem(s)." if more else ""
        raise HubError(
            422,
            f"Nothing was imported; fix these and import the file again: {' '.join(shown)}{tail}",
        )
    _insert_entries(connection, values)
    entry_ids = [row["entry_id"] for row in values]
    event = record_hub_event(
        connection,
        action="hotlist.import",
        now=now,
        username=caller.username,
        session_id=caller.session_id,
        object_refs={
            "entry_ids": entry_ids,
            "case_numbers": sorted({row["case_number"] for row in values}),
        },
        params={"count": len(values), "origin": origin},
    )
    _flag_entries(connection, caller, values, event_id=event["event_id"], policy=policy, now=now)
    return HotlistImportPublic(imported=len(values), entry_ids=entry_ids)


def list_entries(
    connection: Connection,
    caller: Caller,
    *,
    now: datetime,
    case_number: str | None = None,
    include_inactive: bool = False,
    case_number_pattern: str,
) -> list[HotlistEntryPublic]:
    require_manager(caller)
    query = sa.select(hotlist_entries).order_by(
        hotlist_entries.c.created_at, hotlist_entries.c.entry_id
    )
    if case_number is not None:
        number = _Cases(connection, case_number_pattern).check(case_number)
        query = query.where(hotlist_entries.c.case_number == number)
    if not include_inactive:
        query = query.where(
            hotlist_entries.c.removed_at.is_(None), hotlist_entries.c.expires_at > now
        )
    return [entry_public(row, now=now) for row in connection.execute(query)]


def remove_entry(
    connection: Connection, caller: Caller, *, entry_id: str, now: datetime
) -> HotlistEntryPublic:
    """Take an entry off the hotlist now (kept as the record of its alerts)."""
    require_manager(caller)
    query = sa.select(hotlist_entries).where(hotlist_entries.c.entry_id == entry_id)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    row = connection.execute(query).first()
    if row is None:
        raise not_found("No such hotlist entry; check the entry id.")
    if row.removed_at is not None:
        raise HubError(409, f"This entry was already removed by {row.removed_by}.")
    connection.execute(
        hotlist_entries.update()
        .where(hotlist_entries.c.entry_id == entry_id)
        .values(removed_by=caller.username, removed_at=now)
    )
    record_hub_event(
        connection,
        action="hotlist.remove",
        now=now,
        username=caller.username,
        session_id=caller.session_id,
        object_refs={"entry_id": entry_id, "case_number": row.case_number},
        params={"was_expired": row.expires_at <= now},
    )
    found = connection.execute(
        sa.select(hotlist_entries).where(hotlist_entries.c.entry_id == entry_id)
    ).one()
    return entry_public(found, now=now)


# --- Matching, inside the ingest transaction -------------------------------------------


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    ordered = sorted(values)
    for start in range(0, len(ordered), _IN_CHUNK):
        yield ordered[start : start + _IN_CHUNK]


def _candidates_statement(dialect: str) -> Any:
    """Active entries whose folded plate is in :folded, or one of whose keys is in :keys."""
    active = sa.and_(
        hotlist_entries.c.removed_at.is_(None),
        hotlist_entries.c.expires_at > sa.bindparam("now", type_=UTCDateTime()),
    )
    columns = (
        hotlist_entries.c.entry_id,
        hotlist_entries.c.plate,
        hotlist_entries.c.folded,
        hotlist_entries.c.case_number,
        hotlist_entries.c.unit,
    )
    by_folded = sa.select(*columns, sa.literal("").label("key")).where(
        among(hotlist_entries.c.folded, "folded", dialect), active
    )
    by_key = (
        sa.select(*columns, hotlist_keys.c.key)
        .join(hotlist_keys, hotlist_keys.c.entry_id == hotlist_entries.c.entry_id)
        .where(among(hotlist_keys.c.key, "keys", dialect), active)
    )
    return sa.union_all(by_folded, by_key)


# Built once per dialect: per read, matching costs one cached statement and one round trip.
_CANDIDATES = by_dialect(_candidates_statement)


def _candidates(
    connection: Connection, folds: set[str], *, now: datetime
) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """Active entries by folded plate and by deletion key, for reads folded to `folds`.

    At most MATCH_CHUNK reads come at once, so the lists stay far below the
    databases' parameter limits (a 10-character plate gives 11 values).
    """
    wanted = set(folds)
    for folded in folds:
        wanted |= deletion_keys(folded)
    by_folded: dict[str, list[Any]] = {}
    by_key: dict[str, list[Any]] = {}
    parameters = {"folded": sorted(wanted), "keys": sorted(folds), "now": now}
    for row in connection.execute(_CANDIDATES[connection.dialect.name], parameters):
        if row.key:
            by_key.setdefault(row.key, []).append(row)
        else:
            by_folded.setdefault(row.folded, []).append(row)
    return by_folded, by_key


def match_reads(
    connection: Connection, rows: Sequence[Mapping[str, Any]], *, now: datetime
) -> list[dict[str, Any]]:
    """Alert rows for the hits of newly stored reads (read_id, plate) on active entries."""
    if len(rows) > MATCH_CHUNK:
        return [
            hit
            for start in range(0, len(rows), MATCH_CHUNK)
            for hit in match_reads(connection, rows[start : start + MATCH_CHUNK], now=now)
        ]
    if not rows:
        return []
    folds = {row["plate"]: fold_plate(row["plate"]) for row in rows}
    by_folded, by_key = _candidates(connection, set(folds.values()), now=now)
    if not by_folded and not by_key:
        return []
    hits: list[dict[str, Any]] = []
    for row in rows:
        plate = row["plate"]
        folded = folds[plate]
        found: dict[str, Any] = {}
        for entry in by_folded.get(folded, ()):
            found[entry.entry_id] = entry
        for entry in by_key.get(folded, ()):
            found[entry.entry_id] = entry
        for key in deletion_keys(folded):
            for entry in by_folded.get(key, ()):
                found[entry.entry_id] = entry
        for entry in found.values():
            if entry.plate == plate:
                match = EXACT
            elif len(entry.plate) >= MIN_FUZZY_LENGTH and fuzzy_matches(
                PlatePattern(text=entry.plate, kind=PatternKind.EXACT), plate
            ):
                match = FUZZY
            else:
                continue
            hits.append(
                {
                    "entry_id": entry.entry_id,
                    "read_id": row["read_id"],
                    "case_number": entry.case_number,
                    "unit": entry.unit,
                    "match": match,
                    "created_at": now,
                }
            )
    return hits


def record_hits(connection: Connection, rows: Sequence[Mapping[str, Any]], *, now: datetime) -> int:
    """Match newly stored reads and store their alerts (audited); the number of alerts.

    Call it in the transaction that stored the reads, after insert_reads: that
    transaction holds the change log's lock, so alert ids commit in increasing order
    and a client's `after` cursor never passes over an alert that commits later.
    """
    hits = match_reads(connection, rows, now=now)
    if not hits:
        return 0
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("LOCK TABLE alerts IN EXCLUSIVE MODE")
    connection.execute(alerts.insert(), hits)
    notify(connection, ALERTS)  # every node's alert streams look at once (hub.notify)
    read_ids = sorted({hit["read_id"] for hit in hits})
    alert_ids = sorted(
        int(alert_id)
        for chunk in _chunks(read_ids)
        for alert_id in connection.execute(
            sa.select(alerts.c.alert_id).where(alerts.c.read_id.in_(chunk))
        ).scalars()
    )
    record_hub_event(
        connection,
        action="hotlist.hit",
        now=now,
        object_refs={
            "alert_ids": alert_ids,
            "entry_ids": sorted({hit["entry_id"] for hit in hits}),
            "read_ids": read_ids,
        },
        params={
            "exact": sum(1 for hit in hits if hit["match"] == EXACT),
            "fuzzy": sum(1 for hit in hits if hit["match"] == FUZZY),
        },
    )
    return len(hits)
