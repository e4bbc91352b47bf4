"""The agency's certificate authority: a PEM bundle the hub client trusts for its hub.

A hub with a certificate from the agency's own (private) CA is trusted only when the
user gives that CA's bundle; Platedesk keeps it in the profile and shows each
certificate's SHA-256 fingerprint, so the user can compare it with the one IT published.
"""

from __future__ import annotations

import hashlib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from app.core.errors import ErrorKind, KnownError

MAX_BUNDLE_BYTES = 1_000_000  # a CA bundle is a few kilobytes; anything this big is not one


class CaBundleError(KnownError):
    kind = ErrorKind.INVALID


@dataclass(frozen=True, slots=True)
class CaCertificate:
    subject: str
    sha256: str  # the fingerprint, AA:BB:... (SHA-256 of the certificate's DER bytes)
    not_after: datetime
    is_ca: bool


@dataclass(frozen=True, slots=True)
class CaBundle:
    """A checked PEM bundle: its bytes (as kept in the profile) and its certificates."""

    pem: bytes
    certificates: tuple[CaCertificate, ...]

    @property
    def fingerprints(self) -> list[str]:
        return [cert.sha256 for cert in self.certificates]

    def ssl_context(self) -> ssl.SSLContext:
        """Verification against this bundle alone (and the hub's host name)."""
        context = ssl.create_default_context(cadata=self.pem.decode("ascii"))
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context


def fingerprint(der: bytes) -> str:
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def read_ca_bundle(data: bytes, *, source: str) -> CaBundle:
    """Check a PEM bundle (one or more certificates); CaBundleError names what is wrong."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise CaBundleError(f"{source} is too large to be a CA bundle; give the agency's PEM file.")
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise CaBundleError(
            f"{source} holds no certificate: give the agency's CA bundle as a PEM file "
            "(text starting with -----BEGIN CERTIFICATE-----)."
        )
    try:
        loaded = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise CaBundleError(
            f"{source} is not a readable PEM certificate bundle ({exc}); ask your agency's IT "
            "staff for the CA bundle file."
        ) from exc
    certificates = tuple(_describe(cert) for cert in loaded)
    if not any(cert.is_ca for cert in certificates):
        raise CaBundleError(
            f"{source} holds no certificate authority (only a server's own certificate); give "
            "the agency's CA bundle, the certificate that signed the hub's."
        )
    pem = b"".join(cert.public_bytes(Encoding.PEM) for cert in loaded)
    try:
        ssl.create_default_context(cadata=pem.decode("ascii"))
    except ssl.SSLError as exc:
        raise CaBundleError(f"{source} cannot be used to check certificates ({exc}).") from exc
    return CaBundle(pem=pem, certificates=certificates)


def _describe(cert: x509.Certificate) -> CaCertificate:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        is_ca = constraints.ca
    except x509.ExtensionNotFound:
        is_ca = False
    return CaCertificate(
        subject=cert.subject.rfc4514_string(),
        sha256=fingerprint(cert.public_bytes(Encoding.DER)),
        not_after=cert.not_valid_after_utc.astimezone(UTC),
        is_ca=is_ca,
    )


def is_untrusted_certificate(exc: BaseException) -> bool:
    """Whether a connection failed because the server's certificate was not trusted."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        current = current.__cause__ or current.__context__
    return False
