"""Administration of the catalog: cameras moved or disabled, cases opened, closed,
assigned, and imported from an agency's records system (RMS) as CSV.

Every change is a hub audit event naming the administrator (`admin.camera_*`,
`admin.case_*`), in the caller's transaction; bad input is a HubError naming the
problem (404 for an unknown camera, case or user, 422 for a bad value).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.errors import KnownError
from app.core.purposes import validate_case_number
from app.core.schemas import CameraPublic, CasePublic
from hub.audit import record_hub_event
from hub.catalog import CASE_CLOSED, CASE_OPEN, create_case
from hub.db.tables import cameras, case_assignments, cases, users
from hub.errors import HubError

TITLE_MAX = 256
OFFENSE_MAX = 64
UNIT_MAX = 64
DIRECTION_MAX = 16
# An RMS export's columns (header names, case and spacing ignored); users are separated
# by ';' or '|' (a comma would split the CSV field in tools that do not quote).
CASE_CSV_COLUMNS = ("number", "title", "offense", "unit", "assigned")
CASE_CSV_ALIASES = {
    "case_number": "number",
    "case number": "number",
    "offense_category": "offense",
    "assigned_users": "assigned",
    "assigned users": "assigned",
}
MAX_IMPORT_PROBLEMS_SHOWN = 20


# cameras ------------------------------------------------------------------------------
def camera_row(connection: Connection, camera_id: str) -> Any:
    row = connection.execute(sa.select(cameras).where(cameras.c.camera_id == camera_id)).first()
    if row is None:
        raise HubError(404, f"No camera {camera_id} is registered at this hub; check its id.")
    return row


def camera_public(row: Any) -> CameraPublic:
    return CameraPublic(
        camera_id=row.camera_id,
        name=row.name,
        agency=row.agency,
        latitude=row.latitude,
        longitude=row.longitude,
        direction=row.direction,
        active=row.active,
    )


def check_location(latitude: float, longitude: float) -> None:
    if not -90 <= latitude <= 90:
        raise HubError(422, f"Latitude {latitude} is off the globe; give -90 to 90.")
    if not -180 <= longitude <= 180:
        raise HubError(422, f"Longitude {longitude} is off the globe; give -180 to 180.")


def _text(value: str, *, what: str, limit: int) -> str:
    text = " ".join(value.split())
    if not text:
        raise HubError(422, f"The {what} is empty; give one.")
    if len(text) > limit:
        raise HubError(422, f"The {what} is longer than {limit} characters; shorten it.")
    return text


def move_camera(
    connection: Connection,
    *,
    camera_id: str,
    latitude: float,
    longitude: float,
    direction: str | None = None,
    name: str | None = None,
    agency: str | None = None,
    by: str,
    session_id: str = "",
    now: datetime,
) -> CameraPublic:
    """Record a camera's new place (and facing, name or agency); its earlier reads keep
    the place they were captured at. Audited with the old and new values."""
    row = camera_row(connection, camera_id)
    check_location(latitude, longitude)
    values: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
    if direction is not None:
        values["direction"] = _text(direction, what="direction", limit=DIRECTION_MAX)
    if name is not None:
        values["name"] = _text(name, what="camera name", limit=128)
    if agency is not None:
        values["agency"] = _text(agency, what="agency", limit=128)
    old = {key: getattr(row, key) for key in values}
    connection.execute(cameras.update().where(cameras.c.camera_id == camera_id).values(**values))
    record_hub_event(
        connection,
        action="admin.camera_move",
        now=now,
        username=by,
        session_id=session_id,
        object_refs={"camera_id": camera_id},
        params={"old": old, "new": values},
    )
    return camera_public(camera_row(connection, camera_id))


def set_camera_active(
    connection: Connection,
    *,
    camera_id: str,
    active: bool,
    by: str,
    session_id: str = "",
    now: datetime,
) -> CameraPublic:
    """Disable a camera (its feed's new reads are refused; its stored reads stay) or
    enable it again. Audited."""
    row = camera_row(connection, camera_id)
    connection.execute(
        cameras.update().where(cameras.c.camera_id == camera_id).values(active=active)
    )
    record_hub_event(
        connection,
        action="admin.camera_disable" if not active else "admin.camera_enable",
        now=now,
        username=by,
        session_id=session_id,
        object_refs={"camera_id": camera_id},
        params={"was_active": bool(row.active)},
    )
    return camera_public(camera_row(connection, camera_id))


# cases --------------------------------------------------------------------------------
def case_public(connection: Connection, number: str) -> CasePublic:
    row = connection.execute(sa.select(cases).where(cases.c.case_number == number)).first()
    if row is None:
        raise HubError(404, f"No case {number} is on record at this hub; check the case number.")
    assigned = connection.execute(
        sa.select(users.c.username)
        .join(case_assignments, case_assignments.c.user_id == users.c.user_id)
        .where(case_assignments.c.case_number == number)
        .order_by(users.c.username)
    ).scalars()
    return CasePublic(
        case_number=row.case_number,
        title=row.title,
        offense_category=row.offense_category,
        status=row.status,
        assigned=list(assigned),
    )


def case_unit(connection: Connection, number: str) -> str | None:
    unit: str | None = connection.execute(
        sa.select(cases.c.unit).where(cases.c.case_number == number)
    ).scalar()
    return unit


def _case_number(text: str, pattern: str) -> str:
    try:
        return validate_case_number(text, pattern)
    except KnownError as exc:
        raise HubError(422, f"{exc}.") from None


def _user_ids(connection: Connection, usernames: Sequence[str]) -> dict[str, int]:
    """Each name's user id; 404 naming the first unknown user."""
    wanted = list(dict.fromkeys(name.strip() for name in usernames if name.strip()))
    if not wanted:
        return {}
    found = {
        row.username: int(row.user_id)
        for row in connection.execute(
            sa.select(users.c.username, users.c.user_id).where(users.c.username.in_(wanted))
        )
    }
    for name in wanted:
        if name not in found:
            raise HubError(404, f"No user named {name}; check the user name.")
    return {name: found[name] for name in wanted}


@dataclass(frozen=True)
class CaseSpec:
    """One case to open, as given on the command line or on a line of an RMS export."""

    number: str
    title: str
    offense: str
    unit: str | None = None
    assigned: tuple[str, ...] = ()


def _checked(
    connection: Connection, spec: CaseSpec, pattern: str
) -> tuple[dict[str, Any], dict[str, int]]:
    number = _case_number(spec.number, pattern)
    values = {
        "case_number": number,
        "title": _text(spec.title, what="title", limit=TITLE_MAX),
        "offense_category": _text(spec.offense, what="offense", limit=OFFENSE_MAX),
        "unit": _text(spec.unit, what="unit", limit=UNIT_MAX) if spec.unit else None,
    }
    return values, _user_ids(connection, spec.assigned)


def _case_exists(connection: Connection, number: str) -> bool:
    query = sa.select(cases.c.case_number).where(cases.c.case_number == number)
    return connection.execute(query).first() is not None


def _open_case(
    connection: Connection, values: dict[str, Any], user_ids: dict[str, int], *, now: datetime,
    pattern: str,
) -> None:  # fmt: skip
    create_case(
        connection,
        case_number=values["case_number"],
        title=values["title"],
        offense_category=values["offense_category"],
        now=now,
        pattern=pattern,
        assigned_user_ids=list(user_ids.values()),
    )
    if values["unit"] is not None:
        connection.execute(
            cases.update()
            .where(cases.c.case_number == values["case_number"])
            .values(unit=values["unit"])
        )


def add_case(
    connection: Connection,
    spec: CaseSpec,
    *,
    pattern: str,
    by: str,
    session_id: str = "",
    now: datetime,
) -> CasePublic:
    """Open a case (the agency's number format), assigned to the users named; 409 when
    the number is taken. Audited."""
    values, user_ids = _checked(connection, spec, pattern)
    if _case_exists(connection, values["case_number"]):
        raise HubError(409, f"Case {values['case_number']} is already on record at this hub.")
    _open_case(connection, values, user_ids, now=now, pattern=pattern)
    record_hub_event(
        connection,
        action="admin.case_add",
        now=now,
        username=by,
        session_id=session_id,
        object_refs={"case_number": values["case_number"]},
        params={
            "title": values["title"],
            "offense_category": values["offense_category"],
            "unit": values["unit"],
            "assigned": sorted(user_ids),
            "origin": "cli",
        },
    )
    return case_public(connection, values["case_number"])


def close_case(
    connection: Connection,
    *,
    case_number: str,
    pattern: str,
    by: str,
    session_id: str = "",
    now: datetime,
) -> CasePublic:
    """Close a case: no new slice names it; its holds and exports stay. Audited."""
    number = _case_number(case_number, pattern)
    before = case_public(connection, number)
    connection.execute(
        cases.update().where(cases.c.case_number == number).values(status=CASE_CLOSED)
    )
    record_hub_event(
        connection,
        action="admin.case_close",
        now=now,
        username=by,
        session_id=session_id,
        object_refs={"case_number": number},
        params={"was": before.status},
    )
    return case_public(connection, number)


def set_assignment(
    connection: Connection,
    *,
    case_number: str,
    username: str,
    assigned: bool,
    pattern: str,
    by: str,
    session_id: str = "",
    now: datetime,
) -> CasePublic:
    """Assign a user to a case, or take them off it (their slices of it stay until they
    expire; new ones are refused). Audited, also when nothing changed."""
    number = _case_number(case_number, pattern)
    before = case_public(connection, number)
    (user_id,) = _user_ids(connection, [username]).values()
    was = username in before.assigned
    if assigned and not was:
        if before.status != CASE_OPEN:
            raise HubError(409, f"Case {number} is closed; no one can be assigned to it.")
        connection.execute(case_assignments.insert().values(case_number=number, user_id=user_id))
    elif not assigned and was:
        connection.execute(
            case_assignments.delete().where(
                case_assignments.c.case_number == number, case_assignments.c.user_id == user_id
            )
        )
    record_hub_event(
        connection,
        action="admin.case_assign" if assigned else "admin.case_unassign",
        now=now,
        username=by,
        session_id=session_id,
        object_refs={"case_number": number, "username": username},
        params={"was_assigned": was},
    )
    return case_public(connection, number)


# RMS import ---------------------------------------------------------------------------
def parse_case_csv(text: str) -> tuple[list[tuple[int, CaseSpec]], list[str]]:
    """The cases of an RMS export and the problems found (each naming its line)."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        return [], ["the file is empty; give a header line: " + ",".join(CASE_CSV_COLUMNS) + "."]
    except csv.Error as exc:
        return [], [f"line 1: {exc}."]
    names = [
        CASE_CSV_ALIASES.get(" ".join(h.split()).lower(), " ".join(h.split()).lower())
        for h in header
    ]
    missing = [column for column in CASE_CSV_COLUMNS if column not in names]
    if missing:
        return [], [
            f"line 1: the header lacks {', '.join(missing)}; it needs "
            + ",".join(CASE_CSV_COLUMNS)
            + "."
        ]
    index = {name: names.index(name) for name in CASE_CSV_COLUMNS}
    specs: list[tuple[int, CaseSpec]] = []
    problems: list[str] = []
    try:
        for fields in reader:
            line = reader.line_num
            if not any(field.strip() for field in fields):
                continue
            if len(fields) != len(header):
                problems.append(
                    f"line {line}: {len(fields)} values where the header has {len(header)}."
                )
                continue
            assigned = fields[index["assigned"]].replace("|", ";").split(";")
            specs.append(
                (
                    line,
                    CaseSpec(
                        number=fields[index["number"]],
                        title=fields[index["title"]],
                        offense=fields[index["offense"]],
                        unit=fields[index["unit"]].strip() or None,
                        assigned=tuple(name.strip() for name in assigned if name.strip()),
                    ),
                )
            )
    except csv.Error as exc:
        problems.append(f"line {reader.line_num}: {exc}.")
    return specs, problems


@dataclass(frozen=True)
class CaseImportReport:
    imported: list[str]
    assignments: int

    def as_json(self) -> dict[str, Any]:
        return {
            "imported": len(self.imported),
            "cases": self.imported,
            "assignments": self.assignments,
        }


def import_cases(
    connection: Connection,
    text: str,
    *,
    pattern: str,
    origin: str,
    by: str,
    session_id: str = "",
    now: datetime,
) -> CaseImportReport:
    """Open every case of an RMS export, or none: 422 naming each bad line (a bad number,
    an empty title, an unknown user, a case already on record or twice in the file).
    One audit event for the import, naming every case."""
    specs, problems = parse_case_csv(text)
    rows: list[tuple[dict[str, Any], dict[str, int]]] = []
    seen: dict[str, int] = {}
    for line, spec in specs:
        try:
            values, user_ids = _checked(connection, spec, pattern)
        except HubError as exc:
            problems.append(f"line {line}: {exc.message}")
            continue
        number = values["case_number"]
        if number in seen:
            problems.append(f"line {line}: case {number} is on line {seen[number]} already.")
            continue
        seen[number] = line
        if _case_exists(connection, number):
            problems.append(f"line {line}: case {number} is already on record at this hub.")
            continue
        rows.append((values, user_ids))
    if not problems and not rows:
        problems.append("the file holds no cases (only a header).")
    if problems:
        shown = problems[:MAX_IMPORT_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        tail = f" ...and {more} more problem(s)." if more else ""
        raise HubError(
            422,
            f"Nothing was imported; fix these and import the file again: {' '.join(shown)}{tail}",
        )
    for values, user_ids in rows:
        _open_case(connection, values, user_ids, now=now, pattern=pattern)
    numbers = [values["case_number"] for values, _ in rows]
    assignments = sum(len(user_ids) for _, user_ids in rows)
    record_hub_event(
        connection,
        action="admin.case_import",
        now=now,
        username=by,
        session_id=session_id,
        object_refs={"case_numbers": numbers},
        params={"count": len(numbers), "assignments": assignments, "origin": origin},
    )
    return CaseImportReport(imported=numbers, assignments=assignments)
