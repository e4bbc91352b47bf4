"""What the subcommands' parsers share: the --json flag each action takes, and a group
of actions under one command."""

from __future__ import annotations

import argparse
from collections.abc import Callable

Action = Callable[[str, str], argparse.ArgumentParser]


def json_flag(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """--json after the action as well as before it (`platedesk --json review list`)."""
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    return parser


def actions(command: argparse.ArgumentParser, dest: str) -> Action:
    """The function that adds one action (with --json) under `command`."""
    sub = command.add_subparsers(dest=dest, required=True)

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        return json_flag(sub.add_parser(name, help=help_text))

    return action
