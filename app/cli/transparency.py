"""`platedesk transparency ...`: the public page's figures, and the council's report.

- `transparency preview` -> the figures exactly as the hub's /transparency.json has them
- `transparency report --month YYYY-MM --out FILE.pdf` -> {"month", "out"}: the monthly
  report as PDF (supervisors and administrators; audited at the hub, journaled here)
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.cli.parsing import actions
from app.workstation import Workstation

NAME = "transparency"


def add_parser(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    parser = command(NAME, "the public transparency figures and the council's monthly report")
    action = actions(parser, "transparency_command")
    action("preview", "what the public transparency page shows")
    report = action("report", "save the monthly report for the council (PDF)")
    report.add_argument("--month", required=True, help="YYYY-MM (UTC), e.g. 2026-11")
    report.add_argument("--out", required=True, type=Path, metavar="FILE.pdf")


def run(ws: Workstation, args: argparse.Namespace) -> Any:
    if args.transparency_command == "preview":
        return ws.transparency.preview().model_dump(mode="json")
    saved = ws.transparency.monthly_report(args.month, out=args.out)
    return {"month": args.month, "out": str(saved)}
