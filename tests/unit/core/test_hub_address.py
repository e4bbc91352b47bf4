"""A hub address is checked before anything connects: plain http:// only to this computer.
No network is needed: every refusal here happens before a connection is tried."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli.commands import run
from app.core.errors import ErrorKind
from app.core.hub_address import HubAddressError, check_hub_address, is_loopback_host
from app.sync.client import HubClient


@pytest.mark.parametrize(
    "url",
    ["http://10.20.30.40:8750", "http://hub.example.gov", "HTTP://Hub.Example.Gov/",
     "http://[2001:db8::1]:8750", "http://127.0.0.1.example.com"],
)  # fmt: skip
def test_plain_http_to_another_computer_is_refused_with_the_reason(url: str) -> None:
    with pytest.raises(HubAddressError) as refused:
        check_hub_address(url)
    assert refused.value.kind is ErrorKind.INSECURE
    message = str(refused.value)
    assert "unencrypted" in message
    assert "https://" in message
    with pytest.raises(HubAddressError):
        HubClient(url)  # the hub client refuses it too, whoever builds one


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        ("http://127.0.0.1:8750/", "http://127.0.0.1:8750"),
        ("http://127.3.2.1:8750", "http://127.3.2.1:8750"),
        ("http://[::1]:8750", "http://[::1]:8750"),
        ("http://localhost:8750", "http://localhost:8750"),
        ("https://hub.example.gov", "https://hub.example.gov"),
        ("  https://hub.example.gov:8443/platedesk/ ", "https://hub.example.gov:8443/platedesk"),
    ],
)
def test_loopback_http_and_any_https_are_accepted(url: str, normalized: str) -> None:
    assert check_hub_address(url) == normalized


@pytest.mark.parametrize(
    "url",
    ["", "hub.example.gov", "ftp://hub.example.gov", "https://", "https://hub:99999",
     "https://user:pw@hub.example.gov", "https://hub.example.gov/?x=1"],
)  # fmt: skip
def test_what_is_not_an_address_says_so(url: str) -> None:
    with pytest.raises(HubAddressError) as refused:
        check_hub_address(url)
    assert refused.value.kind is ErrorKind.INVALID


def test_loopback_is_decided_without_a_lookup() -> None:
    assert is_loopback_host("127.0.0.1")
    assert is_loopback_host("::1")
    assert is_loopback_host("LOCALHOST")
    assert not is_loopback_host("10.0.0.1")
    assert not is_loopback_host("localhost.example.com")


def test_connect_refuses_plain_http_before_connecting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`platedesk connect http://10.x` exits 1 with one line naming why, and keeps nothing."""
    profile = tmp_path / "profile"
    code = run(["--profile", str(profile), "connect", "http://10.20.30.40:8750"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("platedesk: Platedesk does not connect to http://10.20.30.40:8750")
    assert "https://10.20.30.40:8750" in err
    assert len(err.strip().splitlines()) == 1
    assert not (profile / "profile.json").exists()
