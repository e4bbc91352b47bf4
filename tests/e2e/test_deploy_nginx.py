"""docs/deploy/nginx.conf works: a real nginx on loopback, TLS by a throwaway agency CA,
in front of a real hub; a workstation that trusts the CA bundle signs in and syncs a
slice through it, and one that does not trust it is refused before it sends anything."""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.demo import running_hub, seed_hub, totp_now
from app.sync.client import HubUnreachable
from app.workstation import Workstation
from tests.support.nginx import TlsFiles, free_port, make_tls, nginx_binary, running_nginx

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "deploy" / "nginx.conf"
SEED = ["--cameras", "1", "--days", "1", "--reads-per-day", "40", "--seed", "5"]


def deployed_conf(*, hub_port: int, port: int, tls: TlsFiles) -> str:
    """The example with this machine's addresses and files: every line replaced must be
    in the example as the docs show it, so the test fails when the two drift apart."""
    text = EXAMPLE.read_text(encoding="utf-8")
    for old, new in (
        ("server 127.0.0.1:8750;", f"server 127.0.0.1:{hub_port};"),
        ("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;"),
        ("/etc/platedesk/tls/hub-fullchain.pem", str(tls.certificate)),
        ("/etc/platedesk/tls/hub.key", str(tls.key)),
    ):
        assert old in text, f"docs/deploy/nginx.conf no longer has {old!r}"
        text = text.replace(old, new)
    return text


def _trusting(tls: TlsFiles) -> ssl.SSLContext:
    """What a workstation given the agency's CA bundle verifies the hub with."""
    return ssl.create_default_context(cafile=str(tls.ca))


@pytest.fixture(scope="module")
def behind_nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, TlsFiles, Any]]:
    """(https URL of nginx, the TLS files, what demo-seed printed)."""
    if nginx_binary() is None:
        message = "nginx is not installed here: apt-get install nginx"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (.ci/run installs it)", pytrace=False)
        pytest.skip(message)
    data = tmp_path_factory.mktemp("hub")
    seeded = seed_hub(data, extra=SEED)
    tls = make_tls(tmp_path_factory.mktemp("tls"))
    with running_hub(data) as hub:
        hub_port = int(hub.url.rsplit(":", 1)[1])
        conf = deployed_conf(hub_port=hub_port, port=free_port(), tls=tls)
        with running_nginx(conf, tmp_path_factory.mktemp("nginx")) as url:
            yield url, tls, seeded


def test_a_slice_syncs_through_nginx_with_the_agency_ca(
    behind_nginx: tuple[str, TlsFiles, Any], tmp_path: Path
) -> None:
    url, tls, seeded = behind_nginx
    assert url.startswith("https://127.0.0.1:")
    health = httpx.get(f"{url}/healthz", verify=_trusting(tls), timeout=10)
    assert health.status_code == 200
    assert health.headers["strict-transport-security"] == "max-age=31536000"

    user = next(u for u in seeded["users"] if u["role"] == "detective")
    case = next(c["case_number"] for c in seeded["cases"] if user["username"] in c["assigned"])
    workstation = Workstation.open(
        profile_dir=tmp_path / "profile",
        hub_url=url,
        transport=httpx.HTTPTransport(verify=_trusting(tls)),
    )
    try:
        workstation.login(
            username=user["username"], password=user["password"],
            totp=totp_now(user["totp_secret"]),
        )  # fmt: skip
        now = datetime.now(UTC)
        created = workstation.slices.request(
            case_number=case,
            purpose="robbery",
            justification="Vehicle seen leaving the pharmacy robbery on Lincolnway",
            time_from=now - timedelta(days=2),
            time_to=now,
        )
        result = workstation.sync(slice_id=created.slice_id, images=True)
    finally:
        workstation.close()
    assert result.reads == 40
    assert result.images >= 40
    assert not result.cancelled


def test_a_workstation_without_the_ca_is_refused(
    behind_nginx: tuple[str, TlsFiles, Any], tmp_path: Path
) -> None:
    url, _tls, seeded = behind_nginx
    user = next(u for u in seeded["users"] if u["role"] == "detective")
    workstation = Workstation.open(profile_dir=tmp_path / "profile", hub_url=url)
    try:
        with pytest.raises(HubUnreachable):
            workstation.login(username=user["username"], password=user["password"], totp="000000")
    finally:
        workstation.close()
