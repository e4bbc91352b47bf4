"""`platedesk-hub backup FOLDER` and `restore FOLDER` (hub.backup)."""

from __future__ import annotations

import argparse
from pathlib import Path

from hub.cli.common import HUB_CLI, Commands, _open, _settings, command, emit
from hub.context import system_clock
from hub.core.db import Database


def cmd_backup(args: argparse.Namespace) -> int:
    from hub.backup import backup

    settings, database = _open(args)
    try:
        report = backup(
            settings,
            database,
            Path(args.folder).resolve(),
            portable=args.portable,
            by=HUB_CLI,
            now=system_clock(),
        )
    finally:
        database.dispose()
    emit(
        args,
        report.as_json(),
        f"Backed up the {report.database} database ({report.method}) and {report.images} "
        f"image(s) to {report.folder}; {report.files} files, {report.bytes} bytes.",
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from hub.backup import restore

    settings = _settings(args)
    result = restore(
        settings,
        Path(args.folder).resolve(),
        open_database=lambda: Database(settings.sqlalchemy_url),
        by=HUB_CLI,
        now=system_clock(),
    )
    emit(
        args,
        result,
        f"Restored {result['files_checked']} checked files ({result['images']} images) into "
        f"{result['data']}; schema {result['revision']}. Run audit-verify next.",
    )
    return 0


def register(commands: Commands) -> None:
    backup = command(
        commands,
        "backup",
        cmd_backup,
        "copy the database and the image store into a new folder, with a manifest of sha256s",
    )
    backup.add_argument("folder", metavar="FOLDER")
    backup.add_argument(
        "--portable",
        action="store_true",
        help="dump rows through SQLAlchemy instead of the SQLite backup API or pg_dump "
        "(restores into either database)",
    )
    restore = command(
        commands,
        "restore",
        cmd_restore,
        "check a backup against its manifest and restore it into an empty data folder "
        "(and an empty --db database)",
    )
    restore.add_argument("folder", metavar="FOLDER")
