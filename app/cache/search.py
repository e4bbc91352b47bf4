"""Local search over the cached reads of one case and purpose.

Plate patterns use the indexes: exact and prefix the plate's B-tree, wildcards
with a literal run of three or more characters the FTS5 trigram index (which
answers GLOB), and only a pattern with no such run falls back to a scan.
Results are ordered newest first unless asked otherwise (SearchOrder), and paged
by key, never by offset: a page continues after the last row's (sort value, row
id), the cache's integer id of the read breaking ties. Each sortable column has an
index in that order (cache migrations 0004, 0005), so a page is an index seek.

Cameras sort by the name the user sees, which lives in another table: no index of
the reads gives that order. Up to SORT_WHOLE_MAX matching reads are sorted whole,
in Python; beyond that the cameras (hundreds at most) are put in order of (name,
camera id) and a page is filled camera by camera, each camera's reads in row id
order from the (camera_id, id) index (migration 0006). Either way the key is
(name, camera id, row id): the camera id breaks ties between cameras of one name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

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
# Up to this many matching reads, results ordered by camera are sorted whole (a few
# milliseconds); beyond it a page is read camera by camera.
SORT_WHOLE_MAX = 5000
READ_ID_INDEX = "sqlite_autoindex_reads_1"  # SQLite's index of reads.read_id (UNIQUE)

# What each sort key orders by; captured_at is stored as canonical UTC text, so it
# sorts as time does. Cameras sort by the name the user sees.
SORT_COLUMNS: dict[SortKey, str] = {
    SortKey.TIME: "r.captured_at",
    SortKey.PLATE: "r.plate",
    SortKey.STATE: "r.state",
    SortKey.CAMERA: "coalesce(c.name, r.camera_id)",  # read camera by camera: _camera_page
    SortKey.MAKE: "r.make",
    SortKey.MODEL: "r.model",
    SortKey.COLOR: "r.color",
    SortKey.CONFIDENCE: "r.confidence",
}
# The result column holding a row's sort value, where it is not named after the key.
_RESULT_COLUMNS = {SortKey.TIME: "captured_at"}


def _has_trigram(glob: str) -> bool:
    """Whether a GLOB has a literal run the trigram index can use."""
    return any(len(run) >= TRIGRAM for run in re.split(r"[*?]", glob))


class _Camera(NamedTuple):
    name: str  # the name the user sees: the camera's, or its id if the cache has no name
    camera_id: str


@dataclass(frozen=True)
class _Where:
    sql: str
    params: tuple[Any, ...]
    source: str  # the FROM clause: the reads table, with the index a plate pattern needs
    slices_only: bool  # no condition but the slice membership


def _where(query: SearchQuery, slice_ids: list[str], corrected: tuple[str, ...] = ()) -> _Where:
    """The search's conditions; `corrected`: reads a misread mark of the case corrects to a
    plate the pattern matches, found whatever plate the camera read."""
    marks = ", ".join("?" * len(slice_ids)) or "NULL"
    clauses = [
        "EXISTS (SELECT 1 FROM slice_reads sr WHERE sr.read_id = r.read_id"
        f" AND sr.slice_id IN ({marks}))"
    ]
    params: list[Any] = list(slice_ids)
    source = "reads r"
    pattern = query.pattern
    plate_start = len(clauses)
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
    if corrected and pattern is not None:
        plate_sql = " AND ".join(clauses[plate_start:])
        ids = ", ".join("?" * len(corrected))
        clauses[plate_start:] = [f"(({plate_sql}) OR r.read_id IN ({ids}))"]
        params += list(corrected)
        source = "reads r"  # the plate index alone cannot answer the OR
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
        return _where(query, self._slice_ids(query), self._corrected(query))

    def _corrected(self, query: SearchQuery) -> tuple[str, ...]:
        """The reads of the case whose misread mark corrects them to a plate the pattern
        matches (a handful: marks are made by hand)."""
        if query.pattern is None:
            return ()
        rows = self.db.execute(
            "SELECT DISTINCT read_id FROM review_marks WHERE case_number = ? AND kind = ?"
            " AND corrected_plate GLOB ?",
            (query.case_number, "misread", query.pattern.glob),
        ).fetchall()
        return tuple(row[0] for row in rows)

    def _reviewed(self, query: SearchQuery, page: SearchPage) -> SearchPage:
        """The page with each read's review marks under the searched case."""
        if not page.rows:
            return page
        marks = ", ".join("?" * len(page.rows))
        found: dict[str, list[Any]] = {}
        # In the order they were made (sorted here: an ORDER BY would sort in a temp B-tree).
        for row in sorted(
            self.db.execute(
                f"SELECT mark_id, read_id, kind, corrected_plate FROM review_marks"
                f" WHERE case_number = ? AND read_id IN ({marks})",
                (query.case_number, *(read.read_id for read in page.rows)),
            ),
            key=lambda row: int(row[0]),
        ):
            found.setdefault(row[1], []).append(row[1:])
        if not found:
            return page
        rows = []
        for read in page.rows:
            kinds = found.get(read.read_id, [])
            corrected = [row[2] for row in kinds if row[2]]
            rows.append(
                replace(
                    read,
                    review=tuple(dict.fromkeys(row[1] for row in kinds)),
                    corrected_plate=corrected[-1] if corrected else None,
                )
            )
        return SearchPage(rows=tuple(rows), next_cursor=page.next_cursor)

    def count(self, query: SearchQuery) -> int:
        where = self.where(query)
        if where.slices_only and len(where.params) == 1:
            # Every read of one slice: its rows in slice_reads, counted on that table's
            # key alone (a slice_reads row always has its read: they are written and
            # purged together); 1-2 ms, not 12 ms, over 20,000 reads.
            return int(
                self.db.scalar("SELECT count(*) FROM slice_reads WHERE slice_id = ?", where.params)
            )
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
        if order.key is SortKey.CAMERA:
            page = self._camera_page(query, where, order=order, after=after, limit=limit)
            return self._reviewed(query, page)
        sql = where.sql
        params = list(where.params)
        # By plate, one plate's sightings in time order, then by row id (the plate index
        # holds that order, cache migration 0008); the other columns' ties by row id.
        ties_by_time = order.key is SortKey.PLATE
        columns = [SORT_COLUMNS[order.key]]
        if ties_by_time:
            columns.append(SORT_COLUMNS[SortKey.TIME])
        direction, beyond = ("DESC", "<") if order.descending else ("ASC", ">")
        if after is not None:
            # A row value, not `col < ? OR (col = ? AND id < ?)`: SQLite seeks an index
            # to a row value, but plans that OR as two index scans whose union it then
            # sorts whole (40 s a page over 1,000,000 reads ordered by plate).
            key = ", ".join([*columns, "r.id"])
            sql += f" AND ({key}) {beyond} ({', '.join('?' * (len(columns) + 1))})"
            params += [after.value, *([after.captured_at] if ties_by_time else []), after.row_id]
        ordering = ", ".join(f"{column} {direction}" for column in [*columns, "r.id"])
        rows = self.db.execute(
            f"SELECT r.*, {SORT_COLUMNS[SortKey.CAMERA]} AS camera_name FROM {where.source}"
            f" LEFT JOIN cameras c ON c.camera_id = r.camera_id WHERE {sql}"
            f" ORDER BY {ordering} LIMIT ?",
            (*params, limit + 1),
        ).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        cursor = None
        if more:
            last = rows[-1]
            value = last[_RESULT_COLUMNS.get(order.key, order.key.value)]
            cursor = SearchCursor(
                value=value,
                row_id=last["id"],
                order=order,
                captured_at=last["captured_at"] if ties_by_time else None,
            )
        page = SearchPage(rows=tuple(read_record(row) for row in rows), next_cursor=cursor)
        return self._reviewed(query, page)

    # Ordered by camera -------------------------------------------------------------

    def _camera_names(self) -> dict[str, str]:
        return {row[0]: row[1] for row in self.db.execute("SELECT camera_id, name FROM cameras")}

    def _cameras(self, camera_ids: tuple[str, ...]) -> list[_Camera]:
        """The cameras asked for, or else every camera with cached reads, in name order.

        A camera missing from the cameras table goes by its id (as read_record names it).
        """
        if not camera_ids:
            # Each distinct camera id by one seek of the camera index, not a scan of it.
            camera_ids = tuple(
                row[0]
                for row in self.db.execute(
                    "WITH RECURSIVE cams (camera_id) AS ("
                    " SELECT min(camera_id) FROM reads"
                    " UNION ALL SELECT (SELECT min(camera_id) FROM reads"
                    " WHERE camera_id > cams.camera_id) FROM cams WHERE camera_id IS NOT NULL)"
                    " SELECT camera_id FROM cams WHERE camera_id IS NOT NULL"
                )
            )
        names = self._camera_names()
        return sorted(_Camera(names.get(c, c), c) for c in set(camera_ids))

    def _camera_page(
        self,
        query: SearchQuery,
        where: _Where,
        *,
        order: SearchOrder,
        after: SearchCursor | None,
        limit: int,
    ) -> SearchPage:
        """A page in camera name order: (name, camera id, row id), in `order`'s direction."""
        cursor: tuple[str, str, int] | None = None
        if after is not None:
            if after.camera_id is None:
                raise ValueError("a cursor in camera order needs the camera's id")
            cursor = (str(after.value), after.camera_id, after.row_id)
        found = self.db.execute(
            f"SELECT r.id, r.camera_id FROM {where.source} WHERE {where.sql} LIMIT ?",
            (*where.params, SORT_WHOLE_MAX + 1),
        ).fetchall()
        if len(found) <= SORT_WHOLE_MAX:
            keys = self._sorted_keys(found, order=order, after=cursor, limit=limit)
        else:
            keys = self._walked_keys(query, where, order=order, after=cursor, limit=limit)
        more = len(keys) > limit
        keys = keys[:limit]
        marks = ", ".join("?" * len(keys))
        rows = {
            row["id"]: row
            for row in self.db.execute(
                f"SELECT r.*, {SORT_COLUMNS[SortKey.CAMERA]} AS camera_name FROM reads r"
                f" LEFT JOIN cameras c ON c.camera_id = r.camera_id WHERE r.id IN ({marks})",
                [row_id for _, _, row_id in keys],
            )
        }
        next_cursor = None
        if more:
            name, camera_id, row_id = keys[-1]
            next_cursor = SearchCursor(value=name, row_id=row_id, order=order, camera_id=camera_id)
        return SearchPage(
            rows=tuple(read_record(rows[row_id]) for _, _, row_id in keys if row_id in rows),
            next_cursor=next_cursor,
        )

    def _sorted_keys(
        self,
        found: list[Any],
        *,
        order: SearchOrder,
        after: tuple[str, str, int] | None,
        limit: int,
    ) -> list[tuple[str, str, int]]:
        """Every matching read's key, sorted: up to limit + 1 of those after the cursor."""
        names = self._camera_names()
        keys = sorted(
            ((names.get(camera_id, camera_id), camera_id, row_id) for row_id, camera_id in found),
            reverse=order.descending,
        )
        if after is not None:
            keys = [k for k in keys if (k < after if order.descending else k > after)]
        return keys[: limit + 1]

    def _walked_keys(
        self,
        query: SearchQuery,
        where: _Where,
        *,
        order: SearchOrder,
        after: tuple[str, str, int] | None,
        limit: int,
    ) -> list[tuple[str, str, int]]:
        """Up to limit + 1 keys after the cursor, camera by camera in name order."""
        cameras = self._cameras(query.camera_ids)
        direction, beyond = ("DESC", "<") if order.descending else ("ASC", ">")
        if order.descending:
            cameras.reverse()
        keys: list[tuple[str, str, int]] = []
        for camera in cameras:
            sql, params = f"{where.sql} AND r.camera_id = ?", [*where.params, camera.camera_id]
            if after is not None:
                if camera == after[:2]:
                    sql += f" AND r.id {beyond} ?"
                    params.append(after[2])
                elif (camera > after[:2]) is order.descending:
                    continue  # before the cursor's camera
            # From "reads r" whatever the pattern: many reads match, so one camera's
            # reads in row id order (reads_camera) beat the plate index an exact or
            # prefix pattern names, which would visit every match for each camera.
            keys += (
                (camera.name, camera.camera_id, row[0])
                for row in self.db.execute(
                    f"SELECT r.id FROM reads r WHERE {sql} ORDER BY r.id {direction} LIMIT ?",
                    (*params, limit + 1 - len(keys)),
                )
            )
            if len(keys) > limit:
                break
        return keys
