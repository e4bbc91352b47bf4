"""Sessions: every request checks its session, user, training, device, case and
assignment, so sign-out, lock, revocation, expired training, a closed case and an
unassignment take effect at once (in this process; within seconds in others)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import pytest
import sqlalchemy as sa

from hub.db.tables import case_assignments, cases, sessions, users
from hub.sessions import (
    DEVICE_REVOKED,
    LISTENED_TTL,
    LOCKED,
    OTHER_DEVICE,
    SESSION_CHECK_SECONDS,
    SESSION_OVER,
    SESSIONS,
)
from tests.hub.hub_support import CASE, PASSWORD, HubFixture
from tests.hub.test_hub_partners import _decide, _request, _setup

DEVICE = "X-Platedesk-Device"
ME = "/api/v1/me"
TRAINING_EXPIRED = "Your ALPR training expired on {}; renew it before searching."


def _bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def _register(hub: HubFixture, tokens: dict[str, Any], name: str = "ws-1") -> str:
    reply = hub.client.post("/api/v1/devices", json={"name": name}, headers=_bearer(tokens))
    assert reply.status_code == 200, reply.text
    device_id: str = reply.json()["device_id"]
    return device_id


def _login_on(hub: HubFixture, device_id: str, username: str = "detective") -> dict[str, Any]:
    reply = hub.client.post(
        "/api/v1/auth/login",
        json={"username": username, "password": PASSWORD, "totp": hub.code(username)},
        headers={DEVICE: device_id},
    )
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def _refresh(hub: HubFixture, tokens: dict[str, Any], device_id: str | None = None) -> Any:
    return hub.client.post(
        "/api/v1/auth/refresh",
        json={"refresh_token": tokens["refresh_token"]},
        headers={DEVICE: device_id} if device_id else {},
    )


def _refusal(reply: Any) -> tuple[int, str]:
    return reply.status_code, reply.json()["detail"]


def test_revoking_a_device_ends_every_session_opened_from_it(hub: HubFixture) -> None:
    first = hub.login()
    device_id = _register(hub, first)  # binds the session to the device
    second = _login_on(hub, device_id)  # bound at sign-in
    elsewhere = hub.login()  # the same user, not from this device
    revoked = hub.client.post(
        f"/api/v1/admin/devices/{device_id}/revoke", headers=hub.headers("admin")
    )
    assert revoked.status_code == 200
    for tokens in (first, second):
        # Without the device header too: the session itself has ended.
        assert _refusal(hub.client.get(ME, headers=_bearer(tokens))) == (403, DEVICE_REVOKED)
        again = hub.client.post("/api/v1/devices", json={"name": "ws-2"}, headers=_bearer(tokens))
        assert _refusal(again) == (403, DEVICE_REVOKED)
        assert _refusal(_refresh(hub, tokens, device_id)) == (403, DEVICE_REVOKED)
        assert _refusal(_refresh(hub, tokens)) == (403, DEVICE_REVOKED)
    assert hub.client.get(ME, headers=_bearer(elsewhere)).status_code == 200
    # Signing in again from the revoked device is refused, so it wipes its cache.
    reply = hub.client.post(
        "/api/v1/auth/login",
        json={"username": "detective", "password": PASSWORD, "totp": hub.code("detective")},
        headers={DEVICE: device_id},
    )
    assert _refusal(reply) == (403, DEVICE_REVOKED)


def test_tokens_are_bound_to_their_device(hub: HubFixture) -> None:
    first = hub.login()
    device_id = _register(hub, first)
    other_device = _register(hub, hub.login(), name="ws-2")
    tokens = _login_on(hub, device_id)
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["dev"] == device_id
    assert hub.client.get(ME, headers={**_bearer(tokens), DEVICE: device_id}).status_code == 200
    wrong = hub.client.get(ME, headers={**_bearer(tokens), DEVICE: other_device})
    assert _refusal(wrong) == (403, OTHER_DEVICE)
    assert _refusal(_refresh(hub, tokens, other_device)) == (403, OTHER_DEVICE)
    # A bound session stays bound to its first device, whatever else it registers.
    extra = _register(hub, tokens, name="ws-3")
    assert _refusal(hub.client.get(ME, headers={**_bearer(tokens), DEVICE: extra})) == (
        403,
        OTHER_DEVICE,
    )
    # A session bound by registering it gets the device in its refreshed tokens.
    renewed = _refresh(hub, first)
    assert renewed.status_code == 200
    renewed_claims = jwt.decode(renewed.json()["access_token"], options={"verify_signature": False})
    assert renewed_claims["dev"] == device_id


def test_sign_out_ends_the_access_token_and_streams_at_once(hub: HubFixture) -> None:
    tokens = hub.login()
    assert hub.client.get(ME, headers=_bearer(tokens)).status_code == 200
    out = hub.client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert out.status_code == 204
    assert _refusal(hub.client.get(ME, headers=_bearer(tokens))) == (401, SESSION_OVER)
    stream = hub.client.get(
        "/api/v1/alerts/stream", params={"after": 0, "max_seconds": 1}, headers=_bearer(tokens)
    )
    assert _refusal(stream) == (401, SESSION_OVER)  # no backlog: refused before any event


def test_a_lock_ends_the_sessions_at_once(hub: HubFixture) -> None:
    tokens = hub.login()
    locked = hub.client.post("/api/v1/admin/users/detective/lock", headers=hub.headers("admin"))
    assert locked.status_code == 200
    assert _refusal(hub.client.get(ME, headers=_bearer(tokens))) == (423, LOCKED)
    assert _refusal(_refresh(hub, tokens)) == (423, LOCKED)
    unlocked = hub.client.post("/api/v1/admin/users/detective/unlock", headers=hub.headers("admin"))
    assert unlocked.status_code == 200
    # The ended sessions stay ended; a new sign-in works.
    assert _refusal(hub.client.get(ME, headers=_bearer(tokens))) == (423, LOCKED)
    assert hub.client.get(ME, headers=hub.headers()).status_code == 200


def _set_training(hub: HubFixture, valid_until: str) -> None:
    reply = hub.client.put(
        "/api/v1/admin/users/detective/training",
        json={"training_valid_until": valid_until},
        headers=hub.headers("admin"),
    )
    assert reply.status_code == 200, reply.text


def test_training_that_expires_mid_session_ends_access(hub: HubFixture) -> None:
    tokens = hub.login()
    headers = _bearer(tokens)
    created = hub.client.post("/api/v1/slices", json=hub.slice_body(), headers=headers)
    assert created.status_code == 201
    feed = f"/api/v1/slices/{created.json()['slice_id']}/changes"
    assert hub.client.get(feed, headers=headers).status_code == 200
    yesterday = (hub.clock.now.date() - timedelta(days=1)).isoformat()
    _set_training(hub, yesterday)
    refusal = (403, TRAINING_EXPIRED.format(yesterday))
    assert _refusal(hub.client.post("/api/v1/slices", json=hub.slice_body(), headers=headers)) == (
        refusal
    )
    search = {**hub.slice_body(), "plate_pattern": "7K2*"}
    assert _refusal(hub.client.post("/api/v1/search", json=search, headers=headers)) == refusal
    assert _refusal(hub.client.get(feed, headers=headers)) == refusal
    assert _refusal(_refresh(hub, tokens)) == refusal
    _set_training(hub, (hub.clock.now.date() + timedelta(days=30)).isoformat())
    assert hub.client.get(feed, headers=headers).status_code == 200


def _slice_and_image(hub: HubFixture, username: str = "detective") -> tuple[str, str]:
    created = hub.client.post(
        "/api/v1/slices", json=hub.slice_body(), headers=hub.headers(username)
    )
    assert created.status_code == 201, created.text
    return f"/api/v1/slices/{created.json()['slice_id']}/changes", (
        f"/api/v1/images/{hub.reads[0]['image_sha256']}"
    )


def _unassign(hub: HubFixture, username: str) -> None:
    with hub.database.write() as connection:
        user_id = connection.execute(
            sa.select(users.c.user_id).where(users.c.username == username)
        ).scalar_one()
        connection.execute(
            case_assignments.delete().where(
                case_assignments.c.case_number == CASE, case_assignments.c.user_id == user_id
            )
        )


def test_a_closed_case_serves_no_feed_or_images(hub: HubFixture) -> None:
    feed, image = _slice_and_image(hub)
    headers = hub.headers()
    assert hub.client.get(feed, headers=headers).status_code == 200
    assert hub.client.get(image, headers=headers).status_code == 200
    with hub.database.write() as connection:
        connection.execute(
            cases.update().where(cases.c.case_number == CASE).values(status="closed")
        )
    closed = hub.client.get(feed, headers=headers)
    assert closed.status_code == 410
    assert "closed" in closed.json()["detail"]
    assert hub.client.get(image, headers=headers).status_code == 404


def test_an_unassigned_user_gets_no_feed_or_images(hub: HubFixture) -> None:
    feed, image = _slice_and_image(hub)
    headers = hub.headers()
    assert hub.client.get(feed, headers=headers).status_code == 200
    _unassign(hub, "detective")
    unassigned = hub.client.get(feed, headers=headers)
    assert unassigned.status_code == 403
    assert "no longer assigned" in unassigned.json()["detail"]
    assert hub.client.get(image, headers=headers).status_code == 404


def test_a_partner_removed_from_the_case_reads_nothing(hub: HubFixture) -> None:
    _setup(hub)
    slice_id = _request(hub)["slice_id"]
    assert _decide(hub, slice_id, "approve").status_code == 200
    feed = f"/api/v1/slices/{slice_id}/changes"
    image = f"/api/v1/images/{hub.reads[0]['image_sha256']}"
    headers = hub.headers("partner")
    assert hub.client.get(feed, headers=headers).status_code == 200
    assert hub.client.get(image, headers=headers).status_code == 200
    _unassign(hub, "partner")
    assert hub.client.get(feed, headers=headers).status_code == 403
    assert hub.client.get(image, headers=headers).status_code == 404


def test_another_process_change_is_seen_within_the_cache_time(
    hub: HubFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change another process made (here: written straight to the database, without
    this process's invalidation, nor a NOTIFY) is seen once the cached state is
    SESSION_CHECK_SECONDS old, or LISTENED_TTL while the process hears of the other
    nodes' changes (PostgreSQL: hub.notify, which clears the cache at once)."""
    tokens = hub.login()
    assert hub.client.get(ME, headers=_bearer(tokens)).status_code == 200  # cached now
    with hub.database.write() as connection:
        connection.execute(
            sessions.update()
            .where(
                sessions.c.user_id
                == sa.select(users.c.user_id)
                .where(users.c.username == "detective")
                .scalar_subquery()
            )
            .values(ended_at=hub.clock.now, end_reason="signed_out")
        )
    assert hub.client.get(ME, headers=_bearer(tokens)).status_code == 200  # still cached
    listened = hub.database.url in SESSIONS.listened
    ttl = LISTENED_TTL if listened else SESSION_CHECK_SECONDS
    later = SESSIONS.clock() + ttl + 0.001
    monkeypatch.setattr(SESSIONS, "clock", lambda: later)
    assert _refusal(hub.client.get(ME, headers=_bearer(tokens))) == (401, SESSION_OVER)
