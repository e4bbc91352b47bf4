"""The evidence grant: a custodian fetches the case's confirmed-evidence reads and
their images without a slice request.

An evidence technician or a supervisor who handles the case (hub.holds.handles_case:
assigned to it, or the supervisor of its unit) may fetch the records and images of
the reads held for the case with a confirmed hold (neither refused nor released).
Nothing else: a read not confirmed for this case is refused by name. Each fetch is one
audit event of the hub's chain (`evidence.grant_reads`, `evidence.grant_images`), so the
log tells these fetches apart from slice reads.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.schemas import EvidenceReadsPublic
from hub.audit import record_hub_event
from hub.db.tables import holds, reads
from hub.errors import HubError, forbidden
from hub.holds import CUSTODIANS, READ_ID_RE, require_case
from hub.reads import read_public, read_select
from hub.slices import Caller

GRANT_ONLY = (
    "Only an evidence technician or a supervisor fetches a case's evidence without a slice."
)


def _confirmed(case_number: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        holds.c.case_number == case_number,
        holds.c.confirmed_at.is_not(None),
        holds.c.released_at.is_(None),
    )


def _require_custodian_of(
    connection: Connection, caller: Caller, case_number: str, pattern: str
) -> str:
    if caller.role not in CUSTODIANS:
        raise forbidden(GRANT_ONLY)
    return require_case(connection, caller, case_number, pattern=pattern)


def grant_reads(
    connection: Connection,
    caller: Caller,
    *,
    case_number: str,
    read_ids: list[str],
    now: datetime,
    case_number_pattern: str,
) -> EvidenceReadsPublic:
    """The records of the asked-for reads, each confirmed evidence of the case (403 names
    the first that is not); those purged meanwhile come back in `missing`."""
    number = _require_custodian_of(connection, caller, case_number, case_number_pattern)
    wanted = list(dict.fromkeys(read_ids))
    malformed = [read_id for read_id in wanted if not READ_ID_RE.fullmatch(read_id)]
    if malformed:
        raise HubError(422, f"Not a read id (32 lower-case hex characters): {malformed[0]}.")
    held = set(
        connection.execute(
            sa.select(holds.c.read_id).where(_confirmed(number), holds.c.read_id.in_(wanted))
        ).scalars()
    )
    outside = [read_id for read_id in wanted if read_id not in held]
    if outside:
        raise forbidden(
            f"Read {outside[0]} has no confirmed hold in case {number}; the evidence grant "
            "covers confirmed evidence only. Confirm its hold first, or request a slice."
        )
    rows = connection.execute(read_select().where(reads.c.read_id.in_(wanted))).all()
    found = {row.read_id: read_public(row) for row in rows}
    missing = [read_id for read_id in wanted if read_id not in found]
    record_hub_event(
        connection,
        action="evidence.grant_reads",
        now=now,
        username=caller.username,
        session_id=caller.session_id,
        object_refs={"case_number": number},
        params={"read_ids": wanted, "missing": missing},
    )
    return EvidenceReadsPublic(
        case_number=number,
        reads=[found[read_id] for read_id in wanted if read_id in found],
        missing=missing,
    )


def grant_images(
    connection: Connection,
    caller: Caller,
    *,
    case_number: str,
    sha256s: list[str],
    now: datetime,
    case_number_pattern: str,
) -> dict[str, str]:
    """Check that each image is the scene or crop of a confirmed-evidence read of the case
    (404 names the first that is not) and audit the fetch as one event; returns each
    image's read id."""
    number = _require_custodian_of(connection, caller, case_number, case_number_pattern)
    wanted = list(dict.fromkeys(sha256s))
    found: dict[str, str] = {}
    for column in (reads.c.image_sha256, reads.c.crop_sha256):
        rows = connection.execute(
            sa.select(column.label("sha256"), reads.c.read_id)
            .select_from(reads.join(holds, holds.c.read_id == reads.c.read_id))
            .where(_confirmed(number), column.in_(wanted))
        ).all()
        found.update({row.sha256: row.read_id for row in rows})
    outside = [sha for sha in wanted if sha not in found]
    if outside:
        raise HubError(
            404,
            f"No confirmed evidence read of case {number} has the image {outside[0]}; its "
            "hold may have been released and the read purged. List the case's evidence again.",
        )
    record_hub_event(
        connection,
        action="evidence.grant_images",
        now=now,
        username=caller.username,
        session_id=caller.session_id,
        object_refs={"case_number": number},
        params={"images": {sha: found[sha] for sha in wanted}},
    )
    return {sha: found[sha] for sha in wanted}
