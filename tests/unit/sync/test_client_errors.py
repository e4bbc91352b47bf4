"""The hub client's errors carry a kind, set where the error is made (never read back
from the sentence): unreachable, timed out, policy, session, revoked, conflict, not found."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from app.core.errors import KIND_FIELD, ErrorKind, is_offline
from app.sync.client import DeviceRevoked, HubClient, HubError, HubRefused, SessionEnded
from tests.support.silent_hub import refused_url, silent_hub


def test_a_refused_connection_is_unreachable() -> None:
    client = HubClient(refused_url())
    with pytest.raises(HubError) as caught:
        client.ping()
    client.close()
    assert caught.value.kind is ErrorKind.UNREACHABLE
    assert is_offline(caught.value)


def test_a_hub_that_never_answers_times_out_within_five_seconds() -> None:
    with silent_hub() as url:
        client = HubClient(url)
        began = time.monotonic()
        with pytest.raises(HubError) as caught:
            client.ping()
        elapsed = time.monotonic() - began
        client.close()
    assert caught.value.kind is ErrorKind.TIMED_OUT
    assert is_offline(caught.value)
    assert elapsed < 5.0  # the contract of `platedesk status` (not the 30 s read timeout)


def _answering(status: int, body: dict[str, Any]) -> HubClient:
    """A client whose every request gets one answer (an httpx transport: the network edge)."""
    transport = httpx.MockTransport(lambda _request: httpx.Response(status, json=body))
    return HubClient("https://hub.invalid", transport=transport)


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (404, {"detail": "No such slice among yours."}, ErrorKind.NOT_FOUND),
        (409, {"detail": "Case 2026-000001 is closed."}, ErrorKind.CONFLICT),
        (422, {"detail": "The window is empty."}, ErrorKind.INVALID),
        # The sentence says "policy" but the hub named no kind: not a policy refusal.
        (422, {"detail": "Your policy number is wrong."}, ErrorKind.INVALID),
        (
            422,
            {"detail": "Refused by law.", KIND_FIELD: "policy_refused"},
            ErrorKind.POLICY_REFUSED,
        ),
        (403, {"detail": "You are not assigned to case 2026-000001."}, ErrorKind.FORBIDDEN),
        (429, {"detail": "Too many attempts."}, ErrorKind.REFUSED),
        (500, {"detail": "boom"}, ErrorKind.HUB_FAILED),
    ],
)
def test_a_refusal_has_the_kind_of_its_status_or_the_one_the_hub_named(
    status: int, body: dict[str, Any], kind: ErrorKind
) -> None:
    client = _answering(status, body)
    with pytest.raises(HubError) as caught:
        client.cases()
    assert caught.value.kind is kind
    assert not is_offline(caught.value)
    if status < 500:
        assert isinstance(caught.value, HubRefused)
        assert str(caught.value) == body["detail"]


def test_an_expired_session_and_a_revoked_device_have_their_kinds() -> None:
    with pytest.raises(SessionEnded) as ended:
        _answering(401, {"detail": "Sign in again."}).cases()
    assert ended.value.kind is ErrorKind.SESSION_EXPIRED

    wiped: list[bool] = []
    client = _answering(403, {"detail": "Gone.", KIND_FIELD: "device_revoked"})
    client.on_device_revoked = lambda: wiped.append(True)
    with pytest.raises(DeviceRevoked) as revoked:
        client.cases()
    assert revoked.value.kind is ErrorKind.DEVICE_REVOKED
    assert wiped == [True]

    # The revocation sentence alone, without the kind, is an ordinary refusal.
    client = _answering(403, {"detail": "This device has been revoked by the agency."})
    client.on_device_revoked = lambda: wiped.append(False)
    with pytest.raises(HubRefused) as refused:
        client.cases()
    assert refused.value.kind is ErrorKind.FORBIDDEN
    assert wiped == [True]


def test_a_reply_that_cannot_be_read_is_corrupt() -> None:
    with pytest.raises(HubError) as caught:
        _answering(200, {"not": "a list"}).cases()
    assert caught.value.kind is ErrorKind.CORRUPT
