"""Operator insights at volume: a supervisor's unit of 50 users over 30 days
(hub.insights.operator_insights: load the users' searches and refusals, analyse them),
over --events audit events (default 1,000,000, 500 users over 60 days) on PostgreSQL.

Target (issue 21): <= 2 s. Baseline, measured in the same run on the same data: the
same computation without the 0016 index (audit_events (username, occurred_at)).
Prints JSON. Run from the checkout with PYTHONPATH=.
"""

from __future__ import annotations

import argparse
import json
import time

from bench.audit_volume import END, UNIT_USERS, audit_hub, percentile, set_index, supervisor
from hub.core.db import Database
from hub.insights import operator_insights

TARGET_S = 2.0
DAYS = 30


def _run(database: Database, runs: int) -> tuple[list[float], int, int]:
    caller = supervisor(database)
    samples, searches, users = [], 0, 0
    for _ in range(runs):
        started = time.perf_counter()
        with database.read() as connection:
            found = operator_insights(connection, caller, days=DAYS, now=END)
        samples.append(time.perf_counter() - started)
        searches = sum(o.searches for o in found.operators)
        users = len(found.operators)
    return samples, searches, users


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    started = time.perf_counter()
    with audit_hub(args.events) as database:
        fill_s = time.perf_counter() - started
        set_index(database, present=False)
        baseline, _, _ = _run(database, max(1, args.runs // 2))
        set_index(database, present=True)
        timed, searches, users = _run(database, args.runs)
    assert users == UNIT_USERS, users
    print(json.dumps({
        "benchmark": "operator_insights_unit_postgresql",
        "events": args.events,
        "unit_users": users,
        "days": DAYS,
        "searches_analysed": searches,
        "fill_s": round(fill_s, 1),
        "baseline_without_0016_index_s": round(min(baseline), 3),
        "s": {"min": round(min(timed), 3), "max": round(max(timed), 3),
              "p50": round(percentile(timed, 50), 3)},
        "target_s": TARGET_S,
        "ok": max(timed) <= TARGET_S,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
