"""Cases, their assignments, cameras and purposes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.purposes import PURPOSES, validate_case_number
from app.core.schemas import CameraPublic, CasePublic, PurposePublic, Role
from hub.db.tables import cameras, case_assignments, cases, users

CASE_OPEN = "open"
CASE_CLOSED = "closed"
SEES_ALL_CASES = frozenset({Role.SUPERVISOR, Role.ADMIN})


def purposes() -> list[PurposePublic]:
    return [PurposePublic(code=code, label=label) for code, label in PURPOSES.items()]


def create_case(
    connection: Connection,
    *,
    case_number: str,
    title: str,
    offense_category: str,
    now: datetime,
    pattern: str,
    assigned_user_ids: Sequence[int] = (),
    status: str = CASE_OPEN,
) -> str:
    number = validate_case_number(case_number, pattern)
    connection.execute(
        cases.insert().values(
            case_number=number,
            title=title,
            offense_category=offense_category,
            status=status,
            created_at=now,
        )
    )
    for user_id in assigned_user_ids:
        connection.execute(case_assignments.insert().values(case_number=number, user_id=user_id))
    return number


def list_cases(connection: Connection, *, user_id: int, role: Role) -> list[CasePublic]:
    query = sa.select(cases).order_by(cases.c.case_number)
    if role not in SEES_ALL_CASES:
        query = query.where(
            cases.c.case_number.in_(
                sa.select(case_assignments.c.case_number).where(
                    case_assignments.c.user_id == user_id
                )
            )
        )
    rows = connection.execute(query).all()
    assigned: dict[str, list[str]] = {row.case_number: [] for row in rows}
    for link in connection.execute(
        sa.select(case_assignments.c.case_number, users.c.username)
        .join(users, users.c.user_id == case_assignments.c.user_id)
        .where(case_assignments.c.case_number.in_(list(assigned)))
        .order_by(users.c.username)
    ):
        assigned[link.case_number].append(link.username)
    return [
        CasePublic(
            case_number=row.case_number,
            title=row.title,
            offense_category=row.offense_category,
            status=row.status,
            assigned=assigned[row.case_number],
        )
        for row in rows
    ]


def add_camera(connection: Connection, camera: CameraPublic) -> None:
    connection.execute(cameras.insert().values(**camera.model_dump()))


def list_cameras(connection: Connection) -> list[CameraPublic]:
    rows = connection.execute(sa.select(cameras).order_by(cameras.c.camera_id)).all()
    return [
        CameraPublic(
            camera_id=row.camera_id,
            name=row.name,
            agency=row.agency,
            latitude=row.latitude,
            longitude=row.longitude,
            direction=row.direction,
            active=row.active,
        )
        for row in rows
    ]
