"""Route by role, generated from the published OpenAPI: every operation the hub
documents is called with every kind of credential, and answers as the table says.

The table names, for each (method, path), who may call it. An operation without an
entry fails the test, so a new route cannot ship without its access rule; an entry
without an operation fails too. Allowed: anything but 401 and 403 (the objects in the
paths do not exist, so 404 and 422 are common). Refused: 401 or 403. Run on SQLite
and PostgreSQL (the hub fixture).
"""

from __future__ import annotations

from typing import Any

from tests.hub.hub_support import PARTNER_AGENCY, PASSWORD, HubFixture

ANONYMOUS = "anonymous"
DETECTIVE = "detective"
TECHNICIAN = "technician"
SUPERVISOR = "supervisor"  # of a unit (a supervisor without one reviews nothing)
ADMIN = "admin"
PARTNER = "partner"  # a partner agency's detective: a detective's rules everywhere
FEED = "feed"  # a camera feed token
EVERYONE = frozenset({ANONYMOUS, DETECTIVE, TECHNICIAN, SUPERVISOR, ADMIN, PARTNER, FEED})
USERS = frozenset({DETECTIVE, TECHNICIAN, SUPERVISOR, ADMIN, PARTNER})
CREDENTIALS = "credentials"  # takes its own credentials in the body: the bearer is ignored

ALLOWED: dict[tuple[str, str], frozenset[str] | str] = {
    ("GET", "/healthz"): EVERYONE,
    ("GET", "/transparency.json"): EVERYONE,
    ("GET", "/transparency"): EVERYONE,
    ("POST", "/api/v1/auth/login"): CREDENTIALS,
    ("POST", "/api/v1/auth/refresh"): CREDENTIALS,
    ("POST", "/api/v1/auth/logout"): CREDENTIALS,
    ("GET", "/api/v1/me"): USERS,
    ("POST", "/api/v1/devices"): USERS,
    ("GET", "/api/v1/devices/{device_id}"): USERS,
    ("GET", "/api/v1/purposes"): USERS,
    ("GET", "/api/v1/cases"): USERS,
    ("GET", "/api/v1/cameras"): USERS,
    ("POST", "/api/v1/slices"): USERS,
    ("GET", "/api/v1/slices"): USERS,
    ("POST", "/api/v1/search"): USERS,
    ("GET", "/api/v1/slices/{slice_id}/changes"): USERS,
    ("GET", "/api/v1/images/{sha256}"): USERS,
    ("POST", "/api/v1/images:batch"): USERS,
    ("GET", "/api/v1/audit/checkpoint"): USERS,
    ("GET", "/api/v1/audit/proof/inclusion"): USERS,
    ("GET", "/api/v1/audit/proof/consistency"): USERS,
    ("POST", "/api/v1/audit/events"): USERS,
    ("POST", "/api/v1/ingest/reads"): frozenset({FEED}),
    ("POST", "/api/v1/ingest/reads:batch"): frozenset({FEED}),
    ("POST", "/api/v1/ingest/reads:batch-binary"): frozenset({FEED}),
    ("POST", "/api/v1/admin/users"): frozenset({ADMIN}),
    ("POST", "/api/v1/admin/users/{username}/lock"): frozenset({ADMIN}),
    ("POST", "/api/v1/admin/users/{username}/unlock"): frozenset({ADMIN}),
    ("PUT", "/api/v1/admin/users/{username}/training"): frozenset({ADMIN}),
    ("PUT", "/api/v1/admin/users/{username}/unit"): frozenset({ADMIN}),
    ("GET", "/api/v1/admin/policy"): frozenset({ADMIN}),
    ("PATCH", "/api/v1/admin/policy"): frozenset({ADMIN}),
    ("POST", "/api/v1/admin/devices/{device_id}/revoke"): frozenset({ADMIN}),
    ("POST", "/api/v1/admin/cameras"): frozenset({ADMIN}),
    ("POST", "/api/v1/admin/feeds"): frozenset({ADMIN}),
    ("POST", "/api/v1/admin/feeds/{feed_id}/revoke"): frozenset({ADMIN}),
    ("POST", "/api/v1/holds"): USERS,
    ("GET", "/api/v1/holds"): USERS,
    ("POST", "/api/v1/holds/{hold_id}/confirm"): frozenset({TECHNICIAN, SUPERVISOR}),
    ("POST", "/api/v1/holds/{hold_id}/refuse"): frozenset({TECHNICIAN, SUPERVISOR}),
    ("POST", "/api/v1/holds/{hold_id}/release"): frozenset({SUPERVISOR}),
    ("POST", "/api/v1/evidence/reads"): frozenset({TECHNICIAN, SUPERVISOR}),
    ("POST", "/api/v1/evidence/images"): frozenset({TECHNICIAN, SUPERVISOR}),
    ("POST", "/api/v1/hotlists"): frozenset({SUPERVISOR, ADMIN}),
    ("GET", "/api/v1/hotlists"): frozenset({SUPERVISOR, ADMIN}),
    ("POST", "/api/v1/hotlists/import"): frozenset({SUPERVISOR, ADMIN}),
    ("DELETE", "/api/v1/hotlists/{entry_id}"): frozenset({SUPERVISOR, ADMIN}),
    ("GET", "/api/v1/alerts"): USERS,
    ("POST", "/api/v1/alerts/{alert_id}/acknowledge"): USERS,
    ("GET", "/api/v1/alerts/stream"): USERS,
    ("POST", "/api/v1/packets/receipts"): USERS,
    ("GET", "/api/v1/packets/{packet_id}/receipt"): EVERYONE,  # by an unguessable id
    ("GET", "/api/v1/devices/{device_id}/public-key"): EVERYONE,  # what verify asks
    ("GET", "/api/v1/packets/custody"): USERS,
    ("GET", "/api/v1/review/items"): frozenset({SUPERVISOR, ADMIN}),
    ("GET", "/api/v1/review/items/{item_id}"): frozenset({SUPERVISOR, ADMIN}),
    ("POST", "/api/v1/review/items/{item_id}/decision"): frozenset({SUPERVISOR, ADMIN}),
    ("GET", "/api/v1/review/items/{item_id}/searches"): frozenset({SUPERVISOR, ADMIN}),
    ("GET", "/api/v1/review/items/{item_id}/reads"): frozenset({SUPERVISOR, ADMIN}),
    ("POST", "/api/v1/review/items/approve-sample"): frozenset({SUPERVISOR, ADMIN}),
    ("GET", "/api/v1/review/transparency-report"): frozenset({SUPERVISOR, ADMIN}),
    ("GET", "/api/v1/review/requests"): USERS,
    ("POST", "/api/v1/review/requests/{item_id}/answer"): USERS,
    ("GET", "/api/v1/review/operators"): frozenset({SUPERVISOR, ADMIN}),
    ("POST", "/api/v1/review/operators/items"): frozenset({SUPERVISOR, ADMIN}),
    ("GET", "/api/v1/review/charts"): frozenset({SUPERVISOR, ADMIN}),
    ("GET", "/api/v1/audit/search"): frozenset({SUPERVISOR, ADMIN}),
    ("GET", "/api/v1/audit/chains"): frozenset({SUPERVISOR, ADMIN}),
    ("GET", "/api/v1/partner-requests"): frozenset({SUPERVISOR, ADMIN}),
    ("POST", "/api/v1/partner-requests/{slice_id}/decision"): frozenset({SUPERVISOR, ADMIN}),
    ("POST", "/api/v1/partner-requests/{slice_id}/revoke"): frozenset({SUPERVISOR, ADMIN}),
}
PATH_VALUES = {
    "slice_id": "x" * 32,
    "sha256": "a" * 64,
    "username": "nobody",
    "device_id": "no-such-device",
    "feed_id": "no-such-feed",
    "hold_id": "1",
    "entry_id": "1",
    "alert_id": "1",
    "packet_id": "0" * 32,
    "item_id": "1",
}
BOGUS_CREDENTIALS: dict[str, dict[str, Any]] = {
    "/api/v1/auth/login": {"username": "nobody", "password": "wrong-password", "totp": "000000"},
    "/api/v1/auth/refresh": {"refresh_token": "not-a-real-refresh-token"},
    "/api/v1/auth/logout": {"refresh_token": "not-a-real-refresh-token"},
}


