"""Cases, purposes, cameras and slices as the hub last described them, kept for offline use."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from app.cache.connection import DESK, Database
from app.core.canonical import parse_utc, utc_iso
from app.core.records import CameraInfo, CaseInfo, PurposeInfo, SliceInfo
from app.core.schemas import CameraPublic, CasePublic, PurposePublic, SlicePublic


class CatalogRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # settings: small non-secret values such as the current session's id
    def get_setting(self, key: str) -> str | None:
        value = self.db.scalar("SELECT value FROM settings WHERE key = ?", (key,))
        return None if value is None else str(value)

    def set_setting(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def replace_cases(self, cases: Iterable[CasePublic]) -> None:
        with self.db.atomic(only=DESK):
            self.db.execute("DELETE FROM cases")
            self.db.executemany(
                "INSERT INTO cases (case_number, title, offense_category, status) VALUES (?, ?, ?, ?)",
                [(c.case_number, c.title, c.offense_category, c.status) for c in cases],
            )

    def cases(self) -> list[CaseInfo]:
        rows = self.db.execute("SELECT * FROM cases ORDER BY case_number").fetchall()
        return [
            CaseInfo(r["case_number"], r["title"], r["offense_category"], r["status"]) for r in rows
        ]

    def replace_purposes(self, purposes: Iterable[PurposePublic]) -> None:
        with self.db.atomic(only=DESK):
            self.db.execute("DELETE FROM purposes")
            self.db.executemany(
                "INSERT INTO purposes (code, label) VALUES (?, ?)",
                [(p.code, p.label) for p in purposes],
            )

    def purposes(self) -> list[PurposeInfo]:
        rows = self.db.execute("SELECT code, label FROM purposes ORDER BY label").fetchall()
        return [PurposeInfo(r["code"], r["label"]) for r in rows]

    def replace_cameras(self, cameras: Iterable[CameraPublic]) -> None:
        with self.db.atomic(only=DESK):
            self.db.execute("DELETE FROM cameras")
            self.db.executemany(
                "INSERT INTO cameras (camera_id, name, latitude, longitude, direction, active)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (c.camera_id, c.name, c.latitude, c.longitude, c.direction, int(c.active))
                    for c in cameras
                ],
            )

    def cameras(self) -> list[CameraInfo]:
        rows = self.db.execute("SELECT * FROM cameras ORDER BY name").fetchall()
        return [
            CameraInfo(
                r["camera_id"],
                r["name"],
                r["latitude"],
                r["longitude"],
                r["direction"],
                bool(r["active"]),
            )
            for r in rows
        ]

    def save_slice(self, slice_: SlicePublic) -> None:
        self.db.execute(
            "INSERT INTO slices (slice_id, case_number, purpose, justification, time_from, time_to,"
            " camera_ids, plate_pattern, estimated_reads, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (slice_id) DO UPDATE SET estimated_reads = excluded.estimated_reads,"
            " expires_at = excluded.expires_at",
            (
                slice_.slice_id,
                slice_.case_number,
                slice_.purpose,
                slice_.justification,
                utc_iso(slice_.time_from),
                utc_iso(slice_.time_to),
                None if slice_.camera_ids is None else json.dumps(slice_.camera_ids),
                slice_.plate_pattern,
                # null on a partner's slice awaiting approval: no count to show yet
                slice_.estimated_reads or 0,
                utc_iso(slice_.created_at),
                utc_iso(slice_.expires_at),
            ),
        )

    def slices(self, *, case_number: str | None = None) -> list[SliceInfo]:
        sql = "SELECT * FROM slices"
        params: tuple[Any, ...] = ()
        if case_number is not None:
            sql += " WHERE case_number = ?"
            params = (case_number,)
        rows = self.db.execute(sql + " ORDER BY created_at DESC", params).fetchall()
        return [_slice(row) for row in rows]

    def slice(self, slice_id: str) -> SliceInfo | None:
        row = self.db.one("SELECT * FROM slices WHERE slice_id = ?", (slice_id,))
        return None if row is None else _slice(row)

    def slice_cursor(self, slice_id: str) -> str | None:
        value = self.db.scalar("SELECT cursor FROM slices WHERE slice_id = ?", (slice_id,))
        return None if value is None else str(value)


def _slice(row: Any) -> SliceInfo:
    cameras = row["camera_ids"]
    return SliceInfo(
        slice_id=row["slice_id"],
        case_number=row["case_number"],
        purpose=row["purpose"],
        justification=row["justification"],
        time_from=parse_utc(row["time_from"]),
        time_to=parse_utc(row["time_to"]),
        camera_ids=None if cameras is None else tuple(json.loads(cameras)),
        plate_pattern=row["plate_pattern"],
        estimated_reads=row["estimated_reads"],
        expires_at=parse_utc(row["expires_at"]),
        synced_reads=row["synced_reads"],
        complete=bool(row["complete"]),
    )
