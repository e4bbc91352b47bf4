"""`platedesk-hub policy show|set` and `hotlist import`."""

from __future__ import annotations

import argparse
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.errors import KnownError
from app.core.schemas import Role
from hub.cli.common import HUB_CLI, Commands, _open, _print, _settings, common, emit
from hub.context import system_clock
from hub.db.tables import users
from hub.slices import Caller


def cmd_policy_show(args: argparse.Namespace) -> int:
    from hub.flag_policy import load_policy, policy_path

    settings = _settings(args)
    policy = load_policy(settings.data_dir)
    _print(
        {
            "file": str(policy_path(settings.data_dir)),
            "exists": policy_path(settings.data_dir).exists(),
            "policy": policy.model_dump(mode="json"),
        }
    )
    return 0


def cmd_policy_set(args: argparse.Namespace) -> int:
    from app.core.flag_rules import parse_policy_value
    from hub.flag_policy import change_policy, load_policy

    value = parse_policy_value(args.key, args.value)
    settings, database = _open(args)
    try:
        old = load_policy(settings.data_dir).model_dump(mode="json")[args.key]
        with database.write() as connection:
            policy = change_policy(
                connection, settings.data_dir, {args.key: value}, by=HUB_CLI, now=system_clock()
            )
    finally:
        database.dispose()
    new = policy.model_dump(mode="json")
    _print({"key": args.key, "old": old, "new": new[args.key], "policy": new})
    return 0


def cmd_hotlist_import(args: argparse.Namespace) -> int:
    from hub.flag_policy import current_policy
    from hub.hotlists import import_csv

    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise KnownError(
            f"Cannot read {path} ({exc.__class__.__name__}); give a UTF-8 CSV file."
        ) from None
    settings, database = _open(args)
    try:
        with database.write() as connection:
            caller = _administrator(connection, args.as_user)
            result = import_csv(
                connection,
                caller,
                text,
                now=system_clock(),
                case_number_pattern=settings.case_number_pattern,
                origin=f"cli:{path.name}",
                policy=current_policy(settings.data_dir),
            )
    finally:
        database.dispose()
    emit(
        args,
        result.model_dump(mode="json"),
        f"Imported {result.imported} hotlist entries from {path.name} as {caller.username}.",
    )
    return 0


def _administrator(connection: Connection, username: str) -> Caller:
    """The hub user an import is made by: an unlocked administrator or supervisor."""
    row = connection.execute(
        sa.select(users.c.user_id, users.c.role, users.c.locked_at).where(
            users.c.username == username
        )
    ).first()
    if row is None:
        raise KnownError(f"No user named {username}; check the user name.")
    if row.role not in (Role.ADMIN.value, Role.SUPERVISOR.value) or row.locked_at is not None:
        raise KnownError(
            f"{username} is not an unlocked administrator or supervisor; only they manage hotlists."
        )
    return Caller(user_id=int(row.user_id), username=username, role=Role(row.role), session_id="")


def register(commands: Commands) -> None:
    policy = commands.add_parser("policy", help="the flag rules' thresholds (audited changes)")
    policy_commands = policy.add_subparsers(dest="policy_command", required=True)
    policy_show = policy_commands.add_parser("show", help="print the flag policy")
    common(policy_show)
    policy_show.set_defaults(handler=cmd_policy_show)
    policy_set = policy_commands.add_parser(
        "set", help="change one setting (lists: comma-separated; sample_seed none: random)"
    )
    common(policy_set)
    policy_set.add_argument("key", help="e.g. max_window_days")
    policy_set.add_argument("value")
    policy_set.set_defaults(handler=cmd_policy_set)

    hotlist = commands.add_parser("hotlist", help="hotlist entries (plates of interest)")
    hotlist_commands = hotlist.add_subparsers(dest="hotlist_command", required=True)
    hotlist_import = hotlist_commands.add_parser(
        "import",
        help="import a CSV (plate,state,reason,source,case_number,expires_at[,unit]); "
        "all lines or none",
    )
    common(hotlist_import)
    hotlist_import.add_argument("file", metavar="FILE.csv")
    hotlist_import.add_argument(
        "--as",
        dest="as_user",
        required=True,
        metavar="USERNAME",
        help="the administrator (or supervisor) importing: the entries, the audit event "
        "and any review item the flag rules file name them",
    )
    hotlist_import.set_defaults(handler=cmd_hotlist_import)
