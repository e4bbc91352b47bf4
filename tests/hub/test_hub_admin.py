"""Administration: users (banned passwords), locks, training, device revocation; audited."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
import sqlalchemy as sa

from hub.db.tables import audit_events
from hub.passwords import banned_passwords, password_problem
from hub.sessions import DEVICE_REVOKED
from tests.hub.hub_support import PASSWORD, HubFixture

USERS = "/api/v1/admin/users"


def _actions(hub: HubFixture) -> list[str]:
    with hub.database.read() as connection:
        return [
            row.action
            for row in connection.execute(
                sa.select(audit_events.c.action).order_by(audit_events.c.row_id)
            )
        ]


def _new_user(**overrides: str) -> dict[str, str]:
    body = {
        "username": "newdet",
        "display_name": "Det. New",
        "role": "detective",
        "password": "violet-harbor-kettle",
        "training_valid_until": "2099-01-01",
    }
    body.update(overrides)
    return body


def test_admin_creates_user_who_can_sign_in(hub: HubFixture) -> None:
    reply = hub.client.post(USERS, json=_new_user(), headers=hub.headers("admin"))
    assert reply.status_code == 201, reply.text
    created = reply.json()
    uri = urlparse(created["provisioning_uri"])
    assert uri.scheme == "otpauth"
    assert parse_qs(uri.query)["secret"] == [created["totp_secret"]]
    hub.totp["newdet"] = created["totp_secret"]
    assert hub.login("newdet", "violet-harbor-kettle")["user"]["role"] == "detective"
    duplicate = hub.client.post(USERS, json=_new_user(), headers=hub.headers("admin"))
    assert duplicate.status_code == 409
    assert "admin.user_create" in _actions(hub)


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short1", "A password needs at least 8 characters."),
        (
            "QwertyUiop",
            "This password is on the list of common or leaked passwords; choose another.",
        ),
        (
            "Password2024",
            "This password is on the list of common or leaked passwords; choose another.",
        ),
        ("xx-NewDet-99", "A password may not contain the user name."),
        # Not on the list, but what a guesser tries next (zxcvbn's score under 3):
        (
            "Passw0rd!",
            "This password is too easy to guess (this is similar to a commonly used "
            "password); use a longer one, e.g. three or four unrelated words.",
        ),
        (
            "Platedesk1",
            "This password is too easy to guess; use a longer one, e.g. three or four "
            "unrelated words.",
        ),
    ],
)
def test_weak_passwords_refused_with_reason(hub: HubFixture, password: str, reason: str) -> None:
    reply = hub.client.post(USERS, json=_new_user(password=password), headers=hub.headers("admin"))
    assert reply.status_code == 422
    assert reply.json()["detail"] == reason


def test_banned_list_is_shipped() -> None:
    banned = banned_passwords()
    assert len(banned) >= 1000
    assert {"password", "123456789", "qwertyuiop", "letmein1"} <= banned
    assert password_problem("LetMeIn1", username="someone") is not None
    assert password_problem("violet-harbor-kettle", username="someone") is None


def test_the_seeded_passwords_pass_the_strength_estimate() -> None:
    # The demo seed's passwords (two words and a number) and the tests' own.
    from hub.simulate.seed import PARTNER, USERS, derive_secret

    for seed in range(25):
        for username, *_rest in (*USERS, PARTNER):
            password, _totp = derive_secret(seed, username)
            assert password_problem(password, username=username) is None, password
    assert password_problem(PASSWORD, username="detective") is None


def test_non_admin_refused(hub: HubFixture) -> None:
    for username in ("detective", "technician", "supervisor"):
        reply = hub.client.post(USERS, json=_new_user(), headers=hub.headers(username))
        assert reply.status_code == 403
        assert reply.json()["detail"] == "Only an administrator may do this."


def test_lock_unlock_and_training(hub: HubFixture) -> None:
    admin = hub.headers("admin")
    assert hub.client.post(f"{USERS}/detective/lock", headers=admin).status_code == 200
    good = {"username": "detective", "password": PASSWORD, "totp": hub.code("detective")}
    assert hub.client.post("/api/v1/auth/login", json=good).status_code == 423
    assert hub.client.post(f"{USERS}/nobody/lock", headers=admin).status_code == 404
    unlocked = hub.client.post(f"{USERS}/detective/unlock", headers=admin)
    assert unlocked.status_code == 200
    assert hub.client.post("/api/v1/auth/login", json=good).status_code == 200
    assert hub.client.post(f"{USERS}/nobody/unlock", headers=admin).status_code == 404

    renewed = hub.client.put(
        f"{USERS}/lapsed/training",
        json={"training_valid_until": (hub.clock.now.date() + timedelta(days=30)).isoformat()},
        headers=admin,
    )
    assert renewed.status_code == 200
    assert hub.login("lapsed")["user"]["username"] == "lapsed"
    actions = _actions(hub)
    assert "auth.lock" in actions
    assert "auth.unlock" in actions
    assert "admin.training_set" in actions


def test_the_last_administrator_cannot_lose_the_training_to_sign_in(hub: HubFixture) -> None:
    # The last one setting their own training to 0 (1970-01-01) or none locked everyone out.
    admin = hub.headers("admin")
    for value in (0, None, "2020-01-01"):
        refused = hub.client.put(
            f"{USERS}/admin/training", json={"training_valid_until": value}, headers=admin
        )
        assert refused.status_code == 409, refused.text
        assert refused.json()["detail"].startswith("This would leave no administrator able")
    assert hub.login("admin")["user"]["role"] == "admin"

    # With a second administrator trained, the first one's training may lapse...
    second = hub.client.post(
        USERS, json=_new_user(username="admin2", role="admin"), headers=admin
    ).json()
    hub.totp["admin2"] = second["totp_secret"]
    lapsed = hub.client.put(
        f"{USERS}/admin/training", json={"training_valid_until": 0}, headers=admin
    )
    assert lapsed.status_code == 200, lapsed.text
    refused_login = hub.client.post(
        "/api/v1/auth/login",
        json={"username": "admin", "password": PASSWORD, "totp": hub.code("admin")},
    )
    assert refused_login.status_code == 403
    assert "training expired on 1970-01-01" in refused_login.json()["detail"]
    # ...and then the second one is the last: their own date cannot go either.
    token = hub.login("admin2", "violet-harbor-kettle")["access_token"]
    admin2 = {"Authorization": f"Bearer {token}"}
    last = hub.client.put(
        f"{USERS}/admin2/training", json={"training_valid_until": None}, headers=admin2
    )
    assert last.status_code == 409
    assert hub.login("admin2", "violet-harbor-kettle")["user"]["username"] == "admin2"


def test_an_administrator_is_created_with_current_training(hub: HubFixture) -> None:
    admin = hub.headers("admin")
    for training in (None, "2020-01-01"):
        body: dict[str, object] = {**_new_user(username="admin3", role="admin")}
        body["training_valid_until"] = training
        refused = hub.client.post(USERS, json=body, headers=admin)
        assert refused.status_code == 422
        assert refused.json()["detail"].startswith("An administrator needs current ALPR training")
    # Other roles may be added before their training is on record; they cannot sign in yet.
    untrained = {**_new_user(username="newtech", role="evidence_technician")}
    untrained["training_valid_until"] = None  # type: ignore[assignment]
    created = hub.client.post(USERS, json=untrained, headers=admin)
    assert created.status_code == 201, created.text
    hub.totp["newtech"] = created.json()["totp_secret"]
    reply = hub.client.post(
        "/api/v1/auth/login",
        json={
            "username": "newtech",
            "password": "violet-harbor-kettle",
            "totp": hub.code("newtech"),
        },
    )
    assert reply.status_code == 403
    assert reply.json()["detail"] == (
        "No ALPR training is on record for you; ask an administrator to record it."
    )


def test_device_revocation(hub: HubFixture) -> None:
    headers = hub.headers()
    device = hub.client.post("/api/v1/devices", json={"name": "ws-1"}, headers=headers).json()
    device_id = device["device_id"]
    with_device = {**headers, "X-Platedesk-Device": device_id}
    status = hub.client.get(f"/api/v1/devices/{device_id}", headers=headers).json()
    assert status["status"] == "active"
    assert hub.client.get("/api/v1/slices", headers=with_device).status_code == 200
    other = hub.client.get(f"/api/v1/devices/{device_id}", headers=hub.headers("detective2"))
    assert other.status_code == 404

    revoke = hub.client.post(
        f"/api/v1/admin/devices/{device_id}/revoke", headers=hub.headers("admin")
    )
    assert revoke.status_code == 200
    assert revoke.json()["status"] == "revoked"
    refused = hub.client.get("/api/v1/slices", headers=with_device)
    assert refused.status_code == 403
    assert refused.json()["detail"] == DEVICE_REVOKED
    upload = hub.client.post(
        "/api/v1/audit/events", json={"device_id": device_id, "events": []}, headers=headers
    )
    assert upload.status_code == 403
    assert upload.json()["detail"] == DEVICE_REVOKED
    # The revocation ended the session; from a new one the owner sees the device's status.
    status = hub.client.get(f"/api/v1/devices/{device_id}", headers=hub.headers()).json()
    assert status["status"] == "revoked"
    assert status["revoked_at"] is not None
    assert "admin.device_revoke" in _actions(hub)
    missing = hub.client.post("/api/v1/admin/devices/nope/revoke", headers=hub.headers("admin"))
    assert missing.status_code == 404


def test_totp_secret_is_valid(hub: HubFixture) -> None:
    created = hub.client.post(USERS, json=_new_user(), headers=hub.headers("admin")).json()
    assert len(pyotp.TOTP(created["totp_secret"]).now()) == 6
