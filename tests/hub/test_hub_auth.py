"""Sign-in, lockout, training, refresh rotation, anonymous access."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.core.policy import SESSION_LIFETIME
from tests.hub.hub_support import PASSWORD, HubFixture

WRONG = "Wrong user name, password or code."


def test_login_ok(hub: HubFixture) -> None:
    body = hub.login()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["user"]["username"] == "detective"
    me = hub.client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["role"] == "detective"


def test_wrong_inputs_get_the_same_answer(hub: HubFixture) -> None:
    code = hub.code("detective")
    wrong_code = f"{(int(code) + 1) % 1_000_000:06d}"
    attempts = [
        {"username": "detective", "password": PASSWORD, "totp": wrong_code},
        {"username": "detective", "password": "not-the-password", "totp": code},
        {"username": "nobody", "password": PASSWORD, "totp": code},
    ]
    replies = [hub.client.post("/api/v1/auth/login", json=attempt) for attempt in attempts]
    assert {reply.status_code for reply in replies} == {401}
    assert {reply.json()["detail"] for reply in replies} == {WRONG}


def test_lockout_after_five_failures(hub: HubFixture) -> None:
    bad = {"username": "detective", "password": "not-the-password", "totp": hub.code("detective")}
    for _ in range(5):
        assert hub.client.post("/api/v1/auth/login", json=bad).status_code == 401
    good = {"username": "detective", "password": PASSWORD, "totp": hub.code("detective")}
    reply = hub.client.post("/api/v1/auth/login", json=good)
    assert reply.status_code == 423
    assert "locked" in reply.json()["detail"]


def test_expired_training_refused(hub: HubFixture) -> None:
    reply = hub.client.post(
        "/api/v1/auth/login",
        json={"username": "lapsed", "password": PASSWORD, "totp": hub.code("lapsed")},
    )
    assert reply.status_code == 403
    assert reply.json()["detail"] == (
        "Your ALPR training expired on 2020-01-31; renew it before searching."
    )


def test_refresh_rotates_and_revokes(hub: HubFixture) -> None:
    first = hub.login()
    reply = hub.client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reply.status_code == 200
    second = reply.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["session_expires_at"] == first["session_expires_at"]
    again = hub.client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert again.status_code == 401
    # Presenting a revoked token ends the whole session.
    reuse = hub.client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert reuse.status_code == 401


def test_session_ends_after_twelve_hours(hub: HubFixture) -> None:
    tokens = hub.login()
    hub.clock.advance(SESSION_LIFETIME + timedelta(seconds=1))
    reply = hub.client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert reply.status_code == 401
    assert "12-hour" in reply.json()["detail"]


def test_access_token_expires(hub: HubFixture) -> None:
    headers = hub.headers()
    hub.clock.advance(timedelta(minutes=16))
    assert hub.client.get("/api/v1/me", headers=headers).status_code == 401


def test_logout_revokes(hub: HubFixture) -> None:
    tokens = hub.login()
    body = {"refresh_token": tokens["refresh_token"]}
    assert hub.client.post("/api/v1/auth/logout", json=body).status_code == 204
    assert hub.client.post("/api/v1/auth/refresh", json=body).status_code == 401


@pytest.mark.parametrize("token", ["garbage", "a.b.c"])
def test_bad_token_refused(hub: HubFixture, token: str) -> None:
    reply = hub.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 401


def test_healthz_and_catalog(hub: HubFixture) -> None:
    health = hub.client.get("/healthz").json()
    assert health["status"] == "ok"
    assert health["retention_days"] == 30
    assert health["database"] in ("sqlite", "postgresql")
    headers = hub.headers()
    cases = hub.client.get("/api/v1/cases", headers=headers).json()
    assert {case["case_number"] for case in cases} == {"2026-004211", "2026-000100"}
    assert len(hub.client.get("/api/v1/cameras", headers=headers).json()) == 2
    codes = {p["code"] for p in hub.client.get("/api/v1/purposes", headers=headers).json()}
    assert "robbery" in codes
