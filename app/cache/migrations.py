"""The cache schema, as named migrations recorded in a table.

A cache written by a newer Platedesk (a migration this code does not know) is
refused rather than guessed at.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

from app.cache.connection import MIRROR, CacheError, Database
from app.core.canonical import utc_iso

log = logging.getLogger(__name__)

Migration = tuple[str, Callable[[Database], None]]


def run_script(db: Database, script: str) -> None:
    """Run SQL statements one by one inside the current transaction (triggers included)."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""
    if statement.strip():
        db.execute(statement)


def _initial(db: Database) -> None:
    run_script(db, INITIAL_SCHEMA)


INITIAL_SCHEMA = """
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE cases (
    case_number TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    offense_category TEXT NOT NULL,
    status TEXT NOT NULL
);
CREATE TABLE purposes (
    code TEXT PRIMARY KEY,
    label TEXT NOT NULL
);
CREATE TABLE cameras (
    camera_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    latitude REAL NOT NULL,
    longitude REAL NOT NULL,
    direction TEXT NOT NULL,
    active INTEGER NOT NULL
);
CREATE TABLE slices (
    slice_id TEXT PRIMARY KEY,
    case_number TEXT NOT NULL,
    purpose TEXT NOT NULL,
    justification TEXT NOT NULL,
    time_from TEXT NOT NULL,
    time_to TEXT NOT NULL,
    camera_ids TEXT,
    plate_pattern TEXT,
    estimated_reads INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    cursor TEXT,
    complete INTEGER NOT NULL DEFAULT 0,
    synced_reads INTEGER NOT NULL DEFAULT 0,
    last_synced_at TEXT
);
CREATE INDEX slices_case ON slices (case_number, purpose);
CREATE TABLE reads (
    id INTEGER PRIMARY KEY,
    read_id TEXT NOT NULL UNIQUE,
    plate TEXT NOT NULL,
    plate_folded TEXT NOT NULL,
    state TEXT NOT NULL,
    confidence REAL NOT NULL,
    captured_at TEXT NOT NULL,
    camera_id TEXT NOT NULL,
    latitude REAL NOT NULL,
    longitude REAL NOT NULL,
    direction TEXT NOT NULL,
    make TEXT NOT NULL,
    model TEXT NOT NULL,
    color TEXT NOT NULL,
    body_type TEXT NOT NULL,
    features TEXT NOT NULL,
    image_sha256 TEXT NOT NULL,
    image_size INTEGER NOT NULL,
    crop_sha256 TEXT NOT NULL,
    crop_size INTEGER NOT NULL
);
CREATE INDEX reads_plate ON reads (plate);
CREATE INDEX reads_plate_folded ON reads (plate_folded);
CREATE INDEX reads_time ON reads (captured_at DESC, read_id DESC);
CREATE VIRTUAL TABLE reads_plate_fts USING fts5 (
    plate, plate_folded, content = 'reads', content_rowid = 'id', tokenize = 'trigram'
);
CREATE TRIGGER reads_fts_insert AFTER INSERT ON reads BEGIN
    INSERT INTO reads_plate_fts (rowid, plate, plate_folded)
    VALUES (new.id, new.plate, new.plate_folded);
END;
CREATE TRIGGER reads_fts_delete AFTER DELETE ON reads BEGIN
    INSERT INTO reads_plate_fts (reads_plate_fts, rowid, plate, plate_folded)
    VALUES ('delete', old.id, old.plate, old.plate_folded);
END;
CREATE TRIGGER reads_fts_update AFTER UPDATE OF plate ON reads BEGIN
    INSERT INTO reads_plate_fts (reads_plate_fts, rowid, plate, plate_folded)
    VALUES ('delete', old.id, old.plate, old.plate_folded);
    INSERT INTO reads_plate_fts (rowid, plate, plate_folded)
    VALUES (new.id, new.plate, new.plate_folded);
END;
CREATE TABLE slice_reads (
    slice_id TEXT NOT NULL REFERENCES slices (slice_id) ON DELETE CASCADE,
    read_id TEXT NOT NULL,
    PRIMARY KEY (slice_id, read_id)
) WITHOUT ROWID;
CREATE INDEX slice_reads_read ON slice_reads (read_id);
CREATE TABLE images (
    sha256 TEXT PRIMARY KEY,
    data BLOB NOT NULL,
    fetched_at TEXT NOT NULL
);
CREATE TABLE journal (
    seq INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    device_id TEXT NOT NULL,
    username TEXT NOT NULL,
    session_id TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    action TEXT NOT NULL,
    object_refs TEXT NOT NULL,
    params TEXT NOT NULL,
    outcome TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    delivered_at TEXT
);
CREATE INDEX journal_pending ON journal (seq) WHERE delivered_at IS NULL;
"""

