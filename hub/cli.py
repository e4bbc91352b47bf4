"""`platedesk-hub`: init, demo-seed, serve, audit-verify, purge, transparency... JSON on stdout.

User errors are one line on stderr and exit code 1 (2 for bad arguments, as
argparse does); never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app.core.errors import KnownError
from app.core.schemas import Role
from hub.context import system_clock
from hub.core.config import HubSettings, create_secret, load_secret, record_image_store
from hub.core.db import Database, drop_everything, migrate
from hub.db.tables import users

log = logging.getLogger("hub.cli")


def _settings(args: argparse.Namespace) -> HubSettings:
    return HubSettings(
        data_dir=Path(args.data).resolve(),
        database_url=args.db,
        image_store=getattr(args, "image_store", None),
    )


def _print(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


def _init(settings: HubSettings) -> tuple[Database, str]:
    from hub.images import S3ImageStore, open_image_store

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = open_image_store(settings)
    if isinstance(store, S3ImageStore):
        store.check()  # the bucket answers to the keys before the hub is set up on it
        record_image_store(settings, store.name)
    else:
        settings.images_dir.mkdir(parents=True, exist_ok=True)
    create_secret(settings.secret_path)
    database = Database(settings.sqlalchemy_url)
    try:
        revision = migrate(database)
    except sa.exc.OperationalError as exc:
        database.dispose()
        raise KnownError(
            f"Cannot open the database ({type(exc.orig).__name__}); check --db and that the "
            "server is running."
        ) from None
    return database, revision


def cmd_init(args: argparse.Namespace) -> int:
    settings = _settings(args)
    database, revision = _init(settings)
    database.dispose()
    _print(
        {
            "data": str(settings.data_dir),
            "database": database.kind,
            "revision": revision,
            "image_store": settings.image_store_url or str(settings.images_dir),
        }
    )
    return 0


def cmd_demo_seed(args: argparse.Namespace) -> int:
    from hub.simulate.seed import SeedOptions, seed_demo

    settings = _settings(args)
    if args.reset:
        from hub.merkle_log import CHECKPOINTS_FILE_NAME

        database = Database(settings.sqlalchemy_url)
        drop_everything(database, settings)
        database.dispose()
        (settings.data_dir / CHECKPOINTS_FILE_NAME).unlink(missing_ok=True)  # a new log
    database, _revision = _init(settings)
    try:
        with database.read() as connection:
            existing = connection.execute(
                sa.select(sa.func.count()).select_from(users)
            ).scalar_one()
        if existing:
            raise KnownError("This hub already holds data; pass --reset to wipe it and seed again.")
        started = time.perf_counter()
        result = seed_demo(
            settings,
            database,
            SeedOptions(
                cameras=args.cameras, days=args.days, reads_per_day=args.reads_per_day,
                seed=args.seed,
            ),
            now=system_clock(),
        )  # fmt: skip
        result["seconds"] = round(time.perf_counter() - started, 2)
    finally:
        database.dispose()
    _print(result)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.core.heap import freeze_startup_objects
    from hub.main import create_app

    settings = _settings(args)
    load_secret(settings)  # refuse before touching the database
    if bool(args.tls_cert) != bool(args.tls_key):
        raise KnownError("Give both --tls-cert and --tls-key, or neither.")
    database = Database(settings.sqlalchemy_url)
    migrate(database)  # once, before any worker starts
    scheme = "https" if args.tls_cert else "http"
    if args.workers > 1:
        try:
            return _serve_workers(args, settings, database, scheme=scheme)
        finally:
            database.dispose()
    app = create_app(settings, database=database)

    config = uvicorn.Config(app, **_uvicorn_options(args))
    server = uvicorn.Server(config)
    original_startup = server.startup

    async def startup(sockets: Any = None) -> None:
        await original_startup(sockets=sockets)
        _print({"listening": f"{scheme}://{args.host}:{args.port}"})

    server.startup = startup  # type: ignore[method-assign]
    freeze_startup_objects()
    try:
        server.run()
    finally:
        database.dispose()
    return 0


def _uvicorn_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "host": args.host,
        "port": args.port,
        "ssl_certfile": args.tls_cert,
        "ssl_keyfile": args.tls_key,
        "log_level": "warning",
        "access_log": False,  # request lines would carry plates and cursors in query strings
    }


WORKER_APP = "hub.main:create_worker_app"


def worker_environment(settings: HubSettings) -> dict[str, str | None]:
    """The PLATEDESK_HUB_* variables a `serve --workers N` worker builds its settings
    from (None: unset): this data folder and database, and no retention job."""
    return {
        "PLATEDESK_HUB_DATA_DIR": str(settings.data_dir),
        "PLATEDESK_HUB_DATABASE_URL": settings.database_url,
        "PLATEDESK_HUB_RETENTION_JOB": "false",
    }


def _serve_workers(
    args: argparse.Namespace, settings: HubSettings, database: Database, *, scheme: str
) -> int:
    """Serve with N worker processes sharing one listening socket (uvicorn's supervisor).

    This process has applied the migrations; it creates the audit checkpoint key
    (so no two workers race to), binds the socket, runs the daily retention purge
    on a thread of its own (each worker has the job off: hub.jobs) and restarts a
    worker that dies. SQLite serves several processes in WAL mode with a busy
    timeout, and writers queue on BEGIN IMMEDIATE (hub.core.db). Connections made
    before the workers are up wait in the socket's backlog.
    """
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from hub.jobs import RetentionThread
    from hub.merkle_log import load_signing_key

    load_signing_key(settings.data_dir)
    for name, value in worker_environment(settings).items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    config = uvicorn.Config(
        WORKER_APP, factory=True, workers=args.workers, **_uvicorn_options(args)
    )
    sock = config.bind_socket()
    job = RetentionThread(settings, database) if settings.retention_job else None
    try:
        if job is not None:
            job.start()
        _print({"listening": f"{scheme}://{args.host}:{args.port}", "workers": args.workers})
        Multiprocess(config, sockets=[sock]).run()
    finally:
        if job is not None:
            job.stop()
        sock.close()
    return 0


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


HUB_CLI = "platedesk-hub"


def _open(args: argparse.Namespace) -> tuple[HubSettings, Database]:
    """An initialized hub's settings and migrated database."""
    settings = _settings(args)
    load_secret(settings)
    database = Database(settings.sqlalchemy_url)
    migrate(database)
    return settings, database


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


def _read_password() -> str:
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise KnownError("Give the new user's password on standard input (one line).")
    return password


def cmd_user_add(args: argparse.Namespace) -> int:
    from datetime import date

    from pydantic import ValidationError

    from app.core.schemas import UserCreate
    from hub.admin import add_user
    from hub.core.security import PasswordService

    try:
        body = UserCreate(
            username=args.username,
            display_name=args.display_name,
            role=args.role,
            password=_read_password(),
            training_valid_until=date.fromisoformat(args.training_until)
            if args.training_until
            else None,
            unit=args.unit,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise KnownError(f"The new user is not valid: {where}: {first['msg']}.") from None
    except ValueError:
        raise KnownError("--training-until must be a date, YYYY-MM-DD.") from None
    settings, database = _open(args)
    try:
        with database.write() as connection:
            created = add_user(
                connection, PasswordService(settings), body, by=HUB_CLI, now=system_clock()
            )
    finally:
        database.dispose()
    _print(
        {
            "username": created.user.username,
            "role": created.user.role.value,
            "unit": created.user.unit,
            "totp_secret": created.totp_secret,
            "provisioning_uri": created.provisioning_uri,
        }
    )
    return 0


def cmd_user_unlock(args: argparse.Namespace) -> int:
    from hub.accounts import release_lock

    _, database = _open(args)
    try:
        with database.write() as connection:
            found = release_lock(connection, username=args.username, now=system_clock(), by=HUB_CLI)
    finally:
        database.dispose()
    if not found:
        raise KnownError(f"No user named {args.username}; check the user name.")
    _print({"username": args.username, "locked": False})
    return 0


def cmd_user_set_unit(args: argparse.Namespace) -> int:
    from hub.admin import set_unit
    from hub.errors import HubError

    _, database = _open(args)
    try:
        with database.write() as connection:
            user = set_unit(
                connection,
                username=args.username,
                unit=None if args.unit.strip().lower() == "none" else args.unit,
                by=HUB_CLI,
                now=system_clock(),
            )
    except HubError as exc:
        raise KnownError(exc.message) from None
    finally:
        database.dispose()
    _print({"username": user.username, "unit": user.unit})
    return 0


def cmd_policy_show(args: argparse.Namespace) -> int:
    from hub.flag_policy import load_policy, policy_path

    settings = _settings(args)
    policy = load_policy(settings.data_dir)
    _print(
        {
            "file": str(policy_path(settings.data_dir)),
            "exists": policy_path(settings.data_dir).exists(),
            "policy": policy.model_dump(mode="json"),
        }
    )
    return 0


def cmd_policy_set(args: argparse.Namespace) -> int:
    from app.core.flag_rules import parse_policy_value
    from hub.flag_policy import change_policy, load_policy

    value = parse_policy_value(args.key, args.value)
    settings, database = _open(args)
    try:
        old = load_policy(settings.data_dir).model_dump(mode="json")[args.key]
        with database.write() as connection:
            policy = change_policy(
                connection, settings.data_dir, {args.key: value}, by=HUB_CLI, now=system_clock()
            )
    finally:
        database.dispose()
    new = policy.model_dump(mode="json")
    _print({"key": args.key, "old": old, "new": new[args.key], "policy": new})
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
    _print(
        {
            "month": report.month,
            "out": str(out),
            "searches": figures.searches,
            "refused_searches": figures.refused_searches,
            "flagged_searches": figures.flagged_searches,
            "refusals": len(report.refusals),
            "partner_agencies": [access.agency for access in report.partner_accesses],
        }
    )
    return 0


def cmd_hotlist_import(args: argparse.Namespace) -> int:
    from hub.flag_policy import current_policy
    from hub.hotlists import import_csv
    from hub.slices import Caller

    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise KnownError(
            f"Cannot read {path} ({exc.__class__.__name__}); give a UTF-8 CSV file."
        ) from None
    settings, database = _open(args)
    caller = Caller(user_id=0, username=HUB_CLI, role=Role.ADMIN, session_id="")
    try:
        with database.write() as connection:
            result = import_csv(
                connection,
                caller,
                text,
                now=system_clock(),
                case_number_pattern=settings.case_number_pattern,
                origin=f"cli:{path.name}",
                policy=current_policy(settings.data_dir),
            )
    finally:
        database.dispose()
    _print(result.model_dump(mode="json"))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="platedesk-hub", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--data", required=True, help="the hub's data folder")
        sub.add_argument("--db", default=None, help="postgresql://... (default: SQLite in DATA)")

    init = commands.add_parser("init", help="create the data folder, secret and schema")
    common(init)
    init.add_argument(
        "--image-store",
        default=None,
        metavar="s3://BUCKET[/PREFIX]",
        help="keep images in this bucket of an S3 API (endpoint and keys from "
        "AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY); default: DATA/images",
    )
    init.set_defaults(handler=cmd_init)

    seed = commands.add_parser("demo-seed", help="fill the hub with demo users, cases and reads")
    common(seed)
    seed.add_argument("--cameras", type=int, default=6)
    seed.add_argument("--days", type=int, default=3)
    seed.add_argument("--reads-per-day", type=int, default=400, help="per camera")
    seed.add_argument("--seed", type=int, default=7)
    seed.add_argument("--reset", action="store_true", help="wipe the hub first")
    seed.set_defaults(handler=cmd_demo_seed)

    serve = commands.add_parser("serve", help="run the hub (applies migrations first)")
    common(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8750)
    serve.add_argument("--tls-cert", default=None)
    serve.add_argument("--tls-key", default=None)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes (default 1); with more, the retention purge runs in the "
        "supervising process",
    )
    serve.set_defaults(handler=cmd_serve)

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

    user = commands.add_parser("user", help="add a user or release a locked account")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    add = user_commands.add_parser("add", help="add a user (password on standard input)")
    common(add)
    add.add_argument("--username", required=True)
    add.add_argument("--role", required=True, choices=[role.value for role in Role])
    add.add_argument("--display-name", required=True)
    add.add_argument("--training-until", default=None, help="YYYY-MM-DD")
    add.add_argument("--unit", default=None, help="the unit whose supervisors review the user")
    add.set_defaults(handler=cmd_user_add)
    set_unit = user_commands.add_parser("set-unit", help="put a user in a unit (none: no unit)")
    common(set_unit)
    set_unit.add_argument("--username", required=True)
    set_unit.add_argument("--unit", required=True, help="the unit's name, or none")
    set_unit.set_defaults(handler=cmd_user_set_unit)
    unlock = user_commands.add_parser("unlock", help="release a locked account")
    common(unlock)
    unlock.add_argument("--username", required=True)
    unlock.set_defaults(handler=cmd_user_unlock)

    policy = commands.add_parser("policy", help="the flag rules' thresholds (audited changes)")
    policy_commands = policy.add_subparsers(dest="policy_command", required=True)
    policy_show = policy_commands.add_parser("show", help="print the flag policy")
    common(policy_show)
    policy_show.set_defaults(handler=cmd_policy_show)
    policy_set = policy_commands.add_parser(
        "set", help="change one setting (lists: comma-separated; sample_seed none: random)"
    )
    common(policy_set)
    policy_set.add_argument("key", help="e.g. max_window_days")
    policy_set.add_argument("value")
    policy_set.set_defaults(handler=cmd_policy_set)

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

    monthly = commands.add_parser(
        "transparency-report",
        help="write the council's monthly transparency report as PDF (figures, refusals, "
        "partner accesses)",
    )
    common(monthly)
    monthly.add_argument("--month", required=True, help="YYYY-MM (UTC), e.g. 2026-11")
    monthly.add_argument("--out", required=True, metavar="FILE.pdf", help="where to write it")
    monthly.set_defaults(handler=cmd_transparency_report)

    hotlist = commands.add_parser("hotlist", help="hotlist entries (plates of interest)")
    hotlist_commands = hotlist.add_subparsers(dest="hotlist_command", required=True)
    hotlist_import = hotlist_commands.add_parser(
        "import",
        help="import a CSV (plate,state,reason,source,case_number,expires_at[,unit]); "
        "all lines or none",
    )
    common(hotlist_import)
    hotlist_import.add_argument("file", metavar="FILE.csv")
    hotlist_import.set_defaults(handler=cmd_hotlist_import)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for name, minimum in (("cameras", 1), ("days", 1), ("reads_per_day", 1), ("workers", 1)):
        if getattr(args, name, minimum) < minimum:
            sys.stderr.write(
                f"platedesk-hub: --{name.replace('_', '-')} must be at least {minimum}\n"
            )
            return 2
    try:
        code: int = args.handler(args)
    except KnownError as exc:
        sys.stderr.write(f"platedesk-hub: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
