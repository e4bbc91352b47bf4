"""Investigative analyses over a case's cached reads: sightings, associates, places.

Each runs inside the case and purpose's slices only, like a search.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from app.cache.connection import Database
from app.cache.reads import read_record
from app.cache.search import SearchRepository
from app.core.canonical import parse_utc
from app.core.plates import normalize_plate, parse_pattern
from app.core.records import Associate, PlaceMatch, ReadRecord, SearchQuery

ISO_MS = "%Y-%m-%dT%H:%M:%fZ"


class AnalysisRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.search = SearchRepository(db)

    def _scope(
        self,
        *,
        case_number: str,
        purpose: str,
        plate: str | None = None,
        time_from: datetime | None = None,
        time_to: datetime | None = None,
    ) -> tuple[str, tuple[object, ...]]:
        query = SearchQuery(
            case_number=case_number,
            purpose=purpose,
            pattern=None if plate is None else parse_pattern(plate),
            time_from=time_from,
            time_to=time_to,
        )
        where = self.search.where(query)
        return where.sql, where.params

    def sightings(self, *, case_number: str, purpose: str, plate: str) -> list[ReadRecord]:
        """Every read of one plate in the case's slices, oldest first."""
        sql, params = self._scope(case_number=case_number, purpose=purpose, plate=plate)
        rows = self.db.execute(
            "SELECT r.*, coalesce(c.name, r.camera_id) AS camera_name FROM reads r"
            f" LEFT JOIN cameras c ON c.camera_id = r.camera_id WHERE {sql}"
            " ORDER BY r.captured_at, r.read_id",
            params,
        ).fetchall()
        return [read_record(row) for row in rows]

    def associates(
        self,
        *,
        case_number: str,
        purpose: str,
        plate: str,
        window_seconds: int = 60,
        min_cameras: int = 2,
        limit: int = 100,
    ) -> list[Associate]:
        """Plates seen at the same camera within the window of the target's reads,
        at `min_cameras` or more cameras: the convoy analysis."""
        target_sql, target_params = self._scope(
            case_number=case_number, purpose=purpose, plate=plate
        )
        scope_sql, scope_params = self._scope(case_number=case_number, purpose=purpose)
        rows = self.db.execute(
            "SELECT r.plate, count(DISTINCT r.camera_id) AS cameras, count(*) AS sightings,"
            " min(r.captured_at) AS first_seen, max(r.captured_at) AS last_seen"
            f" FROM (SELECT r.camera_id, r.captured_at FROM reads r WHERE {target_sql}) AS t"
            " JOIN reads r ON r.camera_id = t.camera_id"
            f" AND r.captured_at BETWEEN strftime('{ISO_MS}', t.captured_at, ?)"
            f" AND strftime('{ISO_MS}', t.captured_at, ?)"
            f" WHERE r.plate != ? AND {scope_sql}"
            " GROUP BY r.plate HAVING count(DISTINCT r.camera_id) >= ?"
            " ORDER BY cameras DESC, sightings DESC, r.plate LIMIT ?",
            (
                *target_params,
                f"-{window_seconds} seconds",
                f"+{window_seconds} seconds",
                normalize_plate(plate),
                *scope_params,
                min_cameras,
                limit,
            ),
        ).fetchall()
        return [
            Associate(
                plate=row["plate"],
                cameras=row["cameras"],
                sightings=row["sightings"],
                first_seen=parse_utc(row["first_seen"]),
                last_seen=parse_utc(row["last_seen"]),
            )
            for row in rows
        ]

    def multi_place(
        self,
        *,
        case_number: str,
        purpose: str,
        places: Sequence[Sequence[str]],
        time_from: datetime | None = None,
        time_to: datetime | None = None,
        limit: int = 500,
    ) -> list[PlaceMatch]:
        """Plates seen at every one of several places (each a group of cameras) in the window."""
        groups = [(camera, index) for index, place in enumerate(places) for camera in place]
        if len(places) < 2 or not all(places):
            return []
        scope_sql, scope_params = self._scope(
            case_number=case_number, purpose=purpose, time_from=time_from, time_to=time_to
        )
        values = " UNION ALL ".join("SELECT ? AS camera_id, ? AS place" for _ in groups)
        rows = self.db.execute(
            "SELECT r.plate, g.place, count(*) AS sightings FROM reads r"
            f" JOIN ({values}) AS g ON g.camera_id = r.camera_id"
            f" WHERE {scope_sql} GROUP BY r.plate, g.place",
            (*[item for pair in groups for item in pair], *scope_params),
        ).fetchall()
        counts: dict[str, list[int]] = {}
        for row in rows:
            counts.setdefault(row["plate"], [0] * len(places))[row["place"]] = row["sightings"]
        matches = [
            PlaceMatch(plate=plate, sightings=tuple(per_place))
            for plate, per_place in counts.items()
            if all(per_place)
        ]
        matches.sort(key=lambda m: (-sum(m.sightings), m.plate))
        return matches[:limit]
