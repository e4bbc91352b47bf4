"""The supervisor's review queue: its first page with 1,000,000 audit events at the hub.

Fills a scratch PostgreSQL database (--db, default the test server) with --events
audit events (the hub's own chain: searches, flags, decisions), a search log of
the searches among them, and the review items the flags filed (one in 16 events,
over 50 users in 5 units; 5% still pending, the rest decided), then times the
first page of GET /api/v1/review/items (limit 50, the desk's page) for a supervisor
of one unit, through the hub app in process (FastAPI TestClient).

Target (issue 21): first page <= 100 ms p95. Baselines measured in the same run:
GET /api/v1/me (the route's fixed cost: authentication and one query) and the
page's SQL alone, with the queue's index (0017) and with the index defeated
(ORDER BY severity + 0: a sort of the unit's items). Prints one JSON object.
Run from the checkout with PYTHONPATH=. (it reuses the hub test seed).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.core.canonical import utc_iso
from bench.bench_hub_search import scratch_database
from hub.core.config import create_secret
from hub.core.db import Database, migrate
from hub.core.security import PasswordService
from hub.db.tables import users
from hub.main import create_app
from tests.hub.hub_support import FakeClock, HubFixture, fast_settings, seed_small

UNITS = [f"unit-{n}" for n in range(1, 6)]
USERS = [f"officer{n:02d}" for n in range(1, 51)]
RULE_SETS = [
    (1, [{"rule": "random_sample", "reason": "Picked for the routine audit."}]),
    (1, [{"rule": "off_hours", "reason": "Run inside the off hours."}]),
    (2, [{"rule": "overbroad_pattern", "reason": "The pattern pins down 1 character."}]),
    (2, [{"rule": "long_window", "reason": "The window covers 9.0 days."}]),
    (3, [{"rule": "case_not_assigned", "reason": "The user is not assigned to the case."}]),
]
PAGE = 50


def _p95(samples: list[float]) -> float:
    return round(statistics.quantiles(samples, n=20)[-1] * 1000, 2)


def _timed(call: Callable[[], object], runs: int) -> list[float]:
    call()  # warm
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def _fill(url: str, events: int, now: datetime, seed: int) -> dict[str, int]:
    """COPY the audit events, the search log and the review items in."""
    rng = random.Random(seed)
    items = events // 16
    searches = events // 3
    counts = {"audit_events": 0, "search_log": 0, "review_items": 0, "pending": 0}
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as connection:
        with connection.cursor().copy(
            "COPY audit_events (event_id, device_id, username, session_id, seq, occurred_at, "
            "action, object_refs, params, outcome, prev_hash, hash, received_at, late) "
            "FROM STDIN"
        ) as copy:
            for seq in range(1, events + 1):
                at = now - timedelta(seconds=rng.randrange(30 * 86400))
                action = rng.choice(("search.request", "slice.request", "flag.raise",
                                     "image.fetch", "review.decision", "sync.page"))  # fmt: skip
                copy.write_row((
                    uuid.uuid4().hex, "bench-device", rng.choice(USERS), "s", seq, utc_iso(at),
                    action, '{"case_number":"2026-000777"}', '{"n":1}', "ok", "0" * 64,
                    f"{seq:064x}", at, False,
                ))  # fmt: skip
        counts["audit_events"] = events
        with connection.cursor().copy(
            "COPY search_log (username, source, case_number, purpose, params, result_count, "
            "occurred_at, item_id) FROM STDIN"
        ) as copy:
            for _ in range(searches):
                at = now - timedelta(seconds=rng.randrange(30 * 86400))
                copy.write_row((rng.choice(USERS), "search", "2026-000777", "robbery",
                                '{"plate_pattern":"7K2*"}', rng.randrange(500), at, None))  # fmt: skip
        counts["search_log"] = searches
        with connection.cursor().copy(
            "COPY review_items (item_id, source, username, unit, case_number, purpose, "
            "justification, params, result_count, occurred_at, flagged_at, rules, event_id, "
            "slice_id, status, updated_at, severity) FROM STDIN"
        ) as copy:
            for n in range(items):
                user = rng.choice(USERS)
                at = now - timedelta(seconds=rng.randrange(30 * 86400))
                severity, rules = rng.choice(RULE_SETS)
                pending = rng.random() < 0.05
                counts["pending"] += pending
                copy.write_row((
                    f"{n:032x}", "search", user, UNITS[USERS.index(user) % len(UNITS)],
                    "2026-000777", "robbery", "Suspect vehicle.", '{"plate_pattern":"7K2*"}',
                    rng.randrange(500), at, at, json.dumps(rules), None, None,
                    "open" if pending else "approved", at, severity,
                ))  # fmt: skip
        counts["review_items"] = items
        connection.commit()
        connection.execute("ANALYZE")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument(
        "--db",
        default=os.environ.get("PLATEDESK_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test"),
        help="postgresql://... server (a scratch database is made there)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, scratch_database(args.db) as db_url:
        settings = fast_settings(Path(folder) / "data", db_url)
        settings.data_dir.mkdir()
        create_secret(settings.secret_path)
        database = Database(settings.sqlalchemy_url)
        migrate(database)
        clock = FakeClock()
        with TestClient(create_app(settings, database=database, clock=clock)) as client:
            hub = HubFixture(settings, database, client, clock, totp={})
            seed_small(hub, PasswordService(settings), count=10)
            with database.write() as connection:
                connection.execute(
                    users.update().where(users.c.username == "supervisor").values(unit=UNITS[0])
                )
            started = time.perf_counter()
            counts = _fill(settings.sqlalchemy_url, args.events, clock.now, seed=21)
            fill_s = time.perf_counter() - started
            headers = hub.headers("supervisor")

            def first_page() -> None:
                reply = client.get("/api/v1/review/items", params={"limit": PAGE}, headers=headers)
                assert reply.status_code == 200, reply.text
                assert 0 < len(reply.json()) <= PAGE

            def me() -> None:
                assert client.get("/api/v1/me", headers=headers).status_code == 200

            page = _timed(first_page, args.runs)
            fixed = _timed(me, args.runs)
            sql = (
                "SELECT item_id FROM review_items WHERE unit = :unit AND username != :me "
                "AND status IN ('open', 'justification_requested', 'answered') "
                "ORDER BY {key} DESC, occurred_at DESC, item_id DESC LIMIT 50"
            )

            def query(key: str) -> Callable[[], object]:
                text = sa.text(sql.format(key=key))

                def run() -> object:
                    with database.read() as connection:
                        return connection.execute(
                            text, {"unit": UNITS[0], "me": "supervisor"}
                        ).all()

                return run

            indexed = _timed(query("severity"), args.runs)
            unindexed = _timed(query("severity + 0"), args.runs)
        database.dispose()
    print(
        json.dumps(
            {
                "benchmark": "review_queue_first_page_postgresql",
                **counts,
                "fill_s": round(fill_s, 1),
                "page_size": PAGE,
                "runs": args.runs,
                "first_page_p95_ms": _p95(page),
                "first_page_median_ms": round(statistics.median(page) * 1000, 2),
                "target_first_page_p95_ms": 100,
                "baseline_me_route_p95_ms": _p95(fixed),
                "page_sql_indexed_p95_ms": _p95(indexed),
                "baseline_page_sql_without_index_p95_ms": _p95(unindexed),
                "load_average": [round(x, 2) for x in os.getloadavg()],
            }
        )
    )


if __name__ == "__main__":
    main()
