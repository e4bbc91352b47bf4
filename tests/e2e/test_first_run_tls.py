"""First run against a real hub over TLS on loopback, its certificate from a throwaway
agency CA: accepted with the agency's CA bundle (kept in the profile, shown by its
fingerprint, then used to sign in), refused without it or with another CA's."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli.commands import run
from app.config.paths import hub_profile_dir
from app.config.settings import load_settings
from app.core.errors import ErrorKind
from app.demo import totp_now
from app.services.hub_link import read_ca_file
from app.sync.client import HubError
from app.workstation import Workstation
from tests.support.tls_hub import TlsHub, throwaway_ca, tls_hub

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsHub]:
    with tls_hub(tmp_path_factory.mktemp("tls"), seed=True) as served:
        yield served


def test_connect_with_the_agency_ca_keeps_it_and_signs_in_over_tls(
    hub: TlsHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = tmp_path / "profile"
    code = run(["--profile", str(profile), "--json", "connect", hub.url,
                "--ca-bundle", str(hub.ca.ca_pem)])  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out.err
    shown = json.loads(out.out)
    expected = read_ca_file(hub.ca.ca_pem).fingerprints
    assert shown["hub"] == hub.url
    assert [cert["sha256"] for cert in shown["ca_bundle"]] == expected
    kept = load_settings(profile)
    assert kept.hub_url == hub.url
    assert (profile / kept.hub_ca_file).read_bytes() == hub.ca.ca_pem.read_bytes()

    user = hub.user("detective")
    workstation = Workstation.open(profile_dir=profile)  # the hub and CA from the profile
    try:
        session = workstation.login(
            username=user["username"],
            password=user["password"],
            totp=totp_now(user["totp_secret"]),
        )
        assert session.hub_url == hub.url
        assert workstation.catalog.cases()  # a real request over the verified connection
    finally:
        workstation.close()
    assert run(["--profile", str(profile), "--json", "status"]) == 0
    assert json.loads(capsys.readouterr().out)["hub"] == "online"

    # Another CA in its place is refused, and the profile keeps the one that works.
    stranger = throwaway_ca(tmp_path / "other", label="Some Other Agency CA")
    code = run(["--profile", str(profile), "connect", hub.url, "--ca-bundle", str(stranger.ca_pem)])
    assert code == 1
    assert "did not sign" in capsys.readouterr().err
    assert (profile / kept.hub_ca_file).read_bytes() == hub.ca.ca_pem.read_bytes()


def test_without_the_ca_bundle_the_hub_is_refused_and_nothing_is_kept(
    hub: TlsHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = tmp_path / "profile"
    code = run(["--profile", str(profile), "connect", hub.url])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(
        f"platedesk: The hub at {hub.url} presented a certificate this computer does not trust."
    )
    assert "--ca-bundle FILE" in err
    assert not (profile / "profile.json").exists()


def test_another_agencys_ca_does_not_vouch_for_the_hub(hub: TlsHub, tmp_path: Path) -> None:
    stranger = throwaway_ca(tmp_path / "other", label="Some Other Agency CA")
    workstation = Workstation(profile_dir=tmp_path / "profile")
    try:
        with pytest.raises(HubError) as refused:
            workstation.hub_link.probe(hub.url, read_ca_file(stranger.ca_pem))
    finally:
        workstation.close()
    assert refused.value.kind is ErrorKind.UNTRUSTED
    assert not refused.value.kind.offline  # not "offline": the user must act
    assert "the agency CA bundle Platedesk was given did not sign" in str(refused.value)


def test_without_a_profile_connect_makes_one_that_the_first_sign_in_takes(
    hub: TlsHub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`platedesk connect URL --ca-bundle F`, then `platedesk --hub URL login ...`: the
    sign-in finds the hub's first-run profile and its CA bundle."""
    assert run(["--json", "connect", hub.url, "--ca-bundle", str(hub.ca.ca_pem)]) == 0
    made = Path(json.loads(capsys.readouterr().out)["profile"])
    assert made == hub_profile_dir(hub.url)
    user = hub.user("evidence_technician")
    monkeypatch.setattr("sys.stdin", io.StringIO(user["password"] + "\n"))
    code = run(["--hub", hub.url, "--json", "login", "--user", user["username"],
                "--totp", totp_now(user["totp_secret"])])  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out.err
    assert json.loads(out.out)["profile"] == str(made)
    assert load_settings(made).username == user["username"]
