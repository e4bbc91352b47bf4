"""`platedesk-hub`: init, demo-seed, serve, audit-verify. JSON on stdout.

User errors are one line on stderr and exit code 1 (2 for bad arguments, as
argparse does); never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app.core.errors import KnownError
from hub.context import system_clock
from hub.core.config import HubSettings, create_secret, load_secret
from hub.core.db import Database, drop_everything, migrate
from hub.db.tables import users

log = logging.getLogger("hub.cli")


def _settings(args: argparse.Namespace) -> HubSettings:
    return HubSettings(data_dir=Path(args.data).resolve(), database_url=args.db)


def _print(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


def _init(settings: HubSettings) -> tuple[Database, str]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
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
    _print({"data": str(settings.data_dir), "database": database.kind, "revision": revision})
    return 0


def cmd_demo_seed(args: argparse.Namespace) -> int:
    from hub.simulate.seed import SeedOptions, seed_demo

    settings = _settings(args)
    if args.reset:
        database = Database(settings.sqlalchemy_url)
        drop_everything(database, settings)
        database.dispose()
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

    from hub.main import create_app

    settings = _settings(args)
    load_secret(settings)  # refuse before touching the database
    if bool(args.tls_cert) != bool(args.tls_key):
        raise KnownError("Give both --tls-cert and --tls-key, or neither.")
    database = Database(settings.sqlalchemy_url)
    migrate(database)
    app = create_app(settings, database=database)
    scheme = "https" if args.tls_cert else "http"

    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        ssl_certfile=args.tls_cert,
        ssl_keyfile=args.tls_key,
        log_level="warning",
        access_log=False,  # request lines would carry plates and cursors in query strings
    )
    server = uvicorn.Server(config)
    original_startup = server.startup

    async def startup(sockets: Any = None) -> None:
        await original_startup(sockets=sockets)
        _print({"listening": f"{scheme}://{args.host}:{args.port}"})

    server.startup = startup  # type: ignore[method-assign]
    try:
        server.run()
    finally:
        database.dispose()
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from hub.audit import verify_all

    settings = _settings(args)
    load_secret(settings)
    database = Database(settings.sqlalchemy_url)
    try:
        migrate(database)
        with database.read() as connection:
            report = verify_all(connection)
    finally:
        database.dispose()
    _print(report.as_json())
    return 0 if report.chains_ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="platedesk-hub", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--data", required=True, help="the hub's data folder")
        sub.add_argument("--db", default=None, help="postgresql://... (default: SQLite in DATA)")

    init = commands.add_parser("init", help="create the data folder, secret and schema")
    common(init)
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
    serve.set_defaults(handler=cmd_serve)

    verify = commands.add_parser("audit-verify", help="verify every device's audit chain")
    common(verify)
    verify.set_defaults(handler=cmd_audit_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for name, minimum in (("cameras", 1), ("days", 1), ("reads_per_day", 1)):
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
