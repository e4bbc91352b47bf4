"""What the cache tests share: a slice of one day's reads, as the hub grants it."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.core.schemas import SlicePublic


def day_slice(
    slice_id: str, *, case_number: str, start: datetime, estimated_reads: int | None, purpose: str
) -> SlicePublic:
    """An active slice of every camera's reads from `start` for one day."""
    return SlicePublic(
        slice_id=slice_id,
        case_number=case_number,
        purpose=purpose,
        justification="Suspect vehicle leaving the robbery scene on Dell Range",
        time_from=start,
        time_to=start + timedelta(days=1),
        camera_ids=None,
        plate_pattern=None,
        estimated_reads=estimated_reads,
        created_at=start,
        expires_at=start + timedelta(days=30),
        status="active",
    )
