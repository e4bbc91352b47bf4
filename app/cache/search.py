"""Local search over the cached reads of one case and purpose.

Plate patterns use the indexes: exact and prefix the plate's B-tree, wildcards
with a literal run of three or more characters the FTS5 trigram index (which
answers GLOB), and only a pattern with no such run falls back to a scan.
Results are ordered newest first unless asked otherwise (SearchOrder), and paged
by key, never by offset: a page continues after the last row's (sort value, row
id), the cache's integer id of the read breaking ties. Each sortable column has an
index in that order (cache migrations 0004, 0005), so a page is an index seek.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from app.cache.connection import Database
from app.cache.reads import read_record
from app.core.canonical import utc_iso
from app.core.plates import TRIGRAM, PatternKind, fuzzy_variants
from app.core.records import (
    NEWEST_FIRST,
    SearchCursor,
    SearchOrder,
    SearchPage,
    SearchQuery,
    SortKey,
)

MAX_PAGE = 1000
READ_ID_INDEX = "sqlite_autoindex_reads_1"  # SQLite's index of reads.read_id (UNIQUE)

# What each sort key orders by; captured_at is stored as canonical UTC text, so it
# sorts as time does. Cameras sort by the name the user sees.
SORT_COLUMNS: dict[SortKey, str] = {
    SortKey.TIME: "r.captured_at",
    SortKey.PLATE: "r.plate",
    SortKey.STATE: "r.state",
    SortKey.CAMERA: "coalesce(c.name, r.camera_id)",
    SortKey.MAKE: "r.make",
    SortKey.MODEL: "r.model",
    SortKey.COLOR: "r.color",
    SortKey.CONFIDENCE: "r.confidence",
}
# The result column holding a row's sort value, where it is not named after the key.
_RESULT_COLUMNS = {SortKey.TIME: "captured_at", SortKey.CAMERA: "camera_name"}


def _has_trigram(glob: str) -> bool:
    """Whether a GLOB has a literal run the trigram index can use."""
    return any(len(run) >= TRIGRAM for run in re.split(r"[*?]", glob))


@dataclass(frozen=True)
class _Where:
    sql: str
    params: tuple[Any, ...]
    source: str  # the FROM clause: the reads table, with the index a plate pattern needs
    slices_only: bool  # no condition but the slice membership


def _where(query: SearchQuery, slice_ids: list[str]) -> _Where:
    marks = ", ".join("?" * len(slice_ids)) or "NULL"
    clauses = [
        "EXISTS (SELECT 1 FROM slice_reads sr WHERE sr.read_id = r.read_id"
        f" AND sr.slice_id IN ({marks}))"
    ]
    params: list[Any] = list(slice_ids)
    source = "reads r"
    pattern = query.pattern
    if pattern is not None and query.fuzzy:
        variants = fuzzy_variants(pattern)
        sources = (
            [f"SELECT id FROM reads WHERE plate_folded IN ({', '.join('?' * len(variants.equal))})"]
            if variants.equal
            else []
        )
        params += list(variants.equal)
        for glob in variants.globs:
            if _has_trigram(glob):
                sources.append("SELECT rowid FROM reads_plate_fts WHERE plate_folded GLOB ?")
            else:
                sources.append("SELECT id FROM reads WHERE plate_folded GLOB ?")
            params.append(glob)
        clauses.append(f"r.id IN ({' UNION '.join(sources)})")
    elif pattern is not None:
        if pattern.kind is not PatternKind.WILDCARD:
            source = "reads r INDEXED BY reads_plate"
        if pattern.kind is PatternKind.EXACT:
            clauses.append("r.plate = ?")
            params.append(pattern.text)
        elif pattern.kind is PatternKind.PREFIX:
            clauses.append("r.plate >= ? AND r.plate < ?")
            params += [pattern.prefix, pattern.prefix + "\x7f"]
        else:
            if pattern.trigram_terms:
                clauses.append("r.id IN (SELECT rowid FROM reads_plate_fts WHERE plate GLOB ?)")
                params.append(pattern.glob)
            clauses.append("r.plate GLOB ?")
            params.append(pattern.glob)
    if query.time_from is not None:
        clauses.append("r.captured_at >= ?")
        params.append(utc_iso(query.time_from))
    if query.time_to is not None:
        clauses.append("r.captured_at < ?")
        params.append(utc_iso(query.time_to))
    if query.camera_ids:
        clauses.append(f"r.camera_id IN ({', '.join('?' * len(query.camera_ids))})")
        params += list(query.camera_ids)
    for column, value in (
        ("state", query.state),
        ("make", query.make),
        ("model", query.model),
        ("color", query.color),
        ("body_type", query.body_type),
    ):
        if value:
            clauses.append(f"r.{column} = ? COLLATE NOCASE")
            params.append(value)
    if query.feature:
        clauses.append(
            "EXISTS (SELECT 1 FROM json_each(r.features) f WHERE f.value = ? COLLATE NOCASE)"
        )
        params.append(query.feature)
    if query.min_confidence is not None:
        clauses.append("r.confidence >= ?")
        params.append(query.min_confidence)
    return _Where(" AND ".join(clauses), tuple(params), source, slices_only=len(clauses) == 1)


class SearchRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _slice_ids(self, query: SearchQuery) -> list[str]:
        rows = self.db.execute(
            "SELECT slice_id FROM slices WHERE case_number = ? AND purpose = ?",
            (query.case_number, query.purpose),
        ).fetchall()
        return [row[0] for row in rows]

    def where(self, query: SearchQuery) -> _Where:
        return _where(query, self._slice_ids(query))

    def count(self, query: SearchQuery) -> int:
        where = self.where(query)
        # Counting every read of the slices, SQLite would scan the narrowest index
        # (confidence, read_id) and look each read up in slice_reads in random order;
        # walking the read_id index instead looks them up in order: 0.5 s, not 1.5-2 s,
        # over 1,000,000 reads.
        source = f"reads r INDEXED BY {READ_ID_INDEX}" if where.slices_only else where.source
        return int(self.db.scalar(f"SELECT count(*) FROM {source} WHERE {where.sql}", where.params))

    def page(
        self,
        query: SearchQuery,
        *,
        order: SearchOrder = NEWEST_FIRST,
        after: SearchCursor | None,
        limit: int,
    ) -> SearchPage:
        """One page of results after the cursor, in `order` (the row id breaks ties)."""
        limit = max(1, min(limit, MAX_PAGE))
        if after is not None and after.order != order:
            raise ValueError("a cursor continues only the order it was made in")
        where = self.where(query)
        sql = where.sql
        params = list(where.params)
        column = SORT_COLUMNS[order.key]
        direction, beyond = ("DESC", "<") if order.descending else ("ASC", ">")
        if after is not None:
            # A row value, not `col < ? OR (col = ? AND id < ?)`: SQLite seeks an index
            # to a row value, but plans that OR as two index scans whose union it then
            # sorts whole (40 s a page over 1,000,000 reads ordered by plate).
            sql += f" AND ({column}, r.id) {beyond} (?, ?)"
            params += [after.value, after.row_id]
        rows = self.db.execute(
            f"SELECT r.*, {SORT_COLUMNS[SortKey.CAMERA]} AS camera_name FROM {where.source}"
            f" LEFT JOIN cameras c ON c.camera_id = r.camera_id WHERE {sql}"
            f" ORDER BY {column} {direction}, r.id {direction} LIMIT ?",
            (*params, limit + 1),
        ).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        cursor = None
        if more:
            last = rows[-1]
            value = last[_RESULT_COLUMNS.get(order.key, order.key.value)]
            cursor = SearchCursor(value=value, row_id=last["id"], order=order)
        return SearchPage(rows=tuple(read_record(row) for row in rows), next_cursor=cursor)
