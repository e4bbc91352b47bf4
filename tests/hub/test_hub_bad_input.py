"""Bad input gets a 4xx whose detail names the problem; never a 5xx or a traceback."""

from __future__ import annotations

from datetime import timedelta

from tests.hub.hub_support import HubFixture


def test_malformed_json(hub: HubFixture) -> None:
    reply = hub.client.post(
        "/api/v1/slices",
        content=b'{"case_number": "2026-004211",',
        headers={**hub.headers(), "Content-Type": "application/json"},
    )
    assert reply.status_code == 422
    assert reply.json()["detail"].startswith("The request body is not valid JSON: ")


def test_wrong_types_name_the_field(hub: HubFixture) -> None:
    headers = hub.headers()
    reply = hub.client.post(
        "/api/v1/slices", json=hub.slice_body(time_from="yesterday"), headers=headers
    )
    assert reply.status_code == 422
    assert reply.json()["detail"].startswith("The request is not valid: time_from: ")
    reply = hub.client.post(
        "/api/v1/slices", json=hub.slice_body(camera_ids="CAM-001"), headers=headers
    )
    assert reply.status_code == 422
    assert "camera_ids" in reply.json()["detail"]
    extra = hub.client.post("/api/v1/slices", json=hub.slice_body(colour="red"), headers=headers)
    assert extra.status_code == 422
    assert "colour" in extra.json()["detail"]
    limit = hub.client.get(
        f"/api/v1/slices/{'x' * 32}/changes", params={"limit": "many"}, headers=headers
    )
    assert limit.status_code == 422
    assert "limit" in limit.json()["detail"]


def test_oversized_body(hub: HubFixture) -> None:
    big = {"device_id": "d", "events": [], "padding": "x" * (hub.settings.max_body_bytes + 1)}
    reply = hub.client.post("/api/v1/audit/events", json=big, headers=hub.headers())
    assert reply.status_code == 413
    assert reply.json()["detail"] == (
        "The request body is over the 4 MiB limit of this route; send less at once."
    )


def test_bad_content_length(hub: HubFixture) -> None:
    reply = hub.client.post(
        "/api/v1/auth/login",
        content=b"{}",
        headers={"Content-Type": "application/json", "Content-Length": "lots"},
    )
    assert reply.status_code == 400
    assert reply.json()["detail"] == "The Content-Length header is not a number."


def test_unknown_case(hub: HubFixture) -> None:
    reply = hub.client.post(
        "/api/v1/slices", json=hub.slice_body(case_number="2026-777777"), headers=hub.headers()
    )
    assert reply.status_code == 404
    assert reply.json()["detail"] == (
        "No case 2026-777777 is on record at this hub; check the case number."
    )


def test_expired_token(hub: HubFixture) -> None:
    headers = hub.headers()
    hub.clock.advance(timedelta(minutes=15, seconds=1))
    reply = hub.client.get("/api/v1/slices", headers=headers)
    assert reply.status_code == 401
    assert reply.json()["detail"] == (
        "Your access token is not valid or has expired; refresh it or sign in."
    )
    assert reply.headers["www-authenticate"] == "Bearer"


def test_bad_image_name(hub: HubFixture) -> None:
    reply = hub.client.get("/api/v1/images/NOT-A-HASH", headers=hub.headers())
    assert reply.status_code == 422
    assert reply.json()["detail"] == (
        "An image is named by its SHA-256: 64 lower-case hex characters."
    )


def test_bad_user_fields(hub: HubFixture) -> None:
    reply = hub.client.post(
        "/api/v1/admin/users",
        json={
            "username": "Bad Name",
            "display_name": "x",
            "role": "chief",
            "password": "violet-harbor-kettle",
        },
        headers=hub.headers("admin"),
    )
    assert reply.status_code == 422
    detail = reply.json()["detail"]
    assert "username" in detail
    assert "role" in detail


