"""Remote search: a plate pattern plus filters over all the hub's reads, always with
a case, purpose and justification. The result becomes a slice (validated like
any slice) and the reply carries the match count and the newest matching reads;
a partner agency's user gets neither count nor reads (nor a refusal over the read
limit) until a supervisor approves the search's slice (hub.partners); then the
reads come through the slice's feed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Connection

from app.core.schemas import SearchCreate, SearchPublic, SliceCreate
from hub.db.tables import reads
from hub.errors import HubError
from hub.reads import read_public, read_select
from hub.slices import (
    Caller,
    SliceRules,
    attribute_conditions,
    create_slice,
    pattern_condition,
    slice_pattern,
    window_condition,
)

FIRST_PAGE = 100


def run_search(
    connection: Connection, caller: Caller, body: SearchCreate, rules: SliceRules, *, now: datetime
) -> tuple[SearchPublic | None, HubError | None]:
    """The search's slice and first page, or a refusal to raise after its audit commits."""
    request = SliceCreate(
        case_number=body.case_number,
        purpose=body.purpose,
        justification=body.justification,
        time_from=body.time_from,
        time_to=body.time_to,
        camera_ids=body.camera_ids,
        plate_pattern=body.plate_pattern,
    )
    outcome = create_slice(
        connection, caller, request, rules, now=now, attributes=body.attributes, kind="search"
    )
    if outcome.error is not None:
        return None, outcome.error
    created = outcome.slice
    assert created is not None
    if created.status != "active":
        # A partner user's search awaits a supervisor's approval (hub.slices): no
        # count and no read until then (halving the window with a count located a
        # sighting to the half minute); the reads come through the slice's feed.
        return SearchPublic(slice=created, attributes=body.attributes, total=None, reads=[]), None
    pattern = slice_pattern(created)
    query = read_select().where(
        window_condition(reads.c.captured_at, created.time_from, created.time_to)
    )
    if created.camera_ids is not None:
        query = query.where(reads.c.camera_id.in_(created.camera_ids))
    if pattern is not None:
        query = query.where(pattern_condition(reads.c.plate, pattern, connection.dialect.name))
    for condition in attribute_conditions(body.attributes):
        query = query.where(condition)
    query = query.order_by(reads.c.captured_at.desc(), reads.c.read_id).limit(FIRST_PAGE)
    first = [read_public(row) for row in connection.execute(query)]
    return (
        SearchPublic(
            slice=created,
            attributes=body.attributes,
            total=created.estimated_reads,
            reads=first,
        ),
        None,
    )
