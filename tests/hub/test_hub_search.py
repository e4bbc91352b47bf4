"""Remote search: pattern, window, cameras, attributes -> a slice; trigram indexes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from app.core.plates import parse_pattern
from hub.db.tables import audit_events
from hub.partitions import create_day_partition, partition_name
from hub.reads import delete_read
from tests.hub.hub_support import HubFixture

URL = "/api/v1/search"


def _expected(hub: HubFixture, pattern: str, **filters: Any) -> list[dict[str, Any]]:
    parsed = parse_pattern(pattern)
    since = hub.clock.now - timedelta(days=2)
    found = [r for r in hub.reads if parsed.matches(r["plate"]) and r["captured_at"] >= since]
    if "camera" in filters:
        found = [r for r in found if r["camera_id"] == filters["camera"]]
    if "feature" in filters:
        found = [r for r in found if filters["feature"] in r["features"]]
    return found


def test_partial_search_becomes_a_slice(hub: HubFixture) -> None:
    headers = hub.headers()
    reply = hub.client.post(URL, json=hub.slice_body(plate_pattern="*7K2*"), headers=headers)
    assert reply.status_code == 201, reply.text
    result = reply.json()
    expected = _expected(hub, "*7K2*")
    assert result["total"] == len(expected) > 0
    assert {r["read_id"] for r in result["reads"]} == {r["read_id"] for r in expected}
    times = [r["captured_at"] for r in result["reads"]]
    assert times == sorted(times, reverse=True)
    listed = hub.client.get("/api/v1/slices", headers=headers).json()
    assert result["slice"]["slice_id"] in {s["slice_id"] for s in listed}
    with hub.database.read() as connection:
        event = connection.execute(
            sa.select(audit_events).where(audit_events.c.action == "search.request")
        ).one()
    assert "*7K2*" in event.params
    assert str(result["total"]) in event.params


def test_wildcard_prefix_exact_and_filters(hub: HubFixture) -> None:
    headers = hub.headers()
    for pattern in ("7K2?1?", "ABC00*", "ABC0001"):
        reply = hub.client.post(URL, json=hub.slice_body(plate_pattern=pattern), headers=headers)
        assert reply.json()["total"] == len(_expected(hub, pattern)), pattern
    body = hub.slice_body(
        plate_pattern="*7K2*",
        camera_ids=["CAM-002"],
        attributes={"features": ["roof rack"], "make": "ford"},
    )
    result = hub.client.post(URL, json=body, headers=headers).json()
    expected = _expected(hub, "*7K2*", camera="CAM-002", feature="roof rack")
    assert result["total"] == len(expected) > 0
    assert result["attributes"]["make"] == "ford"
    # The slice's feed carries the same reads: the attribute filter is part of the slice.
    page = hub.client.get(
        f"/api/v1/slices/{result['slice']['slice_id']}/changes", headers=headers
    ).json()
    assert {r["read_id"] for r in page["reads"]} == {r["read_id"] for r in expected}
    none = hub.client.post(
        URL,
        json=hub.slice_body(plate_pattern="*7K2*", attributes={"color": "red"}),
        headers=headers,
    ).json()
    assert none["total"] == 0


def test_index_follows_deletes(hub: HubFixture) -> None:
    victim = _expected(hub, "*7K2*")[0]
    with hub.database.write() as connection:
        assert delete_read(connection, victim["read_id"], now=hub.clock.now)
    result = hub.client.post(
        URL, json=hub.slice_body(plate_pattern="*7K2*"), headers=hub.headers()
    ).json()
    assert result["total"] == len(_expected(hub, "*7K2*")) - 1
    assert victim["read_id"] not in {r["read_id"] for r in result["reads"]}


def test_trigram_index_exists(hub: HubFixture) -> None:
    with hub.database.read() as connection:
        if hub.database.is_postgresql:
            found = connection.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_reads_plate_trgm'"
            ).scalar_one()
            assert "gin_trgm_ops" in found
        else:
            hits = connection.exec_driver_sql(
                "SELECT count(*) FROM reads_plate_fts WHERE plate GLOB '*7K2*'"
            ).scalar_one()
            assert hits == sum(1 for r in hub.reads if "7K2" in r["plate"])


def test_trigram_index_keeps_a_short_pending_list_on_every_day(hub: HubFixture) -> None:
    """PostgreSQL: a partial search scans each day's GIN pending list linearly; 0019 keeps
    it to 64 kB on every day partition, those made after the migration too."""
    if not hub.database.is_postgresql:
        return
    later = (hub.clock.now + timedelta(days=20)).date()
    with hub.database.write() as connection:
        assert create_day_partition(connection, later)
    with hub.database.read() as connection:
        options = connection.exec_driver_sql(
            "SELECT c.relname, c.reloptions FROM pg_inherits i"
            " JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'ix_reads_plate_trgm'::regclass"
        ).all()
    assert any(partition_name(later) in name for name, _ in options)
    assert {name: opts for name, opts in options} == {
        name: ["gin_pending_list_limit=64"] for name, _ in options
    }


def test_search_refusals(hub: HubFixture) -> None:
    headers = hub.headers()
    unknown = hub.client.post(
        URL, json=hub.slice_body(plate_pattern="*7K2*", case_number="2026-123456"), headers=headers
    )
    assert unknown.status_code == 404
    assert unknown.json()["detail"].startswith("No case 2026-123456")
    bad = hub.client.post(URL, json=hub.slice_body(plate_pattern="7K%"), headers=headers)
    assert bad.status_code == 422
    assert "position 3" in bad.json()["detail"]
    missing = hub.client.post(URL, json=hub.slice_body(), headers=headers)
    assert missing.status_code == 422
    assert "plate_pattern" in missing.json()["detail"]
    with hub.database.read() as connection:
        refused = connection.execute(
            sa.select(sa.func.count()).where(audit_events.c.action == "search.refused")
        ).scalar_one()
    assert refused == 2
