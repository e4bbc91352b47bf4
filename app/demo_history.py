"""A month of simulated audit history for the demo's screenshots: the demo detective's
second workstation ("Night desk") delivers, late, the searches it journaled over the
last three weeks, through the hub's ordinary audit upload. Among them, one plate
looked up on five different days and one burst of searches at 03:00 with nothing for
hours around it, so the supervisor's insights have something to show. Simulated, as
the demo's reads are; delivered once per demo hub (a marker file in its folder)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app.core.audit_chain import GENESIS_HASH, seal_event
from app.core.canonical import utc_iso
from app.core.schemas import AuditBatch, AuditEventIn, DeviceCreate

MARKER = "demo-history.done"
TRACKED = "8XKP217"
PURPOSES = ("robbery", "robbery", "hit_and_run", "stolen_vehicle")


def _searches(case_numbers: list[str], now: datetime) -> list[tuple[datetime, str, str]]:
    """(time, case, plate pattern) of three weeks of day shifts, the tracked plate on
    five days, and a 03:00 burst on a weekend day off."""
    rng = random.Random(21)  # noqa: S311 (simulated history)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    found: list[tuple[datetime, str, str]] = []
    tracked_days = {18, 13, 9, 4, 2}
    for days_ago in range(21, 0, -1):
        day = today - timedelta(days=days_ago)
        if day.weekday() >= 5 and days_ago not in tracked_days:
            continue
        start = day + timedelta(hours=8, minutes=rng.randrange(60))
        for step in range(rng.randrange(4, 12 if days_ago != 11 else 40)):
            at = start + timedelta(minutes=25 * step + rng.randrange(10))
            plate = f"{rng.choice('ABCDEFGHJK')}{rng.randrange(100, 999)}*"
            found.append((at, rng.choice(case_numbers), plate))
        if days_ago in tracked_days:
            found.append((start + timedelta(minutes=47), case_numbers[0], TRACKED))
    quiet_day = next(  # a weekend day off: the burst has hours of quiet around it
        d for d in range(20, 0, -1)
        if (today - timedelta(days=d)).weekday() >= 5 and d not in tracked_days
    )  # fmt: skip
    night = today - timedelta(days=quiet_day) + timedelta(hours=3, minutes=12)
    for step in range(5):
        found.append((night + timedelta(minutes=3 * step), case_numbers[-1], f"7{step}K*"))
    return sorted(found)


def deliver_history(detective: Any, *, case_numbers: list[str], data: Path) -> None:
    """Deliver the simulated history from the detective's (signed-in) workstation."""
    marker = data / MARKER
    if marker.exists():
        return
    client = detective.core.client
    username = detective.core.require().username
    device = client.register_device(DeviceCreate(name="Night desk")).device_id
    events, prev = [], GENESIS_HASH
    for seq, (at, case, plate) in enumerate(_searches(case_numbers, datetime.now(UTC)), 1):
        event = seal_event(
            {"event_id": uuid.uuid4().hex, "device_id": device, "username": username,
             "session_id": "night-desk", "seq": seq, "occurred_at": utc_iso(at),
             "action": "search", "object_refs": {"case_number": case},
             "params": {"case_number": case, "purpose": PURPOSES[seq % len(PURPOSES)],
                        "pattern": plate, "result_count": 1 + seq % 9},
             "outcome": "ok", "prev_hash": prev}
        )  # fmt: skip
        prev = event["hash"]
        events.append(AuditEventIn.model_validate(event))
    for start in range(0, len(events), 200):
        client.post_audit(AuditBatch(device_id=device, events=events[start : start + 200]))
    marker.write_text("delivered\n", encoding="utf-8")
