"""Property-based fuzzing of the whole hub API from its own OpenAPI schema (schemathesis).

Every operation gets generated requests, valid and invalid, sent as the admin, as a
detective and (for camera ingest) as a feed, on SQLite and on PostgreSQL. Whatever
arrives, the hub must answer with a clear 4xx or a success: never a 5xx, never a
traceback. The schema is the app's own /openapi.json, so a new endpoint is fuzzed
the day it is added.
"""

from __future__ import annotations

from typing import Any

import pytest
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


CONFORMANCE_EXAMPLES = 4  # per operation: about 230 cases, well under a minute on SQLite
# All of schemathesis' stateless checks but positive_data_acceptance: the hub refuses
# schema-valid requests by its rules (an unknown case, a prohibited purpose, a weak
# password, a NUL character) with the documented 422, which that check counts as wrong.
CONFORMANCE_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
)


@pytest.mark.parametrize("hub_db", [None], ids=["sqlite"])  # the schema is the same on both
def test_every_response_conforms_to_the_published_schema(hub: HubFixture) -> None:
    """Whatever a request holds, the reply's status, content type, headers and body are
    what the hub's OpenAPI says they are (schemathesis' checks, a bounded number of cases)."""
    import schemathesis.specs.openapi.checks  # registers the OpenAPI checks by name
    from schemathesis.checks import CHECKS

    checks = CHECKS.get_by_names(list(CONFORMANCE_CHECKS))
    people = {"Authorization": hub.headers("admin")["Authorization"]}
    feed = {"Authorization": f"Bearer {hub.feed_token()}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", hub.client.app)
    operations = [
        operation
        for operation in (result.ok() for result in schema.get_all_operations())
        if operation.path not in STREAMS
    ]
    failures: list[str] = []
    for operation in operations:
        headers = feed if "/ingest/" in operation.path else people
        _conformance(operation, headers, checks, failures)()
    assert failures == [], "\n\n".join(failures[:10])


def _conformance(
    operation: Any, headers: dict[str, str], checks: list[Any], failures: list[str]
) -> Any:
    from schemathesis.core.failures import FailureGroup

    @given(case=operation.as_strategy())
    @settings(
        max_examples=CONFORMANCE_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: Any) -> None:
        try:
            case.call_and_validate(headers=headers, checks=checks)
        except FailureGroup as exc:  # kept, so one run names every operation that fails
            failures.append(f"{case.method} {case.path}: {exc}\n{case.as_curl_command()}")

    return run