REVIEW_SCHEMA = """
CREATE INDEX reads_camera_time ON reads (camera_id, captured_at);
CREATE TABLE review_marks (
    mark_id INTEGER PRIMARY KEY,
    read_id TEXT NOT NULL,
    case_number TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('evidence', 'misread')),
    corrected_plate TEXT,
    note TEXT NOT NULL,
    marked_by TEXT NOT NULL,
    marked_at TEXT NOT NULL
);
CREATE INDEX review_marks_read ON review_marks (read_id);
CREATE INDEX review_marks_case ON review_marks (case_number, kind);
CREATE TABLE saved_searches (
    saved_id INTEGER PRIMARY KEY,
    case_number TEXT NOT NULL,
    name TEXT NOT NULL,
    query TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (case_number, name)
);
"""


def _review(db: Database) -> None:
    run_script(db, REVIEW_SCHEMA)


# 0003: evidence requests for the hub (app.cache.evidence): a hold per read marked as
# evidence, and a receipt per exported packet, kept until the hub has them.
EVIDENCE_SCHEMA = """
CREATE TABLE evidence_holds (
    case_number TEXT NOT NULL,
    read_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'proposed', 'confirmed', 'released',
                                           'refused')),
    hold_id TEXT,
    note TEXT NOT NULL,
    detail TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (case_number, read_id)
);
CREATE INDEX evidence_holds_pending ON evidence_holds (case_number) WHERE status = 'pending';
CREATE TABLE packet_receipts (
    packet_id TEXT PRIMARY KEY,
    case_number TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'refused')),
    detail TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""


def _evidence(db: Database) -> None:
    run_script(db, EVIDENCE_SCHEMA)


# An index per sortable column, with the read id that breaks ties, so a page of
# results in any order but the camera's name is an index seek to the cursor's row
# value (app.cache.search), not a sort of every matching read (4-8 s a page over
# 1,000,000 reads ordered by make). reads_plate keeps its name: exact and prefix
# searches name it (INDEXED BY).
SORT_INDEXES = """
DROP INDEX reads_plate;
CREATE INDEX reads_plate ON reads (plate, read_id);
CREATE INDEX reads_state ON reads (state, read_id);
CREATE INDEX reads_make ON reads (make, read_id);
CREATE INDEX reads_model ON reads (model, read_id);
CREATE INDEX reads_color ON reads (color, read_id);
CREATE INDEX reads_confidence ON reads (confidence, read_id);
"""


def _sort_indexes(db: Database) -> None:
    run_script(db, SORT_INDEXES)


# Ties broken by the reads' integer id, not the random read id: a sync appends each
# state, make, model and colour at the end of its range instead of at random places,
# so a page's commit writes far fewer index pages (1,000-read transactions: 6,300 ->
# 11,800 reads/s). app.cache.search pages by (column, id).
TIES_BY_ROW_ID = "".join(
    f"DROP INDEX {name};\nCREATE INDEX {name} ON reads ({columns});\n"
    for name, columns in (
        ("reads_time", "captured_at DESC, id DESC"),
        ("reads_plate", "plate, id"),
        ("reads_state", "state, id"),
        ("reads_make", "make, id"),
        ("reads_model", "model, id"),
        ("reads_color", "color, id"),
        ("reads_confidence", "confidence, id"),
    )
)


def _ties_by_row_id(db: Database) -> None:
    run_script(db, TIES_BY_ROW_ID)


# Results ordered by camera name are read camera by camera (app.cache.search), each
# camera's reads in row id order from this index: a page is a few index seeks instead
# of a sort of every matching read (15 s for the first page of 1,000,000 reads).
# reads_camera_time stays: the analyses look a camera's reads up by time.
CAMERA_INDEX = """
CREATE INDEX reads_camera ON reads (camera_id, id);
"""


def _camera_index(db: Database) -> None:
    run_script(db, CAMERA_INDEX)


# Sorted by plate, one plate's sightings follow one another in time (app.cache.search
# pages by (plate, captured_at, id)). Only the plate: a plate's reads are few, so its
# index gains nothing from appending by row id, while (make, captured_at, id) and the
# like would take new reads at random places in each make's range (a 20,000-read sync
# went from about 5,000 to 2,900 reads/s with all six).
TIES_BY_TIME = """
DROP INDEX reads_plate;
CREATE INDEX reads_plate ON reads (plate, captured_at, id);
"""


def _ties_by_time(db: Database) -> None:
    run_script(db, TIES_BY_TIME)


# 0008_case_evidence (issue 22): a hold request carries its legal basis and review
# date to the hub; case_evidence keeps the hub's record of each case's evidence as last
# fetched (every workstation's marks, notes and hold states), for the desks offline.
CASE_EVIDENCE = """
ALTER TABLE evidence_holds ADD COLUMN legal_basis TEXT NOT NULL DEFAULT 'active_investigation';
ALTER TABLE evidence_holds ADD COLUMN legal_basis_text TEXT NOT NULL DEFAULT '';
ALTER TABLE evidence_holds ADD COLUMN review_date TEXT;
CREATE TABLE case_evidence (
    case_number TEXT NOT NULL,
    hold_id TEXT NOT NULL,
    read_id TEXT NOT NULL,
    body TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (case_number, hold_id)
) WITHOUT ROWID;
"""


def _case_evidence(db: Database) -> None:
    run_script(db, CASE_EVIDENCE)


# 0009_mirror_file (issue 25): what the hub sends (slices, their reads with the plate
# index, images) moves into the mirror file (app.cache.connection), so that a sync's
# commits and a search's journal entry take the locks of two files. The tables are
# made again there as the migrations above left them, and copied; the copy commits
# first, in a transaction of its own (a preparation: run again whole if it was cut
# off), because SQLite commits a transaction over two WAL files one file at a time, and
# dropping the originals must never commit without the copy.
MIRROR_MOVE = "0009_mirror_file"
MIRROR_TABLES = ("slices", "reads", "slice_reads", "images")


def _mirror_schema(db: Database) -> list[str]:
    """The CREATE statements of the mirror's tables, indexes and triggers, as the desk file
    has them now, pointed at the mirror."""
    rows = db.execute(
        "SELECT name, sql FROM main.sqlite_master WHERE sql IS NOT NULL"
        " AND (tbl_name IN (SELECT value FROM json_each(?)) OR name = 'reads_plate_fts')"
        " ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END, rowid",
        (json.dumps(MIRROR_TABLES),),
    ).fetchall()
    statements = []
    for name, sql in rows:
        head, _, rest = str(sql).partition(f" {name} ")
        if not rest:
            head, _, rest = str(sql).partition(f" {name}(")
            rest = "(" + rest
        statements.append(f"{head} {MIRROR}.{name} {rest}")
    return statements


def _copy_into_mirror(db: Database) -> None:
    """Make the mirror's tables afresh and copy the desk file's rows into them."""
    for name in ("reads_plate_fts", *MIRROR_TABLES[::-1]):
        db.execute(f"DROP TABLE IF EXISTS {MIRROR}.{name}")
    for statement in _mirror_schema(db):
        db.execute(statement)
    for table in MIRROR_TABLES:
        columns = ", ".join(row[1] for row in db.execute(f"PRAGMA main.table_info({table})"))
        db.execute(f"INSERT INTO {MIRROR}.{table} ({columns}) SELECT {columns} FROM main.{table}")


def _drop_from_desk(db: Database) -> None:
    db.execute("DROP TABLE main.reads_plate_fts")
    for table in MIRROR_TABLES[::-1]:
        db.execute(f"DROP TABLE main.{table}")


def _vacuum_desk(db: Database) -> None:
    db.execute("VACUUM main")  # the pages the moved tables held, given back to the disk


# Work a migration needs outside its own transaction: committed before it (a
# preparation, redone whole if cut off), or after it (what cannot run in a transaction).
PREPARATIONS: dict[str, Callable[[Database], None]] = {MIRROR_MOVE: _copy_into_mirror}
FOLLOW_UPS: dict[str, Callable[[Database], None]] = {MIRROR_MOVE: _vacuum_desk}

MIGRATIONS: tuple[Migration, ...] = (
    ("0001_initial", _initial),
    ("0002_review_and_analysis", _review),
    ("0003_evidence_requests", _evidence),
    ("0004_sort_indexes", _sort_indexes),
    ("0005_ties_by_row_id", _ties_by_row_id),
    ("0006_camera_index", _camera_index),
    ("0007_plate_ties_by_time", _ties_by_time),
    ("0008_case_evidence", _case_evidence),
    (MIRROR_MOVE, _drop_from_desk),
)


CACHE_UPDATE = (
    "Updating the cache on this computer for this version of Platedesk. This happens "
    "once, and takes about half a minute for every million cached reads."
)


def migrate(
    db: Database,
    migrations: tuple[Migration, ...] = MIGRATIONS,
    *,
    announce: Callable[[str], None] | None = None,
) -> list[str]:
    """Apply the migrations not yet applied, each in its own transaction; return their
    names. `announce` hears CACHE_UPDATE before a slow one (work it prepares outside its
    transaction) updates a cache that holds data, so a person can be told why they wait."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    applied = {row[0] for row in db.execute("SELECT name FROM schema_migrations")}
    known = {name for name, _ in migrations}
    unknown = sorted(applied - known)
    if unknown:
        raise CacheError(
            "This cache was written by a newer Platedesk (it has the migration "
            f"{unknown[-1]}); update Platedesk to open it."
        )
    done: list[str] = []
    for name, step in migrations:
        if name in applied:
            continue
        prepare = PREPARATIONS.get(name)
        if prepare is not None:
            # once per cache, and slow for a big one (the mirror move: about 6 s per
            # 200,000 reads)
            log.info("updating the cache's layout (%s); this happens once", name)
            if announce is not None and applied:  # a new cache has nothing to move
                announce(CACHE_UPDATE)
            with db.atomic(only=MIRROR):
                prepare(db)
        with db.atomic():
            step(db)
            db.execute(
                "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                (name, utc_iso(datetime.now(UTC))),
            )
        follow_up = FOLLOW_UPS.get(name)
        if follow_up is not None:
            follow_up(db)
        done.append(name)
    return done
