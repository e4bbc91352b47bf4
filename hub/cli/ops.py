"""`platedesk-hub audit-verify`, `audit-checkpoint`, `purge`, `transparency`, `simulate`
and `feed add`: the hub's running and checking."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

from app.core.errors import KnownError
from hub.cli.common import HUB_CLI, Commands, _open, _print, _settings, common
from hub.context import system_clock
from hub.core.config import load_secret
from hub.core.db import Database, migrate

log = logging.getLogger("hub.cli")


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Every chain, head and registered device, and the log against every checkpoint
    the hub published (DATA/audit-checkpoints.jsonl) and those kept elsewhere
    (--checkpoints FILE, the lines audit-checkpoint printed)."""
    from hub.audit import verify_hub

    settings = _settings(args)
    load_secret(settings)
    external = [Path(path) for path in args.checkpoints]
    database = Database(settings.sqlalchemy_url)
    try:
        migrate(database)
        # One snapshot for every query (a live hub keeps writing): on PostgreSQL a
        # REPEATABLE READ transaction; SQLite's read transaction is one already.
        options = {"isolation_level": "REPEATABLE READ"} if database.is_postgresql else {}
        with (
            database.engine.connect().execution_options(**options) as connection,
            connection.begin(),
        ):
            report = verify_hub(connection, data_dir=settings.data_dir, external=external)
    finally:
        database.dispose()
    _print(report.as_json())
    return 0 if report.chains_ok else 1


def cmd_audit_checkpoint(args: argparse.Namespace) -> int:
    """Sign the audit log as it stands now (kept with the published ones) and print the
    checkpoint as one JSON line; --all prints every published checkpoint, one per line.
    Append the output to a file kept outside the hub (`audit-verify --checkpoints`)."""
    from hub.merkle_log import CHECKPOINTS_FILE_NAME, AuditLog, read_checkpoints

    settings = _settings(args)
    load_secret(settings)
    if args.all:
        lines, problems = read_checkpoints(
            settings.data_dir / CHECKPOINTS_FILE_NAME, missing_ok=True
        )
        for line in lines:
            sys.stdout.write(line.checkpoint.model_dump_json() + "\n")
        sys.stdout.flush()
        for problem in problems:
            log.warning("%s", problem)
        return 1 if problems else 0
    database = Database(settings.sqlalchemy_url)
    try:
        migrate(database)
        with database.read() as connection:
            checkpoint = AuditLog.open(settings.data_dir).checkpoint(connection, now=system_clock())
    finally:
        database.dispose()
    sys.stdout.write(checkpoint.model_dump_json() + "\n")
    sys.stdout.flush()
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    import random

    from hub.admin import create_feed_token
    from hub.images import open_image_store
    from hub.simulate.http_feed import post_reads
    from hub.simulate.traffic import (
        camera_facing,
        default_workers,
        ensure_cameras,
        generate_traffic,
        render_scenes,
        write_bulk,
    )

    if not args.bulk and not args.url:
        raise KnownError(
            "Give --url HUB_URL to feed the ingest API, or --bulk to write the database."
        )
    if args.bulk and args.url:
        raise KnownError("--bulk writes the database directly; leave out --url.")
    settings, database = _open(args)
    try:
        now = system_clock()
        rng = random.Random(args.seed)  # noqa: S311 (simulated traffic)
        started = time.perf_counter()
        with database.write() as connection:
            camera_ids = ensure_cameras(connection, rng, args.cameras)
            facing = camera_facing(connection)
            token = args.camera_token
            if args.url and not token:
                from app.core.schemas import FeedTokenCreate

                token = create_feed_token(
                    connection, FeedTokenCreate(name="simulator"), by=HUB_CLI, now=now
                ).token
        rows, specs = generate_traffic(
            rng, camera_ids, days=args.days, reads_per_day=args.reads_per_day, now=now,
            facing=facing,
        )  # fmt: skip
        if args.bulk:
            count = write_bulk(database, open_image_store(settings), rows, specs, now=now)
            result: dict[str, Any] = {"reads": count}
        else:
            rendered = render_scenes(specs, default_workers())
            counts = post_reads(
                args.url,
                token,
                ((row, image, crop) for row, (image, crop) in zip(rows, rendered, strict=True)),
            )
            result = {
                "reads": len(rows),
                "created": counts["created"],
                "duplicates": counts["duplicate"],
            }
    finally:
        database.dispose()
    result["seconds"] = round(time.perf_counter() - started, 2)
    result["mode"] = "bulk" if args.bulk else "http"
    _print(result)
    return 0


