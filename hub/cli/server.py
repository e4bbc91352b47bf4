"""`platedesk-hub init`, `demo-seed` and `serve` (one process, or `--workers N`)."""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import sqlalchemy as sa

from app.core.errors import KnownError
from hub.cli.common import Commands, _print, _settings, common
from hub.context import system_clock
from hub.core.config import HubSettings, create_secret, load_secret, record_image_store
from hub.core.db import Database, drop_everything, migrate
from hub.db.tables import users


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


def register(commands: Commands) -> None:
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
