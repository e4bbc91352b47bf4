"""`platedesk-hub transparency-report --month YYYY-MM --out FILE.pdf`: the council's
monthly report (hub.transparency_report) written as PDF; JSON names its figures."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.core.errors import KnownError
from hub.cli.common import Commands, _open, command, emit
from hub.context import system_clock


def cmd_transparency_report(args: argparse.Namespace) -> int:
    from hub.transparency_report import build_monthly, render_pdf

    settings, database = _open(args)
    try:
        with database.read() as connection:
            report = build_monthly(
                connection,
                month=args.month,
                now=system_clock(),
                retention_days=settings.retention_days,
            )
    finally:
        database.dispose()
    out = Path(args.out)
    try:
        out.write_bytes(render_pdf(report))
    except OSError as exc:
        raise KnownError(f"Cannot write {out} ({exc.strerror}); choose another --out.") from None
    figures = report.figures
    emit(
        args,
        {
            "month": report.month,
            "out": str(out),
            "searches": figures.searches,
            "refused_searches": figures.refused_searches,
            "flagged_searches": figures.flagged_searches,
            "refusals": len(report.refusals),
            "partner_agencies": [access.agency for access in report.partner_accesses],
        },
        f"Wrote the transparency report for {report.month} to {out}.",
    )
    return 0


def register(commands: Commands) -> None:
    monthly = command(
        commands,
        "transparency-report",
        cmd_transparency_report,
        "write the council's monthly transparency report as PDF (figures, refusals, "
        "partner accesses)",
    )
    monthly.add_argument("--month", required=True, help="YYYY-MM (UTC), e.g. 2026-11")
    monthly.add_argument("--out", required=True, metavar="FILE.pdf", help="where to write it")
