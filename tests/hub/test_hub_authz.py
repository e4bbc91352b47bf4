"""The authorization matrix: every route x every role x anonymous.

Every route the app serves must be classified here, so a new route cannot ship
without its access rule being tested.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.routing import iter_route_contexts

from hub.api.deps import ADMIN_ONLY
from hub.evidence_grant import GRANT_ONLY
from hub.holds import CUSTODY_ONLY, SUPERVISOR_ONLY
from hub.hotlists import MANAGERS_ONLY
from hub.review import NO_UNIT, SUPERVISORS_ONLY
from tests.hub.hub_support import PASSWORD, HubFixture

PUBLIC = "public"  # anonymous allowed
CREDENTIALS = "credentials"  # takes its credentials in the body (sign-in, refresh, logout)
USER = "user"  # any signed-in user
ADMIN = "admin"  # administrators only
FEED = "feed"  # camera feed token only
CUSTODY = "custody"  # evidence technicians and supervisors only
RELEASE = "release"  # supervisors only (a hold's release)
GRANT = "grant"  # evidence technicians and supervisors only (the evidence grant)
HOTLIST = "hotlist"  # administrators and supervisors only
LOOKUP = "lookup"  # anonymous allowed, by an unguessable id: 200, or 404 when unknown
REVIEW = "review"  # supervisors (of a unit) and administrators only

POLICY: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("POST", "/api/v1/auth/login"): CREDENTIALS,
    ("POST", "/api/v1/auth/refresh"): CREDENTIALS,
    ("POST", "/api/v1/auth/logout"): CREDENTIALS,
    ("GET", "/api/v1/me"): USER,
    ("POST", "/api/v1/devices"): USER,
    ("GET", "/api/v1/devices/{device_id}"): USER,
    ("GET", "/api/v1/purposes"): USER,
    ("GET", "/api/v1/cases"): USER,
    ("GET", "/api/v1/cameras"): USER,
    ("POST", "/api/v1/slices"): USER,
    ("GET", "/api/v1/slices"): USER,
    ("GET", "/api/v1/slices/{slice_id}/changes"): USER,
    ("POST", "/api/v1/search"): USER,
    ("GET", "/api/v1/images/{sha256}"): USER,
    ("POST", "/api/v1/images:batch"): USER,
    ("POST", "/api/v1/audit/events"): USER,
    ("GET", "/api/v1/audit/checkpoint"): USER,
    ("GET", "/api/v1/audit/proof/inclusion"): USER,
    ("GET", "/api/v1/audit/proof/consistency"): USER,
    ("POST", "/api/v1/ingest/reads"): FEED,
    ("POST", "/api/v1/ingest/reads:batch"): FEED,
    ("POST", "/api/v1/ingest/reads:batch-binary"): FEED,
    ("POST", "/api/v1/admin/users"): ADMIN,
    ("POST", "/api/v1/admin/users/{username}/lock"): ADMIN,
    ("POST", "/api/v1/admin/users/{username}/unlock"): ADMIN,
    ("PUT", "/api/v1/admin/users/{username}/training"): ADMIN,
    ("POST", "/api/v1/admin/devices/{device_id}/revoke"): ADMIN,
    ("POST", "/api/v1/admin/cameras"): ADMIN,
    ("POST", "/api/v1/admin/feeds"): ADMIN,
    ("POST", "/api/v1/admin/feeds/{feed_id}/revoke"): ADMIN,
    ("GET", "/transparency.json"): PUBLIC,
    ("GET", "/transparency"): PUBLIC,
    ("POST", "/api/v1/holds"): USER,
    ("GET", "/api/v1/holds"): USER,
    ("POST", "/api/v1/holds/{hold_id}/confirm"): CUSTODY,
    ("POST", "/api/v1/holds/{hold_id}/refuse"): CUSTODY,
    ("POST", "/api/v1/holds/{hold_id}/release"): RELEASE,
    ("POST", "/api/v1/evidence/reads"): GRANT,
    ("POST", "/api/v1/evidence/images"): GRANT,
    ("POST", "/api/v1/hotlists"): HOTLIST,
    ("GET", "/api/v1/hotlists"): HOTLIST,
    ("POST", "/api/v1/hotlists/import"): HOTLIST,
    ("DELETE", "/api/v1/hotlists/{entry_id}"): HOTLIST,
    ("GET", "/api/v1/alerts"): USER,
    ("GET", "/api/v1/alerts/stream"): USER,
    ("POST", "/api/v1/alerts/{alert_id}/acknowledge"): USER,
    ("POST", "/api/v1/packets/receipts"): USER,
    ("GET", "/api/v1/packets/{packet_id}/receipt"): LOOKUP,
    ("GET", "/api/v1/devices/{device_id}/public-key"): LOOKUP,
    ("GET", "/api/v1/packets/custody"): USER,
    ("PUT", "/api/v1/admin/users/{username}/unit"): ADMIN,
    ("GET", "/api/v1/admin/policy"): ADMIN,
    ("PATCH", "/api/v1/admin/policy"): ADMIN,
    ("GET", "/api/v1/review/items"): REVIEW,
    ("GET", "/api/v1/review/items/{item_id}"): REVIEW,
    ("POST", "/api/v1/review/items/{item_id}/decision"): REVIEW,
    ("GET", "/api/v1/review/items/{item_id}/searches"): REVIEW,
    ("GET", "/api/v1/review/items/{item_id}/reads"): REVIEW,
    ("POST", "/api/v1/review/items/approve-sample"): REVIEW,
    ("GET", "/api/v1/review/transparency-report"): REVIEW,
    ("GET", "/api/v1/review/requests"): USER,
    ("POST", "/api/v1/review/requests/{item_id}/answer"): USER,
    ("GET", "/api/v1/review/operators"): REVIEW,
    ("POST", "/api/v1/review/operators/items"): REVIEW,
    ("GET", "/api/v1/review/charts"): REVIEW,
    ("GET", "/api/v1/audit/search"): REVIEW,
    ("GET", "/api/v1/audit/chains"): REVIEW,
    ("GET", "/api/v1/partner-requests"): REVIEW,
    ("POST", "/api/v1/partner-requests/{slice_id}/decision"): REVIEW,
    ("POST", "/api/v1/partner-requests/{slice_id}/revoke"): REVIEW,
}
PLACEHOLDERS = {
    "{slice_id}": "x" * 32,
    "{sha256}": "a" * 64,
    "{username}": "nobody",
    "{device_id}": "no-such-device",
    "{feed_id}": "no-such-feed",
    "{hold_id}": "no-such-hold",
    "{entry_id}": "no-such-entry",
    "{alert_id}": "1",
    "{packet_id}": "0" * 32,
    "{item_id}": "no-such-item",
}
BOGUS_CREDENTIALS: dict[str, dict[str, Any]] = {
    "/api/v1/auth/login": {"username": "nobody", "password": "wrong-password", "totp": "000000"},
    "/api/v1/auth/refresh": {"refresh_token": "not-a-real-refresh-token"},
    "/api/v1/auth/logout": {"refresh_token": "not-a-real-refresh-token"},
}
ROLES = ("detective", "technician", "supervisor", "admin")
# A partner agency's detective (hub.partners) is held to a detective's rules everywhere.
PARTNER = "partner"


def _add_partner(hub: HubFixture) -> None:
    reply = hub.client.post(
        "/api/v1/admin/users",
        json={
            "username": PARTNER,
            "display_name": "Dep. Partner",
            "role": "detective",
            "password": PASSWORD,
            "training_valid_until": (hub.clock.now.date() + timedelta(days=365)).isoformat(),
            "partner_agency": "Laramie County Sheriff's Office",
        },
        headers=hub.headers("admin"),
    )
    assert reply.status_code == 201, reply.text
    hub.totp[PARTNER] = reply.json()["totp_secret"]


def _routes(hub: HubFixture) -> list[tuple[str, str]]:
    found = []
    for context in iter_route_contexts(hub.client.app.routes):  # type: ignore[attr-defined]
        for method in sorted((context.methods or set()) - {"HEAD"}):
            assert context.path is not None
            found.append((method, context.path))
    return found


def _call(hub: HubFixture, method: str, path: str, headers: dict[str, str]) -> Any:
    concrete = path
    for name, value in PLACEHOLDERS.items():
        concrete = concrete.replace(name, value)
    body = BOGUS_CREDENTIALS.get(path, {})
    if method == "GET":
        params = {"max_seconds": 1} if path.endswith("/stream") else None  # SSE: ends by itself
        return hub.client.get(concrete, headers=headers, params=params)
    return hub.client.request(method, concrete, json=body, headers=headers)


def test_every_route_is_classified(hub: HubFixture) -> None:
    routes = _routes(hub)
    assert set(routes) == set(POLICY), set(routes) ^ set(POLICY)


def test_authorization_matrix(hub: HubFixture) -> None:
    routes = _routes(hub)
    _add_partner(hub)
    tokens = {role: hub.headers(role) for role in (*ROLES, PARTNER)}
    identities: dict[str, dict[str, str]] = {"anonymous": {}, **tokens}
    for method, path in routes:
        rule = POLICY[(method, path)]
        for identity, headers in identities.items():
            who = "detective" if identity == PARTNER else identity
            reply = _call(hub, method, path, headers)
            where = (method, path, identity, reply.status_code, reply.text[:200])
            assert reply.status_code < 500, where
            if rule == PUBLIC:
                assert reply.status_code == 200, where
            elif rule == LOOKUP:
                assert reply.status_code in (200, 404), where
            elif rule == CREDENTIALS:
                # A bogus sign-in repeated by every identity is throttled (429) at the 6th.
                expected = {204} if path.endswith("/logout") else {401, 429}
                assert reply.status_code in expected, where
            elif who == "anonymous":
                assert reply.status_code == 401, where
                assert reply.headers["www-authenticate"] == "Bearer"
            elif rule == FEED:
                assert reply.status_code == 401, where  # a user token is no feed token
            elif rule == ADMIN and who != "admin":
                assert reply.status_code == 403, where
                assert reply.json()["detail"] == ADMIN_ONLY
            elif rule == CUSTODY and who in ("detective", "admin"):
                assert reply.status_code == 403, where
                assert reply.json()["detail"] == CUSTODY_ONLY
            elif rule == GRANT and who in ("detective", "admin"):
                assert reply.status_code == 403, where
                assert reply.json()["detail"] == GRANT_ONLY
            elif rule == RELEASE and who != "supervisor":
                assert reply.status_code == 403, where
                assert reply.json()["detail"] == SUPERVISOR_ONLY
            elif rule == HOTLIST and who in ("detective", "technician"):
                assert reply.status_code == 403, where
                assert reply.json()["detail"] == MANAGERS_ONLY
            elif rule == REVIEW and who in ("detective", "technician"):
                assert reply.status_code == 403, where
                assert reply.json()["detail"] == SUPERVISORS_ONLY
            elif rule == REVIEW and who == "supervisor":  # the seeded one has no unit
                assert reply.status_code == 403, where
                assert reply.json()["detail"] == NO_UNIT
            else:
                assert reply.status_code not in (401, 403), where