def test_a_camera_too_large_for_the_registry_is_named_not_stored(hub: HubFixture) -> None:
    # Found by the API fuzzer: on PostgreSQL a 17-character direction was a 500.
    camera = {
        "camera_id": "CAM-900", "name": "Dell Range & Yellowstone", "agency": "Cheyenne PD",
        "latitude": 41.16, "longitude": -104.8, "direction": "northbound-lane-2", "active": True,
    }  # fmt: skip
    admin = hub.headers("admin")
    reply = hub.client.post("/api/v1/admin/cameras", json=camera, headers=admin)
    assert reply.status_code == 422
    assert "direction" in reply.json()["detail"]
    far = hub.client.post(
        "/api/v1/admin/cameras", json={**camera, "direction": "N", "latitude": 123.0},
        headers=admin,
    )  # fmt: skip
    assert far.status_code == 422
    assert "latitude" in far.json()["detail"]
    cameras = hub.client.get("/api/v1/cameras", headers=hub.headers()).json()
    assert "CAM-900" not in {c["camera_id"] for c in cameras}
    ok = hub.client.post("/api/v1/admin/cameras", json={**camera, "direction": "N"}, headers=admin)
    assert ok.status_code == 201, ok.text


NUL_REFUSED = "holds a NUL character (U+0000)"


def test_a_nul_character_is_refused_at_the_edge_and_nothing_is_stored(hub: HubFixture) -> None:
    # SQLite stored it; PostgreSQL refused with a message about lengths and ranges.
    camera = {
        "camera_id": "CAM-901", "name": "Dell Range\u0000Yellowstone", "agency": "Cheyenne PD",
        "latitude": 41.16, "longitude": -104.8, "direction": "N", "active": True,
    }  # fmt: skip
    admin = hub.headers("admin")
    reply = hub.client.post("/api/v1/admin/cameras", json=camera, headers=admin)
    assert reply.status_code == 422
    assert f"{NUL_REFUSED} in the body" in reply.json()["detail"]
    cameras = hub.client.get("/api/v1/cameras", headers=hub.headers()).json()
    assert "CAM-901" not in {c["camera_id"] for c in cameras}

    in_query = hub.client.get(
        "/api/v1/holds", params={"case_number": "2026-004211\u0000"}, headers=admin
    )
    assert in_query.status_code == 422
    assert f"{NUL_REFUSED} in the query string" in in_query.json()["detail"]
    in_header = hub.client.get(
        "/api/v1/cases", headers={**admin, "X-Platedesk-Device": "dev\u0000ice"}
    )
    assert in_header.status_code == 422
    assert f"{NUL_REFUSED} in a header" in in_header.json()["detail"]
    in_path = hub.client.get("/api/v1/devices/dev%00ice", headers=admin)
    assert in_path.status_code == 422
    assert f"{NUL_REFUSED} in the path" in in_path.json()["detail"]
    csv = "plate,state,reason,source,case_number,expires_at\nABC\u0000123,WY,stolen,NCIC,2026-004211,\n"
    in_csv = hub.client.post(
        "/api/v1/hotlists/import",
        content=csv.encode(),
        headers={**hub.headers("supervisor"), "Content-Type": "text/csv"},
    )
    assert in_csv.status_code == 422
    assert NUL_REFUSED in in_csv.json()["detail"]

    # A backslash followed by the text "u0000" is not a NUL: stored as written.
    literal = {**camera, "name": "Dell Range \\u0000 Yellowstone"}
    ok = hub.client.post("/api/v1/admin/cameras", json=literal, headers=admin)
    assert ok.status_code == 201, ok.text
    names = {
        c["camera_id"]: c["name"] for c in hub.client.get("/api/v1/cameras", headers=admin).json()
    }
    assert names["CAM-901"] == "Dell Range \\u0000 Yellowstone"


def test_a_trailing_newline_does_not_pass_an_anchored_pattern(hub: HubFixture) -> None:
    # `^[0-9a-f]{64}$` with re.match accepted "<64 hex>\n" as an image name.
    sha = hub.reads[0]["image_sha256"]
    headers = hub.headers("admin")
    assert hub.client.get(f"/api/v1/images/{sha}", headers=headers).status_code != 422
    reply = hub.client.get(f"/api/v1/images/{sha}%0A", headers=headers)
    assert reply.status_code == 422, reply.text
