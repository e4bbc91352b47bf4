"""`platedesk review ...`: the supervisor's review queue and the user's questions.

- `review list [--status S] [--rule R] [--user U] [--case C] [--from T] [--to T]`
  -> {"items": [ReviewItem...]} (supervisors and administrators; anyone else is refused
  and the hub audits the attempt)
- `review show ITEM` -> the item with its whole context
- `review decide ITEM --decision approve|request_justification|refer [--note TEXT]`
- `review inbox` -> {"requests": [...]}: the signed-in user's open questions
- `review answer ITEM --text TEXT`
- `review operators [--days 30]` -> {"operators": [...]}: operator insights for the
  users of your unit (supervisors and administrators)
- `review approve-sample ITEM... [--note TEXT]`: low-severity random-sample items
  approved together (the hub refuses the whole batch if any is not one)
- `review reads ITEM` -> {"basis", "total", "reads": [...]}: the reads the flagged
  search returned (audited at the hub, journaled here)
- `review around ITEM [--hours 24]` -> {"searches": [...]}: the user's searches around it
- `review list --after ITEM`: the page after that item
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from typing import Any

from app.cli.insights_rows import operators_result
from app.cli.parsing import actions
from app.core.schemas import ReviewItemPublic
from app.services.oversight import DECISIONS, STATUSES
from app.workstation import Workstation

NAME = "review"


def add_parser(
    command: Callable[[str, str], argparse.ArgumentParser],
    time: Callable[[str], datetime],
) -> None:
    review = command(NAME, "review flagged searches (supervisors), answer their questions")
    action = actions(review, "review_command")

    listing = action("list", "the flagged searches of your unit (never your own)")
    listing.add_argument(
        "--status", default="pending", choices=STATUSES, help="default: pending (not decided)"
    )
    listing.add_argument("--rule", help="only items where this rule fired, e.g. off_hours")
    listing.add_argument("--user", help="only this user's searches")
    listing.add_argument("--case", help="only this case's searches")
    listing.add_argument("--from", dest="time_from", type=time, help="searches from (UTC)")
    listing.add_argument("--to", dest="time_to", type=time, help="searches before (UTC)")
    listing.add_argument("--limit", type=int, default=100, help="items asked of the hub")
    listing.add_argument("--after", metavar="ITEM", help="the page after this item")
    show = action("show", "one flagged search with its whole context")
    show.add_argument("item_id", metavar="ITEM")
    decide = action("decide", "approve, ask for a justification, or refer")
    decide.add_argument("item_id", metavar="ITEM")
    decide.add_argument("--decision", required=True, choices=DECISIONS)
    decide.add_argument(
        "--note", default="", help="the question (request_justification), why and to whom (refer)"
    )
    sample = action(
        "approve-sample", "approve low-severity random-sample items together (all or none)"
    )
    sample.add_argument("item_ids", metavar="ITEM", nargs="+")
    sample.add_argument("--note", default="", help="what you checked")
    reads = action("reads", "the reads a flagged search returned (audited)")
    reads.add_argument("item_id", metavar="ITEM")
    around = action("around", "the user's other searches around a flagged one")
    around.add_argument("item_id", metavar="ITEM")
    around.add_argument("--hours", type=int, default=24, help="before and after (default 24)")
    action("inbox", "the supervisors' questions waiting for your answer")
    answer = action("answer", "answer a supervisor's question about one of your searches")
    answer.add_argument("item_id", metavar="ITEM")
    answer.add_argument("--text", required=True, help="what the case needed this search for")
    operators = action("operators", "per user of your unit: volume, repeated plates, sessions")
    operators.add_argument("--days", type=int, default=30, help="the last N days (default 30)")


def run(ws: Workstation, args: argparse.Namespace) -> Any:
    if args.review_command == "list":
        items = ws.oversight.queue(
            status=args.status,
            rule=args.rule,
            user=args.user,
            case_number=args.case,
            since=args.time_from,
            until=args.time_to,
            limit=args.limit,
            after=args.after,
        )
        rows = [_dump(i) for i in items] if args.json else [_row(i) for i in items]
        return {"items": rows}
    if args.review_command == "show":
        return _dump(ws.oversight.item(args.item_id))
    if args.review_command == "decide":
        return _dump(ws.oversight.decide(args.item_id, decision=args.decision, note=args.note))
    if args.review_command == "approve-sample":
        decided = ws.oversight.approve_sample(args.item_ids, note=args.note)
        return {"items": [_dump(i) if args.json else _row(i) for i in decided]}
    if args.review_command == "reads":
        return ws.oversight.reads(args.item_id).model_dump(mode="json")
    if args.review_command == "around":
        searches = ws.oversight.searches_around(args.item_id, hours=args.hours)
        return {"searches": [s.model_dump(mode="json") for s in searches]}
    if args.review_command == "inbox":
        return {"requests": [r.model_dump(mode="json") for r in ws.oversight.inbox()]}
    if args.review_command == "operators":
        return operators_result(ws.insights.operators(days=args.days), as_json=args.json)
    ws.oversight.answer(args.item_id, text=args.text)
    return {"item_id": args.item_id, "status": "answered"}


def _dump(item: ReviewItemPublic) -> dict[str, Any]:
    return item.model_dump(mode="json")


def _row(item: ReviewItemPublic) -> dict[str, Any]:
    """One line of the queue for people: the item, who, when, the case, why flagged."""
    return {
        "item_id": item.item_id,
        "occurred_at": item.occurred_at,
        "username": item.username,
        "case_number": item.case_number,
        "status": item.status,
        "severity": item.severity,
        "rules": ", ".join(rule.rule for rule in item.rules),
        "results": item.result_count,
    }
