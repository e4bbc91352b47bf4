"""The audit trail browser's search at volume: one user's events on one day, as a
supervisor of their unit (hub.audit_search.search_events, and the `audit.search` event
the route records, in one transaction), over --events audit events (default 1,000,000)
on PostgreSQL.

Target (issue 21): <= 200 ms p95. Baseline, measured in the same run on the same data:
the same searches without the 0016 index (audit_events (username, occurred_at)).
Prints JSON. Run from the checkout with PYTHONPATH=.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import timedelta

from bench.audit_volume import (
    DAYS,
    END,
    UNIT_USERS,
    audit_hub,
    percentile,
    set_index,
    supervisor,
)
from hub.audit_search import record_search, search_events
from hub.core.db import Database

TARGET_P95_MS = 200


def _run(database: Database, queries: list[tuple[str, int]]) -> tuple[list[float], int]:
    caller = supervisor(database)
    samples, found = [], 0
    for username, day in queries:
        since = END - timedelta(days=DAYS - day)
        started = time.perf_counter()
        with database.write() as connection:
            page = search_events(
                connection, caller, username=username, time_from=since,
                time_to=since + timedelta(days=1), limit=100,
            )  # fmt: skip
            record_search(connection, caller, {"user": username}, now=END)
        samples.append((time.perf_counter() - started) * 1000)
        found += len(page.events)
    return samples, found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=40)
    args = parser.parse_args()
    rng = random.Random(21)
    queries = [
        (f"user{rng.randrange(UNIT_USERS)}", rng.randrange(DAYS)) for _ in range(args.queries)
    ]
    started = time.perf_counter()
    with audit_hub(args.events) as database:
        fill_s = time.perf_counter() - started
        set_index(database, present=False)
        baseline, baseline_found = _run(database, queries)
        set_index(database, present=True)
        _run(database, queries[:3])  # warm the index's pages
        timed, found = _run(database, queries)
    assert found == baseline_found, (found, baseline_found)
    print(json.dumps({
        "benchmark": "audit_search_user_day_postgresql",
        "events": args.events,
        "queries": args.queries,
        "events_found_per_query": round(found / args.queries, 1),
        "fill_s": round(fill_s, 1),
        "baseline_without_0016_index_ms": {"p50": percentile(baseline, 50),
                                           "p95": percentile(baseline, 95)},
        "ms": {"p50": percentile(timed, 50), "p95": percentile(timed, 95)},
        "target_p95_ms": TARGET_P95_MS,
        "ok": percentile(timed, 95) <= TARGET_P95_MS,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