def cmd_feed_add(args: argparse.Namespace) -> int:
    from app.core.schemas import FeedTokenCreate
    from hub.admin import create_feed_token

    _, database = _open(args)
    try:
        with database.write() as connection:
            feed = create_feed_token(
                connection,
                FeedTokenCreate(name=args.name, camera_id=args.camera_id),
                by=HUB_CLI,
                now=system_clock(),
            )
    finally:
        database.dispose()
    _print(feed.model_dump(mode="json"))
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    from app.core.canonical import parse_utc
    from hub.db.types import to_ms
    from hub.images import open_image_store
    from hub.retention import purge

    now = system_clock()
    if args.now:
        try:
            now = to_ms(parse_utc(args.now))
        except ValueError:
            raise KnownError(
                "--now must be an ISO 8601 time with its zone, e.g. 2026-11-20T08:00:00Z."
            ) from None
    settings, database = _open(args)
    try:
        result = purge(
            database,
            open_image_store(settings),
            now=now,
            retention_days=settings.retention_days,
            by=HUB_CLI,
        )
    finally:
        database.dispose()
    _print(result.as_json())
    return 0


def cmd_transparency(args: argparse.Namespace) -> int:
    from hub.transparency import build_report

    settings, database = _open(args)
    try:
        with database.read() as connection:
            report = build_report(
                connection, now=system_clock(), retention_days=settings.retention_days
            )
    finally:
        database.dispose()
    _print(report.model_dump(mode="json"))
    return 0


def register(commands: Commands) -> None:
    verify = commands.add_parser(
        "audit-verify",
        help="verify every device's audit chain, its acknowledged head, and the log against "
        "every signed checkpoint",
    )
    common(verify)
    verify.add_argument(
        "--checkpoints",
        action="append",
        default=[],
        metavar="FILE",
        help="checkpoints kept outside the hub (lines printed by audit-checkpoint); repeatable",
    )
    verify.set_defaults(handler=cmd_audit_verify)

    checkpoint = commands.add_parser(
        "audit-checkpoint",
        help="sign the audit log now and print the checkpoint (JSON line) to keep elsewhere",
    )
    common(checkpoint)
    checkpoint.add_argument(
        "--all", action="store_true", help="print every checkpoint the hub has published"
    )
    checkpoint.set_defaults(handler=cmd_audit_checkpoint)

    simulate = commands.add_parser(
        "simulate", help="feed simulated camera traffic to the ingest API (or --bulk: the DB)"
    )
    common(simulate)
    simulate.add_argument("--url", default=None, help="the hub to post to, http(s)://HOST:PORT")
    simulate.add_argument(
        "--camera-token", default=None, help="a feed token (default: one is created)"
    )
    simulate.add_argument("--cameras", type=int, default=6)
    simulate.add_argument("--days", type=int, default=1)
    simulate.add_argument("--reads-per-day", type=int, default=400, help="per camera")
    simulate.add_argument("--seed", type=int, default=7)
    simulate.add_argument("--bulk", action="store_true", help="write the database directly")
    simulate.set_defaults(handler=cmd_simulate)

    feed = commands.add_parser("feed", help="camera feed tokens")
    feed_commands = feed.add_subparsers(dest="feed_command", required=True)
    feed_add = feed_commands.add_parser("add", help="create a feed token (shown once)")
    common(feed_add)
    feed_add.add_argument("--name", required=True)
    feed_add.add_argument("--camera-id", default=None, help="limit it to one camera")
    feed_add.set_defaults(handler=cmd_feed_add)

    purge = commands.add_parser(
        "purge", help="delete reads and images past retention unless held (audited)"
    )
    common(purge)
    purge.add_argument("--now", default=None, help="ISO 8601 time with zone (default: now)")
    purge.set_defaults(handler=cmd_purge)

    transparency = commands.add_parser(
        "transparency", help="print the public transparency figures (as /transparency.json)"
    )
    common(transparency)
    transparency.set_defaults(handler=cmd_transparency)
