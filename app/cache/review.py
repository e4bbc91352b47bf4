"""What reviewers record about reads, and the searches they keep for a case."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from app.cache.connection import Database
from app.core.canonical import parse_utc, utc_iso
from app.core.records import ReviewMark, SavedSearch


class ReviewRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add_mark(
        self,
        *,
        read_id: str,
        case_number: str,
        kind: str,
        corrected_plate: str | None,
        note: str,
        marked_by: str,
    ) -> int:
        cursor = self.db.execute(
            "INSERT INTO review_marks (read_id, case_number, kind, corrected_plate, note,"
            " marked_by, marked_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (read_id, case_number, kind, corrected_plate, note, marked_by, _now()),
        )
        return int(cursor.lastrowid)

    def marks(
        self, *, read_id: str | None = None, case_number: str | None = None
    ) -> list[ReviewMark]:
        clauses, params = [], []
        if read_id is not None:
            clauses.append("read_id = ?")
            params.append(read_id)
        if case_number is not None:
            clauses.append("case_number = ?")
            params.append(case_number)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.db.execute(
            f"SELECT * FROM review_marks{where} ORDER BY mark_id", params
        ).fetchall()
        return [_mark(row) for row in rows]

    def save_search(self, *, case_number: str, name: str, query: dict[str, Any]) -> int:
        cursor = self.db.execute(
            "INSERT INTO saved_searches (case_number, name, query, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (case_number, name) DO UPDATE SET query = excluded.query,"
            " created_at = excluded.created_at",
            (case_number, name, json.dumps(query), _now()),
        )
        saved = self.db.scalar(
            "SELECT saved_id FROM saved_searches WHERE case_number = ? AND name = ?",
            (case_number, name),
        )
        return int(saved if saved is not None else cursor.lastrowid)

    def saved_searches(self, *, case_number: str) -> list[SavedSearch]:
        rows = self.db.execute(
            "SELECT * FROM saved_searches WHERE case_number = ? ORDER BY name", (case_number,)
        ).fetchall()
        return [
            SavedSearch(
                saved_id=row["saved_id"],
                case_number=row["case_number"],
                name=row["name"],
                query=json.loads(row["query"]),
                created_at=parse_utc(row["created_at"]),
            )
            for row in rows
        ]

    def delete_saved_search(self, saved_id: int) -> bool:
        return bool(
            self.db.execute("DELETE FROM saved_searches WHERE saved_id = ?", (saved_id,)).rowcount
        )


def _now() -> str:
    return utc_iso(datetime.now(UTC))


def _mark(row: Any) -> ReviewMark:
    return ReviewMark(
        mark_id=row["mark_id"],
        read_id=row["read_id"],
        case_number=row["case_number"],
        kind=row["kind"],
        corrected_plate=row["corrected_plate"],
        note=row["note"],
        marked_by=row["marked_by"],
        marked_at=parse_utc(row["marked_at"]),
    )
