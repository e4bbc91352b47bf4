"""Sign-in, throttling, locks, training, refresh rotation, anonymous access."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.core.policy import FAILED_SIGN_IN_WINDOW, SESSION_LIFETIME
from hub.core.security import HASH_NICENESS, HASH_THREADS, PasswordService
from hub.db.tables import audit_events
from hub.sign_in import CODE_USED
from hub.sign_in_throttle import MAX_FAILED_PER_ADDRESS
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


def _login(hub: HubFixture, code: str) -> tuple[int, str]:
    reply = hub.client.post(
        "/api/v1/auth/login", json={"username": "detective", "password": PASSWORD, "totp": code}
    )
    return reply.status_code, reply.json().get("detail", "")


def test_a_code_is_accepted_once(hub: HubFixture) -> None:
    totp = pyotp.TOTP(hub.totp["detective"])
    step = totp.timecode(hub.clock.now)
    current = str(totp.generate_otp(step))
    assert _login(hub, current)[0] == 200
    # The same code again (replayed, or sent twice): refused with a reason, and audited.
    assert _login(hub, current) == (401, CODE_USED)
    # The next step's code is still good; after it, the earlier step's code never is.
    assert _login(hub, str(totp.generate_otp(step + 1)))[0] == 200
    assert _login(hub, str(totp.generate_otp(step - 1))) == (401, CODE_USED)
    with hub.database.read() as connection:
        outcomes = connection.execute(
            sa.select(audit_events.c.outcome)
            .where(audit_events.c.action == "auth.login")
            .order_by(audit_events.c.row_id)
        ).scalars()
        assert list(outcomes)[-4:] == ["ok", "code_reused", "ok", "code_reused"]


def _from(hub: HubFixture, address: str) -> TestClient:
    """A client of the same hub that connects from `address`."""
    return TestClient(hub.client.app, client=(address, 50000))


def test_replayed_codes_count_towards_the_throttle(hub: HubFixture) -> None:
    totp = pyotp.TOTP(hub.totp["detective"])
    code = str(totp.generate_otp(totp.timecode(hub.clock.now)))
    assert _login(hub, code)[0] == 200
    for _ in range(5):
        assert _login(hub, code)[0] == 401
    assert _login(hub, hub.code("detective"))[0] == 429


def test_five_failures_throttle_that_name_from_that_address_only(hub: HubFixture) -> None:
    guesser, user = _from(hub, "203.0.113.7"), _from(hub, "198.51.100.20")
    bad = {"username": "detective", "password": "not-the-password", "totp": hub.code("detective")}
    for _ in range(5):
        assert guesser.post("/api/v1/auth/login", json=bad).status_code == 401
    good = {"username": "detective", "password": PASSWORD, "totp": hub.code("detective")}
    throttled = guesser.post("/api/v1/auth/login", json=good)
    assert throttled.status_code == 429
    retry_after = int(throttled.headers["Retry-After"])
    assert 0 < retry_after <= FAILED_SIGN_IN_WINDOW.total_seconds()
    # The real user, from another address, signs in: five guesses lock no one out.
    assert user.post("/api/v1/auth/login", json=good).status_code == 200
    # Once the window has passed, the guesser's address may try again.
    hub.clock.advance(timedelta(seconds=retry_after))
    again = {"username": "detective", "password": PASSWORD, "totp": hub.code("detective")}
    assert guesser.post("/api/v1/auth/login", json=again).status_code == 200
    with hub.database.read() as connection:
        actions = list(
            connection.execute(
                sa.select(audit_events.c.action).where(audit_events.c.action == "auth.throttle")
            ).scalars()
        )
    assert actions == ["auth.throttle"]  # audited once, when the limit was reached


def test_one_address_is_throttled_across_names(hub: HubFixture) -> None:
    flood, other = _from(hub, "203.0.113.8"), _from(hub, "198.51.100.21")
    for index in range(MAX_FAILED_PER_ADDRESS):
        attempt = {"username": f"guess{index}", "password": "x", "totp": "000000"}
        assert flood.post("/api/v1/auth/login", json=attempt).status_code == 401
    good = {"username": "detective", "password": PASSWORD, "totp": hub.code("detective")}
    assert flood.post("/api/v1/auth/login", json=good).status_code == 429
    assert other.post("/api/v1/auth/login", json=good).status_code == 200


def test_a_locked_account_answers_a_wrong_password_like_any_other(hub: HubFixture) -> None:
    admin = hub.headers("admin")
    locked = hub.client.post("/api/v1/admin/users/detective/lock", headers=admin)
    assert locked.status_code == 200
    wrong = [
        {"username": "detective", "password": "not-the-password", "totp": hub.code("detective")},
        {"username": "nobody", "password": "not-the-password", "totp": "123456"},
        {"username": "detective2", "password": "not-the-password", "totp": hub.code("detective2")},
    ]
    replies = [hub.client.post("/api/v1/auth/login", json=attempt) for attempt in wrong]
    assert [(reply.status_code, reply.json()["detail"]) for reply in replies] == [(401, WRONG)] * 3
    good = {"username": "detective", "password": PASSWORD, "totp": hub.code("detective")}
    assert hub.client.post("/api/v1/auth/login", json=good).status_code == 423


def test_the_password_hash_runs_outside_the_write_transaction(
    hub: HubFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    writing = threading.local()
    write = hub.database.write

    @contextmanager
    def watched_write() -> Iterator[Any]:
        writing.active = True
        try:
            with write() as connection:
                yield connection
        finally:
            writing.active = False

    context = hub.client.app.state.hub  # type: ignore[attr-defined]
    verify = context.passwords.verify
    hashed_while_writing: list[bool] = []

    def watched_verify(password_hash: str | None, password: str) -> bool:
        hashed_while_writing.append(getattr(writing, "active", False))
        return bool(verify(password_hash, password))

    monkeypatch.setattr(hub.database, "write", watched_write)
    monkeypatch.setattr(context.passwords, "verify", watched_verify)
    hub.login()
    bad = {"username": "nobody", "password": "x", "totp": "000000"}
    assert hub.client.post("/api/v1/auth/login", json=bad).status_code == 401
    assert hashed_while_writing == [False, False]


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


def test_passwords_are_hashed_at_low_priority_a_few_at_once(
    hub: HubFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flood of sign-ins queues for the hashing threads instead of taking the CPU."""
    passwords = PasswordService(hub.settings)
    verify = passwords._verify
    running, most, niceness = [0], [0], []
    lock = threading.Lock()

    def watched(password_hash: str | None, password: str) -> bool:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            niceness.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        try:
            return verify(password_hash, password)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(passwords, "_verify", watched)
    stored = passwords.hash(PASSWORD)
    with ThreadPoolExecutor(HASH_THREADS + 3) as pool:
        results = list(pool.map(lambda _: passwords.verify(stored, PASSWORD), range(8)))
    assert results == [True] * 8
    assert most[0] <= HASH_THREADS
    assert set(niceness) == {HASH_NICENESS}
