"""What flagging adds to a remote search: flag_search alone vs the whole search.

Fills a fresh hub (SQLite by default, or --db postgresql://...) with --reads reads
and --history earlier searches of the user in the last 24 hours (the volume rule
counts them), then times, each in its own write transaction, --runs remote
searches (create_slice kind "search", which flags them) and --runs flag_search
calls alone, with every search flagged (sample rate 1: a review item and a
`flag.raise` audit event each, the worst case), and --runs flag_search calls
that fire no rule (the usual case). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.core.flag_rules import FlagPolicy
from app.core.schemas import Role, SliceCreate
from bench.bench_hub_search import _fill, scratch_database
from hub.catalog import create_case
from hub.core.config import HubSettings, create_secret
from hub.core.db import Database, migrate
from hub.core.security import PasswordService
from hub.db.tables import search_log
from hub.db.types import to_ms
from hub.flags import SOURCE_SEARCH, SearchRecord, flag_search
from hub.slices import Caller, SliceRules, create_slice
from hub.users import create_user

CASE = "2026-000777"


def _ms(samples: list[float], q: int) -> float:
    return round(statistics.quantiles(samples, n=100)[q - 1] * 1000, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reads", type=int, default=50_000)
    parser.add_argument("--history", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--db", default=None, help="postgresql://... server (scratch database)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, scratch_database(args.db) as db_url:
        settings = HubSettings(
            data_dir=Path(folder), database_url=db_url, argon2_time_cost=1,
            argon2_memory_cost=8192, argon2_parallelism=1,
        )  # fmt: skip
        create_secret(settings.secret_path)
        database = Database(settings.sqlalchemy_url)
        migrate(database)
        now = to_ms(datetime.now(UTC))
        _fill(database, args.reads, now)
        with database.write() as connection:
            user_id = create_user(
                connection, PasswordService(settings), username="benchdet",
                password="violet-harbor-kettle", role=Role.DETECTIVE, totp_secret="A" * 32,  # noqa: S106 (a bench user)
                now=now, training_valid_until=now.date() + timedelta(days=30),
            )  # fmt: skip
            create_case(
                connection, case_number=CASE, title="Bench", offense_category="robbery",
                now=now, pattern=settings.case_number_pattern, assigned_user_ids=[user_id],
            )  # fmt: skip
            step = timedelta(hours=23) / max(args.history, 1)
            connection.execute(
                search_log.insert(),
                [
                    {"username": "benchdet", "source": "workstation", "case_number": CASE,
                     "purpose": "robbery", "params": "{}", "result_count": 1,
                     "occurred_at": now - step * n}
                    for n in range(args.history)
                ],
            )  # fmt: skip
        policy = FlagPolicy(sample_rate=1.0, sample_seed="bench")
        caller = Caller(user_id, "benchdet", Role.DETECTIVE, "bench-session")
        rules = SliceRules(
            retention=timedelta(days=30),
            case_number_pattern=settings.case_number_pattern,
            read_limit=2_000_000,
            flag_policy=policy,
        )
        request = SliceCreate(
            case_number=CASE, purpose="robbery",
            justification="Suspect vehicle seen leaving the robbery scene on Lincolnway.",
            time_from=now - timedelta(days=2), time_to=now, camera_ids=["CAM-001"],
            plate_pattern="7K2*",
        )  # fmt: skip
        searches: list[float] = []
        flags: list[float] = []
        unflagged: list[float] = []
        quiet = FlagPolicy(
            sample_rate=0.0, off_hours_start=0, off_hours_end=0, daily_search_threshold=1_000_000
        )
        for run in range(args.runs):
            with database.write() as connection:
                begin = time.perf_counter()
                outcome = create_slice(connection, caller, request, rules, now=now, kind="search")
                searches.append(time.perf_counter() - begin)
            assert outcome.slice is not None
            record = SearchRecord(
                source=SOURCE_SEARCH, username="benchdet", case_number=CASE, purpose="robbery",
                params={"run": run}, result_count=outcome.slice.estimated_reads, occurred_at=now,
                pattern="7K2*", time_from=request.time_from, time_to=request.time_to,
                camera_ids=["CAM-001"], justification=request.justification,
                check_justification=True, case_assigned=True, key=f"bench-{run}",
            )  # fmt: skip
            with database.write() as connection:
                begin = time.perf_counter()
                assert flag_search(connection, record, policy=policy, now=now) is not None
                flags.append(time.perf_counter() - begin)
            with database.write() as connection:
                begin = time.perf_counter()
                assert flag_search(connection, record, policy=quiet, now=now) is None
                unflagged.append(time.perf_counter() - begin)
        result = {
            "bench": "flags",
            "database": database.kind,
            "reads": args.reads,
            "searches_in_day": args.history,
            "runs": args.runs,
            "search_with_flag_ms_p50": _ms(searches, 50),
            "search_with_flag_ms_p95": _ms(searches, 95),
            "flag_only_ms_p50": _ms(flags, 50),
            "flag_only_ms_p95": _ms(flags, 95),
            "not_flagged_ms_p50": _ms(unflagged, 50),
            "not_flagged_ms_p95": _ms(unflagged, 95),
            "flag_share_of_search_p50": round(
                statistics.median(flags) / statistics.median(searches), 3
            ),
        }
        database.dispose()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
