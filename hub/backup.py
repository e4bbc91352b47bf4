"""`platedesk-hub backup` and `restore`: the database and the image store together, checked.

A backup is a folder:
    manifest.json       what is in it: the database's kind, method and schema revision,
                        and the sha256 and size of every other file
    database.sqlite3    SQLite, copied by its online backup API (a consistent snapshot
                        of a running hub), or
    database.pgdump     PostgreSQL, by pg_dump's custom format (when pg_dump is
                        installed and not older than the server), or
    database.jsonl.gz   a portable dump through SQLAlchemy (any database; `--portable`,
                        or when pg_dump is missing): one JSON line per row
    data/...            the data folder's own files: the hub secret, the checkpoint
                        signing key, the published checkpoints, the flag policy
    images/...          the folder image store, as it is (an object store is not
                        copied: keep it with the bucket's own versioning/replication)

The database is copied first, then the images: an image written after the snapshot
is extra, never missing. Restore checks every file against the manifest before it
writes anything, and only into an empty data folder and an empty database; it then
applies the migrations (a backup of an older hub comes up to this version).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.errors import KnownError
from hub.audit import record_hub_event
from hub.core.config import DB_FILE_NAME, IMAGES_DIR_NAME, HubSettings
from hub.core.db import Database, current_revision, drop_everything, migrate
from hub.db.tables import metadata, reads

MANIFEST = "manifest.json"
FORMAT = "platedesk-hub-backup"
VERSION = 1
SQLITE_FILE = "database.sqlite3"
PGDUMP_FILE = "database.pgdump"
PORTABLE_FILE = "database.jsonl.gz"
DATA_PREFIX = "data/"
IMAGES_PREFIX = "images/"
_CHUNK = 1 << 20
# The data folder's files that are the database or the image store, not copied as files.
_NOT_DATA = {DB_FILE_NAME, DB_FILE_NAME + "-wal", DB_FILE_NAME + "-shm", IMAGES_DIR_NAME}
_PG_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)")  # pg_dump (PostgreSQL) 15.20 (Debian ...)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class BackupReport:
    folder: Path
    database: str
    method: str
    revision: str | None
    images: int
    files: int
    bytes: int
    image_store: str
    problems: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "backup": str(self.folder),
            "database": self.database,
            "method": self.method,
            "revision": self.revision,
            "images": self.images,
            "files": self.files,
            "bytes": self.bytes,
            "image_store": self.image_store,
        }


# backup -------------------------------------------------------------------------------
def _empty_target(folder: Path) -> None:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise KnownError(
            f"{folder} is not an empty folder; give a new folder for the backup "
            "(a backup never overwrites another)."
        )
    folder.mkdir(parents=True, exist_ok=True)


def _backup_sqlite(settings: HubSettings, target: Path) -> None:
    source = sqlite3.connect(f"file:{settings.data_dir / DB_FILE_NAME}?mode=ro", uri=True)
    try:
        destination = sqlite3.connect(target)
        try:
            source.backup(destination)
        finally:
            destination.close()
    finally:
        source.close()


def _libpq(url: str) -> tuple[list[str], dict[str, str]]:
    """pg_dump/pg_restore connection options for a SQLAlchemy URL (the password goes in
    the environment, never on the command line)."""
    parsed = sa.engine.make_url(url)
    args: list[str] = []
    if parsed.host:
        args += ["--host", parsed.host]
    if parsed.port:
        args += ["--port", str(parsed.port)]
    if parsed.username:
        args += ["--username", parsed.username]
    args += ["--dbname", parsed.database or ""]
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    return args, env


def pg_tool(name: str, database: Database) -> str | None:
    """The path of pg_dump/pg_restore when it is installed and not older than the server
    (an older one refuses a newer server's dump)."""
    path = shutil.which(name)
    if path is None:
        return None
    version = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    found = _PG_VERSION.search(version.stdout)
    with database.engine.connect() as connection:
        server = int(connection.exec_driver_sql("SHOW server_version_num").scalar_one()) // 10000
    if found is None or int(found.group(1)) < server:
        return None
    return path


def _backup_pg_dump(tool: str, database: Database, target: Path) -> None:
    args, env = _libpq(database.url)
    done = subprocess.run(
        [
            tool,
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            "--no-comments",
            "--file",
            str(target),
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise KnownError(f"pg_dump failed: {_tool_error(done.stderr)}")


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$t": value.astimezone(UTC).isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, bytes):
        return {"$b": value.hex()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "$t" in value:
            return datetime.fromisoformat(value["$t"])
        if "$d" in value:
            return date.fromisoformat(value["$d"])
        if "$b" in value:
            return bytes.fromhex(value["$b"])
    return value


def _backup_portable(database: Database, target: Path) -> None:
    options = {"isolation_level": "REPEATABLE READ"} if database.is_postgresql else {}
    with (
        database.engine.connect().execution_options(**options) as connection,
        connection.begin(),
        gzip.open(target, "wt", encoding="utf-8") as out,
    ):
        for table in metadata.sorted_tables:
            ordering = list(table.primary_key.columns) or list(table.columns)
            for row in connection.execute(sa.select(table).order_by(*ordering)).mappings():
                line = {"table": table.name, "row": {k: _encode(v) for k, v in row.items()}}
                out.write(json.dumps(line, separators=(",", ":")) + "\n")


def _copy_tree(source: Path, target: Path, prefix: str, files: dict[str, dict[str, Any]]) -> int:
    count = 0
    for path in sorted(source.rglob("*")):
        if not path.is_file() or path.name.startswith(".tmp-"):
            continue
        relative = path.relative_to(source).as_posix()
        copied = target / relative
        copied.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copied)
        files[prefix + relative] = {"sha256": sha256_file(copied), "size": copied.stat().st_size}
        count += 1
    return count


def backup(
    settings: HubSettings,
    database: Database,
    folder: Path,
    *,
    portable: bool = False,
    by: str,
    now: datetime,
) -> BackupReport:
    """Write a backup of this hub into `folder` (new or empty); then audit it
    (`admin.backup`, naming the folder and the manifest's sha256, so the log tells
    which backup is which)."""
    _empty_target(folder)
    files: dict[str, dict[str, Any]] = {}
    revision = current_revision(database)
    if portable:
        method, name = "portable", PORTABLE_FILE
        _backup_portable(database, folder / name)
    elif database.is_postgresql:
        tool = pg_tool("pg_dump", database)
        if tool is None:
            method, name = "portable", PORTABLE_FILE
            _backup_portable(database, folder / name)
        else:
            method, name = "pg_dump", PGDUMP_FILE
            _backup_pg_dump(tool, database, folder / name)
    else:
        method, name = "sqlite-backup", SQLITE_FILE
        _backup_sqlite(settings, folder / name)
    files[name] = {"sha256": sha256_file(folder / name), "size": (folder / name).stat().st_size}
    data_files = 0
    for path in sorted(settings.data_dir.iterdir()):
        if path.name in _NOT_DATA or not path.is_file():
            continue
        copied = folder / DATA_PREFIX / path.name
        copied.parent.mkdir(exist_ok=True)
        shutil.copyfile(path, copied)
        os.chmod(copied, 0o600)
        files[DATA_PREFIX + path.name] = {
            "sha256": sha256_file(copied),
            "size": copied.stat().st_size,
        }
        data_files += 1
    store = settings.image_store_url
    images = 0
    if store is None and settings.images_dir.is_dir():
        images = _copy_tree(settings.images_dir, folder / "images", IMAGES_PREFIX, files)
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "created_at": datetime.now(UTC).isoformat(),
        "database": {"kind": database.kind, "method": method, "file": name, "revision": revision},
        "image_store": store or "folder",
        "files": files,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    with database.write() as connection:
        record_hub_event(
            connection,
            action="admin.backup",
            now=now,
            username=by,
            object_refs={"folder": str(folder)},
            params={
                "method": method,
                "revision": revision,
                "files": len(files),
                "manifest_sha256": sha256_file(folder / MANIFEST),
            },
        )
    return BackupReport(
        folder=folder,
        database=database.kind,
        method=method,
        revision=revision,
        images=images,
        files=len(files),
        bytes=sum(entry["size"] for entry in files.values()),
        image_store=store or "folder",
    )


# restore ------------------------------------------------------------------------------
def read_manifest(folder: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KnownError(
            f"{folder} holds no {MANIFEST}; give the folder `platedesk-hub backup` wrote."
        ) from None
    except (OSError, ValueError) as exc:
        raise KnownError(f"{folder / MANIFEST} cannot be read ({type(exc).__name__}).") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise KnownError(f"{folder} is not a platedesk-hub backup this version can restore.")
    return manifest


def check_backup(folder: Path, manifest: dict[str, Any]) -> list[str]:
    """Every problem of the backup's files against its manifest (missing, changed)."""
    problems: list[str] = []
    for relative, entry in sorted(manifest["files"].items()):
        path = folder / relative
        if ".." in Path(relative).parts or Path(relative).is_absolute():
            problems.append(f"{relative}: not a path inside the backup")
        elif not path.is_file():
            problems.append(f"{relative}: missing")
        elif path.stat().st_size != entry["size"] or sha256_file(path) != entry["sha256"]:
            problems.append(f"{relative}: its sha256 differs from the manifest's (damaged)")
    return problems


def _database_empty(database: Database) -> bool:
    with database.engine.connect() as connection:
        return not sa.inspect(connection).get_table_names()


def _restore_portable(database: Database, source: Path, revision: str | None) -> None:
    from alembic import command

    from hub.core.db import _WRITE_OPTION, _alembic_config

    config = _alembic_config()
    with database.engine.connect() as connection:
        connection.execution_options(**{_WRITE_OPTION: True})
        config.attributes["connection"] = connection
        command.upgrade(config, revision or "head")
        connection.commit()
    tables = {table.name: table for table in metadata.sorted_tables}
    with database.write() as connection, gzip.open(source, "rt", encoding="utf-8") as lines:
        # The rows the migrations put in (the hub's chain head) give way to the backup's.
        for table in reversed(metadata.sorted_tables):
            if connection.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first():
                connection.execute(table.delete())
        batch: list[dict[str, Any]] = []
        current: str | None = None
        for text in lines:
            line = json.loads(text)
            if line["table"] != current and batch:
                _insert(connection, tables[current or ""], batch)
                batch = []
            current = line["table"]
            batch.append({key: _decode(value) for key, value in line["row"].items()})
            if len(batch) >= 2000:
                _insert(connection, tables[current], batch)
                batch = []
        if batch and current is not None:
            _insert(connection, tables[current], batch)
        if database.is_postgresql:
            _reset_sequences(connection)


def _insert(connection: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    if table is reads:
        from hub.partitions import ensure_day_partitions, utc_day

        ensure_day_partitions(connection, {utc_day(row["captured_at"]) for row in rows})
    connection.execute(table.insert(), rows)


def _reset_sequences(connection: Connection) -> None:
    """Each serial column's sequence past the restored rows' largest id."""
    for table in metadata.sorted_tables:
        for column in table.primary_key.columns:
            if column.autoincrement is not True:
                continue
            sequence = connection.execute(
                sa.text("SELECT pg_get_serial_sequence(:table, :column)"),
                {"table": table.name, "column": column.name},
            ).scalar()
            if sequence is None:
                continue
            connection.execute(
                sa.text(
                    f"SELECT setval(:sequence, COALESCE((SELECT max({column.name}) FROM "
                    f"{table.name}), 0) + 1, false)"
                ),
                {"sequence": sequence},
            )


def _restore_pg(database: Database, source: Path) -> None:
    tool = pg_tool("pg_restore", database)
    if tool is None:
        raise KnownError(
            "This backup was written by pg_dump; install pg_restore (PostgreSQL's client "
            "tools, as new as the server) to restore it."
        )
    args, env = _libpq(database.url)
    done = subprocess.run(
        [tool, "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
         *args, str(source)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise KnownError(f"pg_restore failed: {_tool_error(done.stderr)}")


def _tool_error(stderr: str) -> str:
    """The first error line of pg_dump's or pg_restore's output (the cause, not the query)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error:" in line]
    return (errors or lines or ["no message"])[0]


def restore(
    settings: HubSettings,
    folder: Path,
    *,
    open_database: Callable[[], Database],
    by: str,
    now: datetime,
) -> dict[str, Any]:
    """Restore a backup into an empty data folder (and empty database); checked first.
    The restored hub's log then records it (`admin.restore`, with the manifest's sha256
    that the original's `admin.backup` names)."""
    manifest = read_manifest(folder)
    problems = check_backup(folder, manifest)
    if problems:
        shown = "; ".join(problems[:10])
        more = f" ...and {len(problems) - 10} more" if len(problems) > 10 else ""
        raise KnownError(f"The backup is damaged, nothing was restored: {shown}{more}.")
    data = settings.data_dir
    if data.exists() and (not data.is_dir() or any(data.iterdir())):
        raise KnownError(
            f"{data} is not empty; restore only into a new, empty data folder "
            "(nothing of a running hub is ever overwritten)."
        )
    kind = "postgresql" if settings.database_url else "sqlite"
    db_entry = manifest["database"]
    method = db_entry["method"]
    if method == "sqlite-backup" and kind != "sqlite":
        raise KnownError(
            "This backup holds a SQLite database; restore it without --db (or take a "
            "--portable backup to move to PostgreSQL)."
        )
    if method == "pg_dump" and kind != "postgresql":
        raise KnownError("This backup holds a PostgreSQL dump; give --db postgresql://...")
    data.mkdir(parents=True, exist_ok=True)
    database = open_database()
    try:
        if kind == "postgresql" and not _database_empty(database):
            raise KnownError(
                "The database given with --db is not empty; create a new, empty database "
                "to restore into."
            )
        try:
            revision, images = _restore_into(settings, database, folder, manifest)
            with database.write() as connection:
                record_hub_event(
                    connection,
                    action="admin.restore",
                    now=now,
                    username=by,
                    object_refs={"folder": str(folder)},
                    params={
                        "method": method,
                        "backup_created_at": manifest["created_at"],
                        "backup_revision": db_entry["revision"],
                        "revision": revision,
                        "files_checked": len(manifest["files"]),
                        "manifest_sha256": sha256_file(folder / MANIFEST),
                    },
                )
        except BaseException as exc:
            _undo(settings, database)
            if isinstance(exc, KnownError | KeyboardInterrupt):
                raise
            if isinstance(exc, sa.exc.SQLAlchemyError | OSError | KeyError | ValueError):
                raise KnownError(
                    f"The backup could not be restored ({type(exc).__name__}); nothing of it "
                    "was kept: the data folder and the database are empty again."
                ) from exc
            raise
    finally:
        database.dispose()
    return {
        "data": str(data),
        "database": kind,
        "method": method,
        "revision": revision,
        "backup_revision": db_entry["revision"],
        "images": images,
        "files_checked": len(manifest["files"]),
        "image_store": manifest["image_store"],
    }


def _restore_into(
    settings: HubSettings, database: Database, folder: Path, manifest: dict[str, Any]
) -> tuple[str, int]:
    """The database, the data folder's files and the images; (schema revision, images)."""
    db_entry = manifest["database"]
    source = folder / db_entry["file"]
    method = db_entry["method"]
    if method == "sqlite-backup":
        shutil.copyfile(source, settings.data_dir / DB_FILE_NAME)
    elif method == "pg_dump":
        _restore_pg(database, source)
    else:
        _restore_portable(database, source, db_entry["revision"])
    for relative in manifest["files"]:
        if relative.startswith(DATA_PREFIX):
            target = settings.data_dir / relative[len(DATA_PREFIX) :]
            shutil.copyfile(folder / relative, target)
            os.chmod(target, 0o600)
    images = 0
    for relative in _images(manifest):
        target = settings.images_dir / relative[len(IMAGES_PREFIX) :]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(folder / relative, target)
        images += 1
    return migrate(database), images


def _undo(settings: HubSettings, database: Database) -> None:
    """Empty the data folder and the database a restore failed in (both were empty)."""
    if database.is_postgresql:
        with contextlib.suppress(sa.exc.SQLAlchemyError):
            drop_everything(database, settings)
    database.dispose()
    for path in settings.data_dir.iterdir():
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def _images(manifest: dict[str, Any]) -> Iterator[str]:
    return (name for name in manifest["files"] if name.startswith(IMAGES_PREFIX))
