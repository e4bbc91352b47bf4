"""Feed pages on the workstation: the checksum check and the cache's row form."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from app.cache.reads import READ_COLUMNS, cache_row
from app.core.canonical import canonical_json, page_checksum, utc_iso
from app.core.schemas import FeedPage, ReadPublic
from app.sync.page_parser import (
    BAD_CHECKSUM,
    NOT_JSON,
    PageParser,
    ParsedPage,
    checksum_matches,
    parse_page,
)
from tests.support.processes import descendants, wait_gone


def _read(n: int, **overrides: Any) -> dict[str, Any]:
    read = {
        "read_id": f"r{n:04d}", "plate": "ABC1234", "state": "WY", "confidence": 0.1 + 0.2,
        "captured_at": "2026-11-20T08:00:00.120000Z", "camera_id": "CAM-001",
        "latitude": 41.14, "longitude": -104.82, "direction": "N", "make": 'Ford "F"',
        "model": "F-150 \u00e9", "color": "white", "body_type": "pickup",
        "features": ["roof rack"], "image_sha256": f"{n:064x}", "image_size": 100,
        "crop_sha256": f"{n + 1000:064x}", "crop_size": 10,
    }  # fmt: skip
    read.update(overrides)
    return read


def _body(reads: list[dict[str, Any]], tombstones: list[str], *, has_more: bool) -> bytes:
    """A page exactly as the hub sends it: canonical reads and tombstones, then the rest."""
    covered = canonical_json({"reads": reads, "tombstones": tombstones}).decode()
    checksum = page_checksum(reads, tombstones)
    return (
        f'{{"slice_id":"s1",{covered[1:-1]},"next_cursor":"c.1",'
        f'"has_more":{json.dumps(has_more)},"checksum":"{checksum}"}}'
    ).encode()


def test_a_page_as_the_hub_sends_it_passes() -> None:
    for has_more in (True, False):
        body = _body([_read(1), _read(2, features=[])], ["r0009"], has_more=has_more)
        assert checksum_matches(body, FeedPage.model_validate_json(body))
    empty = _body([], [], has_more=False)
    assert checksum_matches(empty, FeedPage.model_validate_json(empty))


def test_an_equivalent_body_in_another_form_passes() -> None:
    body = json.dumps(json.loads(_body([_read(1)], [], has_more=True)), indent=2).encode()
    assert checksum_matches(body, FeedPage.model_validate_json(body))


def test_a_changed_value_fails() -> None:
    body = _body([_read(1)], ["r0009"], has_more=True)
    for changed in (body.replace(b"ABC1234", b"ABC1235"), body.replace(b"r0009", b"r0008")):
        assert not checksum_matches(changed, FeedPage.model_validate_json(changed))


def test_cache_row_is_the_stored_form() -> None:
    read = ReadPublic.model_validate(_read(1))
    row = dict(zip([c.strip() for c in READ_COLUMNS.split(",")], cache_row(read), strict=True))
    assert row["captured_at"] == utc_iso(read.captured_at) == "2026-11-20T08:00:00.120Z"
    assert row["features"] == json.dumps(["roof rack"])
    assert row["plate_folded"] == "A8C1234"
    plus_two = timezone(timedelta(hours=2))
    for moment in (
        datetime(2026, 11, 20, 8, 0, 0, tzinfo=UTC),
        datetime(2026, 11, 20, 8, 0, 0, 999999, tzinfo=UTC),
        datetime(2026, 11, 20, 10, 0, 0, 5000, tzinfo=plus_two),
    ):
        other = cache_row(read.model_copy(update={"captured_at": moment}))
        assert other[READ_COLUMNS.split(", ").index("captured_at")] == utc_iso(moment)


def test_a_page_parsed_in_the_parser_process_is_the_page_parsed_here() -> None:
    good = _body([_read(1), _read(2, features=[])], ["r0009"], has_more=True)
    cut = good[: len(good) // 2]
    changed = good.replace(b"ABC1234", b"ABC1235")
    here = [parse_page(body) for body in (good, cut, changed)]
    with PageParser() as parser:
        parser.use_process()
        assert parser.in_process
        there = [parser(body) for body in (good, cut, changed)]
    assert there == here
    page = here[0]
    assert isinstance(page, ParsedPage)
    assert [row[0] for row in page.rows] == ["r0001", "r0002"]
    assert (page.tombstones, page.next_cursor, page.has_more) == (["r0009"], "c.1", True)
    assert here[1:] == [NOT_JSON, BAD_CHECKSUM]


PARENT_WITH_PARSER = """
import sys, time
from app.sync.page_parser import PageParser
parser = PageParser()
parser.use_process()
print(parser(b"{"), flush=True)  # a page parsed in the process: it runs
time.sleep(600)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_parser_process_ends_when_its_parent_is_killed() -> None:
    with subprocess.Popen(
        [sys.executable, "-c", PARENT_WITH_PARSER], stdout=subprocess.PIPE, text=True
    ) as parent:
        try:
            assert parent.stdout is not None
            assert parent.stdout.readline() == NOT_JSON + "\n"
            started = descendants(parent.pid)  # the parser, and multiprocessing's resource tracker
            assert started
        finally:
            parent.kill()
            parent.wait(timeout=10)
    assert wait_gone(started) == set()
