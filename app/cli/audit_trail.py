"""`platedesk audit ...`: the hub's audit trail, for supervisors and administrators.

- `audit search [--user U] [--device D] [--case C] [--action A] [--from T] [--to T]
  [--limit N] [--all] [--csv FILE] [--excerpt FILE]` -> {"events": [...]} newest first
  (the hub's page; --all follows every page); --csv / --excerpt also write the events
  found as CSV or as a hash-chained JSON excerpt
- `audit chains` -> {"chains": [...]}: each device's hash chain, intact, gap or broken
- `audit verify-excerpt FILE` -> {"ok": ..., "problems": [...]}: checks an excerpt on
  its own (no sign-in); exits 1 when it was changed
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.cli.parsing import actions
from app.core.audit_trail import AuditEventPublic
from app.services.insights import AuditFilter, verify_excerpt_file
from app.workstation import Workstation

NAME = "audit"
MAX_ALL = 100_000  # events --all gathers at most


def add_parser(
    command: Callable[[str, str], argparse.ArgumentParser],
    time: Callable[[str], datetime],
) -> None:
    audit = command(NAME, "the hub's audit trail: search it, check each device's chain")
    action = actions(audit, "audit_command")

    search = action("search", "audit events of your unit (supervisors, administrators)")
    search.add_argument("--user", help="one user's events")
    search.add_argument("--device", help="one device's events")
    search.add_argument("--case", help="events about one case")
    search.add_argument("--action", help="one action, e.g. search or review.decision")
    search.add_argument("--from", dest="time_from", type=time, help="at or after (UTC)")
    search.add_argument("--to", dest="time_to", type=time, help="before (UTC)")
    search.add_argument("--limit", type=int, default=100, help="events per page (max 500)")
    search.add_argument("--all", action="store_true", help="follow every page")
    search.add_argument("--csv", type=Path, help="also write the events found as CSV")
    search.add_argument(
        "--excerpt", type=Path, help="also write them as a hash-chained JSON excerpt"
    )
    action("chains", "each device's hash chain: intact, gap or broken")
    check = action("verify-excerpt", "check an exported audit excerpt on its own")
    check.add_argument("file", type=Path, metavar="FILE")


def wants_no_session(args: argparse.Namespace) -> bool:
    return bool(args.command == NAME and args.audit_command == "verify-excerpt")


def verify(args: argparse.Namespace) -> tuple[dict[str, Any], bool]:
    """The excerpt's check and whether it passed (no workstation needed)."""
    problems = verify_excerpt_file(args.file)
    return {"file": str(args.file), "ok": not problems, "problems": problems}, not problems


def run(ws: Workstation, args: argparse.Namespace) -> Any:
    if args.audit_command == "chains":
        return {"chains": [c.model_dump(mode="json") for c in ws.insights.audit_chains()]}
    where = AuditFilter(
        user=args.user, device=args.device, case_number=args.case, action=args.action,
        time_from=args.time_from, time_to=args.time_to,
    )  # fmt: skip
    page = ws.insights.audit_search(where, limit=args.limit)
    events: list[AuditEventPublic] = list(page.events)
    while args.all and page.next_cursor and len(events) < MAX_ALL:
        page = ws.insights.audit_search(where, cursor=page.next_cursor, limit=args.limit)
        events.extend(page.events)
    now = datetime.now(UTC)
    written = {}
    for kind, path in (("csv", args.csv), ("excerpt", args.excerpt)):
        if path is not None:
            done = ws.insights.export_events(events, path, kind=kind, where=where, now=now)
            written[kind] = str(done)
    if args.json:
        result: dict[str, Any] = {"events": [e.model_dump(mode="json") for e in events]}
    else:
        result = {"events": [_row(e) for e in events]}
    if not args.all and page.next_cursor:
        result["more"] = "more events match: narrow the search or add --all"
    if written:
        result["written"] = written
    return result


def _row(event: AuditEventPublic) -> dict[str, Any]:
    """One line for people: when, who, where, what, and how it ended."""
    return {
        "occurred_at": event.occurred_at,
        "username": event.username,
        "device": event.device_id[:12],
        "seq": event.seq,
        "action": event.action,
        "outcome": event.outcome,
    }
