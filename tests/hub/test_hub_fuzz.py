"""Property-based fuzzing of the whole hub API from its own OpenAPI schema (schemathesis).

Every operation gets generated requests, valid and invalid, sent as the admin, as a
detective and (for camera ingest) as a feed, on SQLite and on PostgreSQL. Whatever
arrives, the hub must answer with a clear 4xx or a success: never a 5xx, never a
traceback. The schema is the app's own /openapi.json, so a new endpoint is fuzzed
the day it is added.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.hub.hub_support import HubFixture

FUZZ_EXAMPLES = 25  # per operation and database: enough to reach the validation paths
STREAMS = {"/api/v1/alerts/stream"}


def _check(case: Any, callers: dict[str, dict[str, str]]) -> None:
    for caller, headers in callers.items():
        response = case.call(headers=headers)
        assert response.status_code < 500, (
            f"{case.method} {case.path} as {caller} -> {response.status_code}: "
            f"{response.text[:300]}\n{case.as_curl_command()}"
        )
        if response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
            detail = response.json().get("detail")
            assert detail, f"{case.method} {case.path}: an error without a message"
            assert "Traceback" not in str(detail)


def test_no_request_makes_the_hub_fail(hub: HubFixture) -> None:
    people = {"admin": hub.headers("admin"), "detective": hub.headers("detective")}
    feed = {"feed": {"Authorization": f"Bearer {hub.feed_token()}"}}
    schema = schemathesis.openapi.from_asgi("/openapi.json", hub.client.app)
    # The alert stream stays open until its time is up: test_hub_alerts covers it.
    operations = [
        operation
        for operation in (result.ok() for result in schema.get_all_operations())
        if operation.path not in STREAMS
    ]
    assert len(operations) > 30
    for operation in operations:
        callers = feed if "/ingest/" in operation.path else people
        _fuzzer(operation, callers)()


def _fuzzer(operation: Any, callers: dict[str, dict[str, str]]) -> Any:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def fuzz(case: Any) -> None:
        _check(case, callers)

    return fuzz
