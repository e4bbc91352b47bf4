"""`platedesk-hub user add|lock|unlock|reset-totp|set-training|set-unit|set-role`.

Each change is a hub audit event by `platedesk-hub` (hub.admin); an unknown user,
a bad date or a role that does not exist is one line on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import Any

import sqlalchemy as sa

from app.core.errors import KnownError
from app.core.schemas import Role, UserCreatedPublic, UserPublic
from hub.cli.common import HUB_CLI, Commands, _open, command, emit
from hub.context import system_clock
from hub.db.tables import users

ROLES = ", ".join(role.value for role in Role)


def _read_password() -> str:
    """One line of standard input; typed at a terminal, without echo."""
    if sys.stdin.isatty():
        import getpass

        line = getpass.getpass("New user's password: ")
    else:
        line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise KnownError("Give the new user's password on standard input (one line).")
    return password


def _role(text: str) -> Role:
    try:
        return Role(text.strip().lower())
    except ValueError:
        raise KnownError(f"'{text}' is not a role; give one of {ROLES}.") from None


def _date(text: str | None, option: str) -> date | None:
    if text is None or text.strip().lower() == "none":
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise KnownError(f"{option} must be a date, YYYY-MM-DD (or none).") from None


def _user_json(user: UserPublic, locked: bool) -> dict[str, Any]:
    return {**user.model_dump(mode="json"), "role": user.role.value, "locked": locked}


def _locked(args: argparse.Namespace, username: str) -> bool:
    _, database = _open(args)
    try:
        with database.read() as connection:
            at = connection.execute(
                sa.select(users.c.locked_at).where(users.c.username == username)
            ).scalar()
    finally:
        database.dispose()
    return at is not None


def cmd_user_add(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from app.core.schemas import UserCreate
    from hub.admin import add_user
    from hub.core.security import PasswordService

    role = _role(args.role)
    training = _date(args.training_until, "--training-until")
    try:
        body = UserCreate(
            username=args.username,
            display_name=args.display_name,
            role=role,
            password=_read_password(),
            training_valid_until=training,
            unit=args.unit,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise KnownError(f"The new user is not valid: {where}: {first['msg']}.") from None
    settings, database = _open(args)
    try:
        with database.write() as connection:
            created = add_user(
                connection, PasswordService(settings), body, by=HUB_CLI, now=system_clock()
            )
    finally:
        database.dispose()
    payload = {
        "username": created.user.username,
        "role": created.user.role.value,
        "unit": created.user.unit,
        "totp_secret": created.totp_secret,
        "provisioning_uri": created.provisioning_uri,
    }
    emit(args, payload, _totp_text(created, "added"))
    return 0


def _totp_text(created: UserCreatedPublic, done: str) -> str:
    return (
        f"User {created.user.username} ({created.user.role.value}) {done}.\n"
        f"Authenticator secret (shown once): {created.totp_secret}\n"
        f"Or scan: {created.provisioning_uri}"
    )


def _change(args: argparse.Namespace, change: Any) -> UserPublic:
    _, database = _open(args)
    try:
        with database.write() as connection:
            user: UserPublic = change(connection, now=system_clock())
    finally:
        database.dispose()
    return user


def cmd_user_lock(args: argparse.Namespace) -> int:
    from hub.admin import lock_user

    user = _change(args, lambda c, now: lock_user(c, username=args.username, by=HUB_CLI, now=now))
    emit(args, _user_json(user, True), f"User {user.username} is locked; their sessions ended.")
    return 0


def cmd_user_unlock(args: argparse.Namespace) -> int:
    from hub.admin import unlock_user

    user = _change(args, lambda c, now: unlock_user(c, username=args.username, by=HUB_CLI, now=now))
    emit(args, {"username": user.username, "locked": False}, f"User {user.username} is unlocked.")
    return 0


def cmd_user_reset_totp(args: argparse.Namespace) -> int:
    from hub.admin import reset_totp

    _, database = _open(args)
    try:
        with database.write() as connection:
            created = reset_totp(connection, username=args.username, by=HUB_CLI, now=system_clock())
    finally:
        database.dispose()
    payload = {
        "username": created.user.username,
        "totp_secret": created.totp_secret,
        "provisioning_uri": created.provisioning_uri,
    }
    emit(args, payload, _totp_text(created, "has a new authenticator secret"))
    return 0


def cmd_user_set_training(args: argparse.Namespace) -> int:
    from hub.admin import set_training

    until = _date(args.until, "--until")
    user = _change(
        args,
        lambda c, now: set_training(
            c, username=args.username, valid_until=until, by=HUB_CLI, now=now
        ),
    )
    shown = user.training_valid_until.isoformat() if user.training_valid_until else "none"
    emit(
        args,
        _user_json(user, _locked(args, user.username)),
        f"User {user.username}'s ALPR training is valid until {shown}.",
    )
    return 0


def cmd_user_set_unit(args: argparse.Namespace) -> int:
    from hub.admin import set_unit

    unit = None if args.unit.strip().lower() == "none" else args.unit
    user = _change(
        args,
        lambda c, now: set_unit(c, username=args.username, unit=unit, by=HUB_CLI, now=now),
    )
    emit(
        args,
        {"username": user.username, "unit": user.unit},
        f"User {user.username} is in unit {user.unit or '(none)'}.",
    )
    return 0


def cmd_user_set_role(args: argparse.Namespace) -> int:
    from hub.admin import set_role

    role = _role(args.role)
    user = _change(
        args, lambda c, now: set_role(c, username=args.username, role=role, by=HUB_CLI, now=now)
    )
    emit(
        args,
        _user_json(user, _locked(args, user.username)),
        f"User {user.username} is now {user.role.value}; they sign in again to use it.",
    )
    return 0


def register(commands: Commands) -> None:
    user = commands.add_parser(
        "user", help="users: add, lock, unlock, reset TOTP, training, unit, role"
    )
    group = user.add_subparsers(dest="user_command", required=True)

    add = command(group, "add", cmd_user_add, "add a user (password on standard input)")
    add.add_argument("--username", required=True)
    add.add_argument("--role", required=True, help=ROLES)
    add.add_argument("--display-name", required=True)
    add.add_argument("--training-until", default=None, help="YYYY-MM-DD")
    add.add_argument("--unit", default=None, help="the unit whose supervisors review the user")

    for name, handler, text in (
        ("lock", cmd_user_lock, "lock an account (its sessions end at once)"),
        ("unlock", cmd_user_unlock, "release a locked account and its sign-in throttle"),
        (
            "reset-totp",
            cmd_user_reset_totp,
            "give a user a new authenticator secret (lost phone); their sessions end",
        ),
    ):
        sub = command(group, name, handler, text)
        sub.add_argument("--username", required=True)

    training = command(
        group, "set-training", cmd_user_set_training, "record the date ALPR training is valid to"
    )
    training.add_argument("--username", required=True)
    training.add_argument("--until", required=True, help="YYYY-MM-DD, or none")

    set_unit = command(group, "set-unit", cmd_user_set_unit, "put a user in a unit (none: no unit)")
    set_unit.add_argument("--username", required=True)
    set_unit.add_argument("--unit", required=True, help="the unit's name, or none")

    set_role = command(
        group, "set-role", cmd_user_set_role, "give a user another role (their sessions end)"
    )
    set_role.add_argument("--username", required=True)
    set_role.add_argument("--role", required=True, help=ROLES)
