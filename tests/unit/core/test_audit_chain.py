from typing import Any

from app.core.audit_chain import GENESIS_HASH, seal_event, verify_chain


def _chain(count: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    prev = GENESIS_HASH
    for seq in range(1, count + 1):
        event = seal_event(
            {
                "event_id": f"e{seq}",
                "device_id": "d1",
                "username": "detective",
                "session_id": "s1",
                "seq": seq,
                "occurred_at": "2026-11-20T10:00:00.000Z",
                "action": "search",
                "object_refs": {"case_number": "2026-000001"},
                "params": {"pattern": "*7K2*", "result_count": seq},
                "outcome": "ok",
                "prev_hash": prev,
            }
        )
        events.append(event)
        prev = event["hash"]
    return events


def test_an_intact_chain_verifies() -> None:
    assert verify_chain(_chain(5)) == []


def test_an_edited_event_is_caught_at_that_event() -> None:
    events = _chain(5)
    events[2]["params"]["result_count"] = 99
    problems = verify_chain(events)
    assert [(p.seq, p.kind) for p in problems] == [(3, "hash")]


def test_a_removed_event_is_caught_as_a_gap() -> None:
    events = _chain(5)
    del events[1]
    kinds = {(p.seq, p.kind) for p in verify_chain(events)}
    assert (3, "gap") in kinds
    assert (3, "link") in kinds


def test_a_chain_can_be_checked_from_a_known_point() -> None:
    events = _chain(5)
    assert verify_chain(events[3:], start_seq=4, start_hash=events[2]["hash"]) == []
