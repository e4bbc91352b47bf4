"""The audit trail's exports: the hash-chained JSON excerpt verifies on its own and shows
a changed, removed or cut entry; the CSV has one row per event."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import datetime
from typing import Any

from app.core.audit_chain import GENESIS_HASH, seal_event
from app.core.audit_trail import AuditEventPublic, build_excerpt, events_csv, verify_excerpt

CASE = "2026-000001"


def _events() -> list[AuditEventPublic]:
    prev, events = GENESIS_HASH, []
    for seq in range(1, 4):
        sealed = seal_event(
            {"event_id": uuid.uuid4().hex, "device_id": "d1", "username": "detective",
             "session_id": "s", "seq": seq, "occurred_at": "2026-12-01T10:00:00.000Z",
             "action": "search", "object_refs": {"case_number": CASE},
             "params": {"pattern": f"ABC{seq}"}, "outcome": "ok", "prev_hash": prev}
        )  # fmt: skip
        prev = sealed["hash"]
        received = datetime.fromisoformat("2026-12-01T10:00:01+00:00")
        events.append(AuditEventPublic(**sealed, received_at=received, late=False))
    return events


def _excerpt() -> dict[str, Any]:
    exported = datetime.fromisoformat("2026-12-02T00:00:00+00:00")
    document = build_excerpt(
        _events(), hub_url="http://hub", exported_by="sgt", exported_at=exported, query={}
    )
    return dict(json.loads(json.dumps(document)))


def test_an_excerpt_verifies_on_its_own() -> None:
    assert verify_excerpt(_excerpt()) == []


def test_a_changed_removed_or_cut_entry_is_detected() -> None:
    changed = _excerpt()
    changed["entries"][1]["event"]["params"]["pattern"] = "ZZZ9"
    assert any("was changed" in p for p in verify_excerpt(changed))
    removed = _excerpt()
    del removed["entries"][1]
    removed["count"] = 2
    assert any("removed, added or reordered" in p for p in verify_excerpt(removed))
    cut = _excerpt()
    cut["entries"].pop()
    cut["count"] = 2
    assert any("head does not match" in p for p in verify_excerpt(cut))
    assert verify_excerpt({"format": "other"}) != []


def test_the_csv_has_a_row_per_event_with_its_case() -> None:
    rows = list(csv.DictReader(io.StringIO(events_csv(_events()))))
    assert [r["seq"] for r in rows] == ["1", "2", "3"]
    assert {r["case_number"] for r in rows} == {CASE}
    assert json.loads(rows[0]["params"]) == {"pattern": "ABC1"}
