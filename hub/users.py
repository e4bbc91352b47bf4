"""Users: creating an account, its public view, and whether its ALPR training is current."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.engine import Connection

from app.core.schemas import Role, UserPublic
from hub.core.security import PasswordService
from hub.db.tables import users
from hub.errors import HubError
from hub.passwords import password_problem


def create_user(
    connection: Connection,
    passwords: PasswordService,
    *,
    username: str,
    password: str,
    role: Role,
    totp_secret: str,
    now: datetime,
    display_name: str | None = None,
    training_valid_until: date | None = None,
    unit: str | None = None,
    partner_agency: str | None = None,
) -> int:
    problem = password_problem(password, username=username)
    if problem is not None:
        raise HubError(422, problem)
    result = connection.execute(
        users.insert().values(
            username=username,
            display_name=display_name or username,
            role=role.value,
            password_hash=passwords.hash(password),
            totp_secret=totp_secret,
            training_valid_until=training_valid_until,
            created_at=now,
            unit=unit,
            partner_agency=partner_agency,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def user_public(row: Any) -> UserPublic:
    return UserPublic(
        username=row.username,
        display_name=row.display_name,
        role=Role(row.role),
        training_valid_until=row.training_valid_until,
        unit=row.unit,
        partner_agency=row.partner_agency,
    )


def training_error(row: Any, *, now: datetime) -> HubError | None:
    valid_until: date | None = row.training_valid_until
    if valid_until is None:
        return HubError(
            403, "No ALPR training is on record for you; ask an administrator to record it."
        )
    if valid_until < now.date():
        return HubError(
            403,
            f"Your ALPR training expired on {valid_until.isoformat()}; renew it before searching.",
        )
    return None
