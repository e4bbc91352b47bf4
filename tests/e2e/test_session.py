"""The session: idle lock and unlock, sign-out, offline use of the cache."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from app.core.errors import ErrorKind, KnownError
from app.core.records import SearchQuery
from app.demo import totp_now
from app.sync.checkpoints import IntegrityProblem
from app.sync.client import DeviceRevoked, HubUnreachable
from app.sync.secrets import SecretStore
from app.workstation import SessionLocked, Workstation
from tests.support.live_hub import SeededHub

pytestmark = pytest.mark.e2e


def _search(workstation: Workstation, case: str) -> int | None:
    query = SearchQuery(case_number=case, purpose="robbery", pattern=None)
    return workstation.search.run(query, limit=5).total


def test_a_locked_session_serves_nothing_until_the_user_signs_in_again(
    seeded_hub: SeededHub, synced_workstation: tuple[Workstation, str]
) -> None:
    workstation, case = synced_workstation
    user = seeded_hub.user("detective")
    before = _search(workstation, case)
    assert before

    workstation.lock()
    assert workstation.locked
    with pytest.raises(SessionLocked):
        _search(workstation, case)
    with pytest.raises(SessionLocked):
        workstation.catalog.cases()

    with pytest.raises(KnownError, match="Wrong user name, password or code"):
        workstation.unlock(password=user["password"], totp="000000")
    assert workstation.locked

    workstation.unlock(password=user["password"], totp=totp_now(user["totp_secret"]))
    assert not workstation.locked
    assert _search(workstation, case) == before
    actions = [event["action"] for event in workstation.journal().events()]
    assert actions[-4:] == ["session.lock", "session.unlock", "session.sign_in", "search"]
    assert workstation.audit.status().chain_ok


def test_sign_out_removes_the_tokens_and_keeps_the_cache_key(
    synced_workstation: tuple[Workstation, str],
) -> None:
    workstation, _case = synced_workstation
    profile_id = workstation.settings.profile_id
    workstation.logout()
    store = SecretStore(profile_id)
    assert store.tokens() == (None, None)
    assert store.cache_key(create=False) is not None
    assert workstation.session is None
    assert workstation.audit.status().pending == 0  # the sign-out itself was delivered


def test_offline_the_cache_still_answers_and_events_wait(
    synced_workstation: tuple[Workstation, str],
) -> None:
    workstation, case = synced_workstation
    workstation.close()
    # The same profile, with the hub out of reach (nothing listens on port 9).
    offline = Workstation.open(profile_dir=workstation.profile_dir, hub_url="http://127.0.0.1:9")
    try:
        assert offline.session is not None
        assert _search(offline, case)
        # The upload says the hub is out of reach (it does not pass for "0 sent, online").
        with pytest.raises(HubUnreachable) as caught:
            offline.audit.upload()
        assert caught.value.kind is ErrorKind.UNREACHABLE
        assert offline.audit.status().pending >= 1
    finally:
        offline.close()


def test_review_analyses_and_outcomes_are_journaled_and_reach_the_hub(
    seeded_hub: SeededHub, synced_workstation: tuple[Workstation, str]
) -> None:
    workstation, case = synced_workstation
    query = SearchQuery(case_number=case, purpose="robbery", pattern=None)
    first = workstation.search.run(query, limit=1).rows[0]

    sightings = workstation.search.sightings(case_number=case, purpose="robbery", plate=first.plate)
    assert first.read_id in {read.read_id for read in sightings}
    assert sightings == sorted(sightings, key=lambda read: read.captured_at)
    associates = workstation.search.associates(
        case_number=case, purpose="robbery", plate=first.plate
    )
    assert all(a.plate != first.plate and a.cameras >= 2 for a in associates)
    # The simulator sends a companion vehicle behind the first vehicle of interest.
    convoy = workstation.search.associates(case_number=case, purpose="robbery", plate="7K2LMV")
    assert "CVY2291" in {a.plate for a in convoy}

    cameras = [camera.camera_id for camera in workstation.catalog.cameras()]
    matches = workstation.search.multi_place(
        case_number=case, purpose="robbery", places=[cameras[:1], cameras[1:]]
    )
    assert all(len(match.sightings) == 2 and all(match.sightings) for match in matches)
    with pytest.raises(KnownError, match="at least two places"):
        workstation.search.multi_place(case_number=case, purpose="robbery", places=[cameras])

    misread = workstation.review.mark_misread(
        read_id=first.read_id, case_number=case, corrected_plate="abc 123", note="I read as 1"
    )
    assert misread.corrected_plate == "ABC123"
    workstation.mark_evidence(read_id=first.read_id, case_number=case, note="leaving the scene")
    assert [m.kind for m in workstation.review.marks(read_id=first.read_id)] == [
        "misread",
        "evidence",
    ]
    workstation.review.record_outcome(case_number=case, purpose="robbery", outcome="lead")
    with pytest.raises(KnownError, match="not a search outcome"):
        workstation.review.record_outcome(case_number=case, purpose="robbery", outcome="hunch")
    saved = workstation.search.save(name="first plate", query=query)
    assert workstation.search.saved(case_number=case) == [saved]

    actions = [event["action"] for event in workstation.journal().events()]
    for action in ("review.misread", "review.evidence", "search.outcome", "search.save"):
        assert action in actions
    assert actions.count("search") >= 4  # the search, sightings, associates, the two places
    while workstation.audit.status().pending:
        assert workstation.audit.upload() > 0
    assert '"chains_ok": true' in seeded_hub.hub_cli("audit-verify").stdout


def test_the_workstation_checks_the_hubs_signed_log_after_each_delivery(
    synced_workstation: tuple[Workstation, str],
) -> None:
    workstation, case = synced_workstation
    first = workstation.audit.verify_hub_log()  # everything delivered so far is already proven
    assert first is None
    _search(workstation, case)
    assert workstation.audit.upload() >= 1
    stored = json.loads(workstation.db().execute(
        "SELECT value FROM settings WHERE key = 'audit_checkpoint'"
    ).fetchone()[0])  # fmt: skip
    assert stored["tree_size"] > 0
    assert stored["proven_through_seq"] == workstation.journal().delivered_through()

    # A hub that signs with another key than the one pinned is caught, journaled and shown.
    stored["public_key"] = "A" * 43 + "="
    workstation.db().execute(
        "UPDATE settings SET value = ? WHERE key = 'audit_checkpoint'", (json.dumps(stored),)
    )
    _search(workstation, case)
    with pytest.raises(IntegrityProblem, match="different key"):
        workstation.audit.upload()
    status = workstation.audit.status()
    assert not status.chain_ok
    assert any("different key" in problem for problem in status.problems)
    actions = [event["action"] for event in workstation.journal().events()]
    assert actions[-1] == "audit.integrity_problem"


def test_a_device_revoked_at_the_hub_is_wiped_at_its_next_contact(
    seeded_hub: SeededHub, synced_workstation: tuple[Workstation, str]
) -> None:
    workstation, case = synced_workstation
    admin = seeded_hub.user("admin")
    login = httpx.post(
        f"{seeded_hub.url}/api/v1/auth/login",
        json={
            "username": admin["username"],
            "password": admin["password"],
            "totp": totp_now(admin["totp_secret"]),
        },
        timeout=30,
    )
    token = login.json()["access_token"]
    device_id = workstation.session.device_id if workstation.session else ""
    revoked = httpx.post(
        f"{seeded_hub.url}/api/v1/admin/devices/{device_id}/revoke",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert revoked.status_code == 200, revoked.text
    profile_id = workstation.settings.profile_id

    with pytest.raises(DeviceRevoked, match="wiped"):
        workstation.sync()
    assert not list(workstation.profile_dir.glob("cache.db*"))
    assert SecretStore(profile_id).cache_key(create=False) is None
    assert SecretStore(profile_id).tokens() == (None, None)
    assert workstation.session is None
    with pytest.raises(KnownError):
        _search(workstation, case)


def test_the_hubs_purge_reaches_the_cache_but_a_held_read_stays(
    seeded_hub: SeededHub, synced_workstation: tuple[Workstation, str]
) -> None:
    """Runs last in this module: it purges every unheld read of the shared hub."""
    workstation, case = synced_workstation
    query = SearchQuery(case_number=case, purpose="robbery", pattern=None)
    before = workstation.search.run(query, limit=1)
    held = before.rows[0]
    technician = seeded_hub.user("evidence_technician")
    login = httpx.post(
        f"{seeded_hub.url}/api/v1/auth/login",
        json={
            "username": technician["username"],
            "password": technician["password"],
            "totp": totp_now(technician["totp_secret"]),
        },
        timeout=30,
    )
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

    def case_holds() -> list[dict[str, str]]:
        reply = httpx.get(
            f"{seeded_hub.url}/api/v1/holds",
            params={"case_number": case},
            headers=headers,
            timeout=30,
        )
        assert reply.status_code == 200, reply.text
        found: list[dict[str, str]] = reply.json()
        return found

    # An evidence mark earlier in this module proposed holds at the hub: the technician
    # confirms a proposed one, or places a hold where there is none.
    proposed = [h for h in case_holds() if h["read_id"] == held.read_id]
    if proposed:
        placed = httpx.post(
            f"{seeded_hub.url}/api/v1/holds/{proposed[0]['hold_id']}/confirm",
            headers=headers,
            timeout=30,
        )
        assert placed.status_code == 200, placed.text
    else:
        placed = httpx.post(
            f"{seeded_hub.url}/api/v1/holds",
            json={"case_number": case, "read_ids": [held.read_id], "note": "leaving the scene"},
            headers=headers,
            timeout=30,
        )
        assert placed.status_code == 201, placed.text
    kept = {h["read_id"] for h in case_holds() if h["status"] != "released"}
    assert held.read_id in kept

    later = (datetime.now(UTC) + timedelta(days=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
    purged = seeded_hub.hub_cli("purge", "--now", later)
    assert purged.returncode == 0, purged.stderr
    report = json.loads(purged.stdout)
    assert report["kept_on_hold"] == len(kept)
    assert report["deleted_reads"] >= (before.total or 0) - len(kept)

    result = workstation.sync()
    assert result.deleted == (before.total or 0) - len(kept)
    after = workstation.search.run(query, limit=5)
    assert after.total == len(kept)
    assert held.read_id in {row.read_id for row in after.rows}
