"""The agency CA bundle: read, checked and fingerprinted; a bad file is named and refused."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from app.core.errors import KnownError
from app.services.hub_link import read_ca_file
from app.sync.tls import read_ca_bundle
from tests.support.tls_hub import throwaway_ca


def _colon_hex(data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, 64, 2))


def test_a_ca_bundle_is_shown_with_its_sha256_fingerprint(tmp_path: Path) -> None:
    ca = throwaway_ca(tmp_path, label="Springfield PD Root CA")
    bundle = read_ca_file(ca.ca_pem)
    assert [cert.subject for cert in bundle.certificates] == ["CN=Springfield PD Root CA"]
    assert bundle.fingerprints == [_colon_hex(ca.ca_der)]
    assert bundle.certificates[0].is_ca


def test_a_server_certificate_alone_is_not_a_ca_bundle(tmp_path: Path) -> None:
    ca = throwaway_ca(tmp_path)
    with pytest.raises(KnownError, match="holds no certificate authority"):
        read_ca_file(ca.cert)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"not a certificate\n", "holds no certificate"),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not a readable"),
    ],
)
def test_a_file_that_is_not_a_bundle_is_named_and_refused(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    path = tmp_path / "agency.pem"
    path.write_bytes(content)
    with pytest.raises(KnownError, match=problem) as refused:
        read_ca_file(path)
    assert str(path) in str(refused.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(KnownError, match="cannot be read"):
        read_ca_file(tmp_path / "nowhere.pem")


def test_a_bundle_of_two_keeps_both(tmp_path: Path) -> None:
    first = throwaway_ca(tmp_path / "a", label="Old Root")
    second = throwaway_ca(tmp_path / "b", label="New Root")
    both = first.ca_pem.read_bytes() + second.ca_pem.read_bytes()
    bundle = read_ca_bundle(both, source="both.pem")
    assert bundle.fingerprints == [_colon_hex(first.ca_der), _colon_hex(second.ca_der)]
