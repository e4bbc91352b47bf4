"""What every `platedesk-hub` command shares: the data folder and database options,
the opened hub, and the output (JSON for scripts, a sentence for people)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hub.core.config import HubSettings, load_secret
from hub.core.db import Database, migrate

HUB_CLI = "platedesk-hub"
Commands = Any  # argparse's _SubParsersAction (private in typeshed)
Handler = Callable[[argparse.Namespace], int]


def _settings(args: argparse.Namespace) -> HubSettings:
    return HubSettings(
        data_dir=Path(args.data).resolve(),
        database_url=args.db,
        image_store=getattr(args, "image_store", None),
    )


def _print(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


def emit(args: argparse.Namespace, payload: dict[str, Any], text: str) -> None:
    """JSON with --json or when the output goes to a program (a pipe or a file); the
    sentence `text` on a terminal."""
    if getattr(args, "json", False) or not sys.stdout.isatty():
        _print(payload)
    else:
        sys.stdout.write(text.rstrip("\n") + "\n")
        sys.stdout.flush()


def _open(args: argparse.Namespace) -> tuple[HubSettings, Database]:
    """An initialized hub's settings and migrated database."""
    settings = _settings(args)
    load_secret(settings)
    database = Database(settings.sqlalchemy_url)
    migrate(database)
    return settings, database


def common(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--data", required=True, help="the hub's data folder")
    sub.add_argument("--db", default=None, help="postgresql://... (default: SQLite in DATA)")
    sub.add_argument(
        "--json",
        action="store_true",
        help="print JSON (also the output whenever it goes to a pipe or a file)",
    )


def command(
    group: Commands, name: str, handler: Handler, help_text: str
) -> argparse.ArgumentParser:
    """A subcommand with the common options and its handler."""
    sub: argparse.ArgumentParser = group.add_parser(name, help=help_text, description=help_text)
    common(sub)
    sub.set_defaults(handler=handler)
    return sub
