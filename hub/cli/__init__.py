"""`platedesk-hub`: set up, run, administer, back up and check the hub.

Commands: init, demo-seed, serve, audit-verify, audit-checkpoint, simulate, feed,
purge, transparency, user, camera, case, hotlist, policy, backup, restore. Output is
JSON with --json or whenever it goes to a program (a pipe or a file), a sentence on a
terminal. User errors are one line on stderr and exit code 1 (2 for bad arguments,
as argparse does); never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import NoReturn

from app.core.errors import KnownError
from hub.cli import backup, catalog, ops, policy, server, users
from hub.cli.common import HUB_CLI
from hub.cli.server import WORKER_APP, worker_environment

__all__ = ["HUB_CLI", "WORKER_APP", "build_parser", "main", "worker_environment"]


class HubArgumentParser(argparse.ArgumentParser):
    """argparse, its refusals one line on stderr (exit code 2) instead of usage and error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}; see {self.prog} --help\n")


def build_parser() -> argparse.ArgumentParser:
    parser = HubArgumentParser(prog="platedesk-hub", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for module in (server, ops, users, catalog, policy, backup):
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for name, minimum in (("cameras", 1), ("days", 1), ("reads_per_day", 1), ("workers", 1)):
        if getattr(args, name, minimum) < minimum:
            sys.stderr.write(
                f"platedesk-hub: --{name.replace('_', '-')} must be at least {minimum}\n"
            )
            return 2
    try:
        code: int = args.handler(args)
    except KnownError as exc:
        sys.stderr.write(f"platedesk-hub: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
