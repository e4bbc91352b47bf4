"""The API's edges: every error body is what the published OpenAPI says it is, every
operation documents the refusals the hub makes before its route runs, and a path
says which methods it answers (OPTIONS, 405 with Allow)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.hub.hub_support import HubFixture

ERROR_REF = "#/components/schemas/ErrorPublic"


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]


def test_every_documented_error_is_an_error_public(hub: HubFixture) -> None:
    spec = hub.client.get("/openapi.json").json()
    # FastAPI's own 422 schema (`detail` an array) is not what the hub sends.
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert spec["components"]["schemas"]["ErrorPublic"]["properties"]["detail"]["type"] == "string"
    for method, path, operation in _operations(spec):
        responses = operation["responses"]
        assert "422" in responses, f"{method} {path}"
        for code, response in responses.items():
            if code.startswith("4"):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": ERROR_REF}, f"{method} {path} {code}"
        if operation.get("security"):
            assert {"401", "403"} <= set(responses), f"{method} {path}"
        if method in {"POST", "PUT", "PATCH"}:
            assert "413" in responses, f"{method} {path}"
    me = spec["paths"]["/api/v1/me"]["get"]["responses"]
    assert {"401", "403", "423"} <= set(me)  # no token; a revoked device; a locked account


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/slices", {}),
        ("GET", "/api/v1/slices/x/changes?limit=many", None),
        ("POST", "/api/v1/admin/users", {"username": "A"}),
        ("GET", "/api/v1/audit/checkpoint", None),  # the 422 FastAPI left undocumented
    ],
)
def test_a_422_body_matches_the_published_schema(
    hub: HubFixture, method: str, path: str, body: Any
) -> None:
    spec = hub.client.get("/openapi.json").json()
    template = path.split("?")[0].replace("/x/", "/{slice_id}/")
    documented = spec["paths"][template][method.lower()]["responses"]["422"]
    assert documented["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}
    headers = hub.headers("admin")
    if body is None and path.endswith("checkpoint"):
        path = path + "?x=%00"  # a NUL in the query: a 422 on any operation
    reply = hub.client.request(method, path, json=body, headers=headers)
    assert reply.status_code == 422, reply.text
    shown = reply.json()
    assert set(shown) == {"detail"}
    assert isinstance(shown["detail"], str)
    assert shown["detail"]


def test_options_and_a_wrong_method_name_the_allowed_methods(hub: HubFixture) -> None:
    # Two routes share /api/v1/slices (GET lists, POST requests): both are allowed.
    options = hub.client.options("/api/v1/slices")
    assert options.status_code == 204
    assert options.headers["allow"] == "GET, OPTIONS, POST"
    wrong = hub.client.delete("/api/v1/slices", headers=hub.headers())
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "GET, OPTIONS, POST"
    assert wrong.json() == {
        "detail": "DELETE is not allowed here; this path answers GET, OPTIONS, POST."
    }
    item = hub.client.options("/api/v1/holds/12/confirm")
    assert item.status_code == 204
    assert item.headers["allow"] == "OPTIONS, POST"
    assert hub.client.options("/api/v1/nowhere").status_code == 404
