"""`platedesk evidence ...`: the case's evidence, shared by every desk (issue 22).

- `evidence add --case C READ_ID... [--note TEXT] [--legal-basis B] [--basis-text TEXT]
  [--review-date YYYY-MM-DD]`
  marks reads here (journaled) and proposes their holds (a custodian's are confirmed at
  once); offline the requests wait in the cache for the next contact.
- `evidence list --case C` -> {"evidence": [...]}: the case's evidence at the hub, from
  every workstation (offline: as last fetched, with "offline": true).
- `evidence confirm|refuse --case C READ_ID... [--note TEXT]` (technician or supervisor)
- `evidence release --case C READ_ID... --reason TEXT` (supervisor)
- `evidence holds --case C`: this workstation's own hold requests and where they stand.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date
from typing import Any

from app.cli.parsing import actions
from app.core.evidence import DEFAULT_LEGAL_BASIS, LEGAL_BASES
from app.core.schemas import HoldPublic
from app.sync.client import HubUnreachable
from app.workstation import Workstation

NAME = "evidence"


def add_parser(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    evidence = command(NAME, "the case's evidence: mark, list, confirm, refuse, release")
    case_action = actions(evidence, "evidence_command")

    def action(name: str, help_text: str, *, reads: bool = True) -> argparse.ArgumentParser:
        parser = case_action(name, help_text)
        parser.add_argument("--case", required=True)
        if reads:
            parser.add_argument("read_ids", nargs="+", metavar="READ_ID")
        return parser

    add = action("add", "mark reads as evidence for the case (proposes their holds)")
    add.add_argument("--note", default="", help="why these reads matter to the case")
    add.add_argument(
        "--legal-basis",
        default=DEFAULT_LEGAL_BASIS,
        choices=list(LEGAL_BASES),
        help=f"the hold's legal basis (default: {DEFAULT_LEGAL_BASIS})",
    )
    add.add_argument("--basis-text", default="", help="the basis in words, e.g. a warrant number")
    add.add_argument(
        "--review-date", type=_date, default=None, help="when to review the hold (YYYY-MM-DD)"
    )
    action("list", "the case's evidence from every workstation, with notes and holds", reads=False)
    for name, verb in (("confirm", "confirm"), ("refuse", "refuse")):
        decide = action(name, f"{verb} proposed holds (evidence technician or supervisor)")
        decide.add_argument("--note", default="")
    release = action("release", "release holds, with the reason (supervisor)")
    release.add_argument("--reason", required=True)
    action("holds", "where this workstation's own hold requests stand at the hub", reads=False)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a date; give it as YYYY-MM-DD, e.g. 2027-06-01"
        ) from exc


def run(ws: Workstation, args: argparse.Namespace) -> Any:
    command = args.evidence_command
    case = args.case
    if command == "holds":
        return {"case_number": case, "holds": _own_holds(ws, case, refresh=True)}
    if command == "add":
        marks = [
            ws.mark_evidence(
                read_id=read_id,
                case_number=case,
                note=args.note,
                deliver=False,
                legal_basis=args.legal_basis,
                legal_basis_text=args.basis_text,
                review_date=args.review_date,
            )
            for read_id in args.read_ids
        ]
        ws.evidence.deliver()
        marked = {mark.read_id for mark in marks}
        holds = [hold for hold in _own_holds(ws, case, refresh=False) if hold["read_id"] in marked]
        return {"case_number": case, "marked": [mark.read_id for mark in marks], "holds": holds}
    if command == "list":
        return _listing(ws, case)
    if command == "confirm":
        decided = ws.evidence.confirm(case_number=case, read_ids=args.read_ids, note=args.note)
    elif command == "refuse":
        decided = ws.evidence.refuse(case_number=case, read_ids=args.read_ids, note=args.note)
    else:
        decided = ws.evidence.release(case_number=case, read_ids=args.read_ids, reason=args.reason)
    ws.case_evidence(case_number=case)  # keep the record that stands now for the desks
    done = {"confirm": "confirmed", "refuse": "refused", "release": "released"}[command]
    return {"case_number": case, done: [_entry(hold) for hold in decided]}


def _listing(ws: Workstation, case: str) -> dict[str, Any]:
    ws.evidence.deliver()
    try:
        record = ws.evidence.case_evidence(case_number=case)
    except HubUnreachable:
        known = ws.evidence.known_case_evidence(case_number=case)
        return {"case_number": case, "offline": True, "evidence": [_entry(h) for h in known]}
    ws.evidence.keep_case_evidence(case, record)
    return {"case_number": case, "offline": False, "evidence": [_entry(h) for h in record]}


def _entry(hold: HoldPublic) -> dict[str, Any]:
    """One evidence read of the case: who marked it, the note, and its hold."""
    return {
        "read_id": hold.read_id,
        "marked_by": hold.proposed_by,
        "marked_at": hold.proposed_at.isoformat(),
        "note": hold.note,
        "hold": hold.status,
        "hold_id": hold.hold_id,
        "legal_basis": hold.legal_basis,
        "legal_basis_text": hold.legal_basis_text,
        "review_date": hold.review_date.isoformat() if hold.review_date else None,
        "confirmed_by": hold.confirmed_by,
        "refused_by": hold.refused_by,
        "released_by": hold.released_by,
        "decision_note": hold.decision_note,
        "release_reason": hold.release_reason,
        "marks": [mark.model_dump(mode="json") for mark in hold.marks],
        "read_at_hub": hold.read_present,
    }


def _own_holds(ws: Workstation, case_number: str, *, refresh: bool) -> list[dict[str, Any]]:
    """Each read's hold at the hub: pending (sent at the next contact), proposed,
    confirmed, released or refused (with the hub's reason)."""
    return [
        {"read_id": h.read_id, "status": h.status, "hold_id": h.hold_id, "detail": h.detail}
        for h in ws.evidence_holds(case_number=case_number, refresh=refresh)
    ]
