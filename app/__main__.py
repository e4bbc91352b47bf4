"""`platedesk`: a subcommand runs headless; no subcommand opens the window."""

from __future__ import annotations

import multiprocessing
import os
import sys

from app import __version__
from app.cli.commands import COMMANDS, run
from app.logs import configure_logging

EXIT_BROKEN_PIPE = 141  # as a shell reports a command ended by SIGPIPE


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--version"]:
        print(f"platedesk {__version__}")
        return 0
    configure_logging()
    try:
        if any(arg in COMMANDS for arg in args) or "-h" in args or "--help" in args:
            code = run(args)
            sys.stdout.flush()  # here, where a closed pipe can still be answered
            return code
        from app.main import main as gui_main

        return gui_main(args)
    except BrokenPipeError:
        return _output_closed()


def _output_closed() -> int:
    """The reader of our output went away (`platedesk ... | head`): stop quietly, as other
    command-line tools do, with no traceback. Python's recipe: point stdout at devnull so
    the flush at exit does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen build's spawned child stops here
    sys.exit(main())
