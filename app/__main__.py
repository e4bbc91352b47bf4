"""`platedesk`: a subcommand runs headless; no subcommand opens the window."""

from __future__ import annotations

import sys

from app.cli.commands import COMMANDS, run
from app.logs import configure_logging


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    configure_logging()
    if any(arg in COMMANDS for arg in args) or "-h" in args or "--help" in args:
        return run(args)
    from app.main import main as gui_main

    return gui_main(args)


if __name__ == "__main__":
    sys.exit(main())