def _operations(hub: HubFixture) -> list[tuple[str, str]]:
    spec = hub.client.app.openapi()  # type: ignore[attr-defined]
    return sorted(
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    )


def _identities(hub: HubFixture) -> dict[str, dict[str, str]]:
    admin = hub.headers(ADMIN)
    unit = hub.client.put(
        "/api/v1/admin/users/supervisor/unit", json={"unit": "Investigations"}, headers=admin
    )
    assert unit.status_code == 200, unit.text
    partner = hub.client.post(
        "/api/v1/admin/users",
        json={
            "username": PARTNER, "display_name": "Dep. Partner", "role": "detective",
            "password": PASSWORD, "training_valid_until": "2099-01-01",
            "partner_agency": PARTNER_AGENCY,
        },
        headers=admin,
    )  # fmt: skip
    assert partner.status_code == 201, partner.text
    hub.totp[PARTNER] = partner.json()["totp_secret"]
    people = {name: hub.headers(name) for name in (DETECTIVE, TECHNICIAN, SUPERVISOR, PARTNER)}
    return {
        ANONYMOUS: {},
        **people,
        ADMIN: admin,
        FEED: {"Authorization": f"Bearer {hub.feed_token()}"},
    }


def _call(
    hub: HubFixture, method: str, path: str, headers: dict[str, str], *, identity: str
) -> Any:
    concrete = path.format(**PATH_VALUES)
    if method == "GET":
        params = {"max_seconds": 1} if path.endswith("/stream") else None  # SSE: ends by itself
        return hub.client.get(concrete, headers=headers, params=params)
    body = dict(BOGUS_CREDENTIALS.get(path, {}))
    if "username" in body:  # a name of its own: five failures of one name from one address throttle
        body["username"] = f"{body['username']}-{identity}"
    return hub.client.request(method, concrete, json=body, headers=headers)


def test_every_published_operation_has_an_entry(hub: HubFixture) -> None:
    published = set(_operations(hub))
    assert published - set(ALLOWED) == set(), "operations without an entry in ALLOWED"
    assert set(ALLOWED) - published == set(), "entries for operations the hub does not publish"


def test_each_operation_answers_each_role_as_the_table_says(hub: HubFixture) -> None:
    identities = _identities(hub)
    wrong = []
    for method, path in _operations(hub):
        rule = ALLOWED.get((method, path))
        assert rule is not None, f"{method} {path} has no entry in ALLOWED"
        answers = {}
        for identity, headers in identities.items():
            reply = _call(hub, method, path, headers, identity=identity)
            assert reply.status_code < 500, (method, path, identity, reply.text[:200])
            answers[identity] = reply.status_code
            if rule == CREDENTIALS:
                continue
            refused = reply.status_code in (401, 403)
            if refused == (identity in rule):
                wrong.append((method, path, identity, reply.status_code, reply.text[:120]))
        if rule == CREDENTIALS:  # bogus credentials: the same answer whoever sends them
            assert len(set(answers.values())) == 1, (method, path, answers)
    assert wrong == []
