"""Evidence requests for the hub, kept until the hub has them.

A read marked as evidence gets a hold row ("pending" until the hub answers); an
exported packet gets a receipt row ("pending" until delivered). Offline, they wait
here and are sent at the next contact with the hub: nothing is lost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from app.cache.connection import DESK, Database
from app.core.canonical import parse_utc, utc_iso
from app.core.evidence import DEFAULT_LEGAL_BASIS
from app.core.records import HoldState
from app.core.schemas import HoldPublic

ACTIVE_HOLD = ("pending", "proposed", "confirmed")


@dataclass(frozen=True)
class PendingHold:
    """A hold request waiting for the hub: the read, the note and the legal basis."""

    read_id: str
    note: str
    legal_basis: str
    legal_basis_text: str
    review_date: date | None


class EvidenceRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # holds -------------------------------------------------------------------------
    def request_hold(
        self,
        *,
        case_number: str,
        read_id: str,
        note: str,
        legal_basis: str = DEFAULT_LEGAL_BASIS,
        legal_basis_text: str = "",
        review_date: date | None = None,
    ) -> bool:
        """Queue a hold for the read (False: one is already pending or in place)."""
        row = self.db.one(
            "SELECT status FROM evidence_holds WHERE case_number = ? AND read_id = ?",
            (case_number, read_id),
        )
        if row is not None and row["status"] in ACTIVE_HOLD:
            return False
        self.db.execute(
            "INSERT INTO evidence_holds (case_number, read_id, status, hold_id, note, detail,"
            " updated_at, legal_basis, legal_basis_text, review_date)"
            " VALUES (?, ?, 'pending', NULL, ?, '', ?, ?, ?, ?)"
            " ON CONFLICT (case_number, read_id) DO UPDATE SET status = 'pending',"
            " hold_id = NULL, note = excluded.note, detail = '', updated_at = excluded.updated_at,"
            " legal_basis = excluded.legal_basis, legal_basis_text = excluded.legal_basis_text,"
            " review_date = excluded.review_date",
            (
                case_number, read_id, note, _now(), legal_basis, legal_basis_text,
                review_date.isoformat() if review_date else None,
            ),
        )  # fmt: skip
        return True

    def pending_holds(self) -> dict[str, list[PendingHold]]:
        """Pending holds by case, in the order they were asked for."""
        rows = self.db.execute(
            "SELECT case_number, read_id, note, legal_basis, legal_basis_text, review_date"
            " FROM evidence_holds WHERE status = 'pending'"
            " ORDER BY case_number, updated_at, read_id"
        ).fetchall()
        pending: dict[str, list[PendingHold]] = {}
        for row in rows:
            pending.setdefault(row["case_number"], []).append(
                PendingHold(
                    read_id=row["read_id"],
                    note=row["note"],
                    legal_basis=row["legal_basis"],
                    legal_basis_text=row["legal_basis_text"],
                    review_date=date.fromisoformat(row["review_date"])
                    if row["review_date"]
                    else None,
                )
            )
        return pending

    def set_hold(
        self,
        *,
        case_number: str,
        read_id: str,
        status: str,
        hold_id: str | None,
        detail: str = "",
    ) -> None:
        self.db.execute(
            "UPDATE evidence_holds SET status = ?, hold_id = ?, detail = ?, updated_at = ?"
            " WHERE case_number = ? AND read_id = ?",
            (status, hold_id, detail, _now(), case_number, read_id),
        )

    def holds(self, *, case_number: str | None = None) -> list[HoldState]:
        where, params = ("WHERE case_number = ?", (case_number,)) if case_number else ("", ())
        rows = self.db.execute(
            f"SELECT * FROM evidence_holds {where} ORDER BY case_number, read_id", params
        ).fetchall()
        return [
            HoldState(
                case_number=row["case_number"],
                read_id=row["read_id"],
                status=row["status"],
                hold_id=row["hold_id"],
                detail=row["detail"],
                updated_at=parse_utc(row["updated_at"]),
            )
            for row in rows
        ]

    # the hub's record of the case's evidence, as last fetched --------------------------
    def keep_case_evidence(self, case_number: str, record: list[HoldPublic]) -> None:
        """Replace what is known of the case's evidence with the hub's record."""
        with self.db.atomic(only=DESK):
            self.db.execute("DELETE FROM case_evidence WHERE case_number = ?", (case_number,))
            self.db.executemany(
                "INSERT INTO case_evidence (case_number, hold_id, read_id, body, position)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (case_number, hold.hold_id, hold.read_id, hold.model_dump_json(), position)
                    for position, hold in enumerate(record)
                ],
            )

    def case_evidence(self, case_number: str) -> list[HoldPublic]:
        rows = self.db.execute(
            "SELECT body FROM case_evidence WHERE case_number = ? ORDER BY position",
            (case_number,),
        ).fetchall()
        return [HoldPublic.model_validate_json(row["body"]) for row in rows]

    # receipts ------------------------------------------------------------------------
    def queue_receipt(self, *, packet_id: str, case_number: str, body: dict[str, Any]) -> None:
        now = _now()
        self.db.execute(
            "INSERT INTO packet_receipts (packet_id, case_number, body, status, detail,"
            " created_at, updated_at) VALUES (?, ?, ?, 'pending', '', ?, ?)",
            (packet_id, case_number, json.dumps(body, sort_keys=True), now, now),
        )

    def pending_receipts(self) -> list[tuple[str, dict[str, Any]]]:
        rows = self.db.execute(
            "SELECT packet_id, body FROM packet_receipts WHERE status = 'pending'"
            " ORDER BY created_at, packet_id"
        ).fetchall()
        return [(row["packet_id"], json.loads(row["body"])) for row in rows]

    def set_receipt(self, packet_id: str, *, status: str, detail: str = "") -> None:
        self.db.execute(
            "UPDATE packet_receipts SET status = ?, detail = ?, updated_at = ? WHERE packet_id = ?",
            (status, detail, _now(), packet_id),
        )

    def receipt_status(self, packet_id: str) -> str | None:
        row = self.db.one("SELECT status FROM packet_receipts WHERE packet_id = ?", (packet_id,))
        return None if row is None else str(row["status"])


def _now() -> str:
    return utc_iso(datetime.now(UTC))
