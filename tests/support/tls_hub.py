"""A real hub served over TLS on loopback, with a throwaway certificate authority.

`throwaway_ca` makes a CA and a server certificate for 127.0.0.1 / localhost with
`cryptography`; `tls_hub` runs `platedesk-hub serve --tls-cert --tls-key` with them.
"""

from __future__ import annotations

import contextlib
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)
from cryptography.x509.oid import NameOID

from app.demo import free_port, hub_command, seed_hub


@dataclass(frozen=True)
class ThrowawayCa:
    ca_pem: Path  # the CA bundle a user is given
    ca_der: bytes
    cert: Path  # the hub's certificate (signed by the CA) and its key
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def throwaway_ca(folder: Path, *, label: str = "Platedesk Test Agency CA") -> ThrowawayCa:
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(label))
        .issuer_name(_name(label))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(IPv4Address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    bundle = ThrowawayCa(
        ca_pem=folder / "agency-ca.pem",
        ca_der=ca_cert.public_bytes(Encoding.DER),
        cert=folder / "hub.crt",
        key=folder / "hub.key",
    )
    bundle.ca_pem.write_bytes(ca_cert.public_bytes(Encoding.PEM))
    bundle.cert.write_bytes(cert.public_bytes(Encoding.PEM))
    bundle.key.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    return bundle


@dataclass(frozen=True)
class TlsHub:
    url: str
    ca: ThrowawayCa
    seeded: dict[str, Any]

    def user(self, role: str) -> dict[str, Any]:
        return next(u for u in self.seeded["users"] if u["role"] == role)


@contextlib.contextmanager
def tls_hub(folder: Path, *, seed: bool = False, timeout: float = 60.0) -> Iterator[TlsHub]:
    """`platedesk-hub serve` over TLS on 127.0.0.1 (seeded small when `seed`)."""
    data = folder / "hub"
    ca = throwaway_ca(folder / "tls")
    extra = ["--cameras", "1", "--days", "1", "--reads-per-day", "5", "--seed", "3"]
    if seed:
        seeded = seed_hub(data, extra=extra)
    else:
        subprocess.run([*hub_command(), "init", "--data", str(data)], check=True,
                       capture_output=True)  # fmt: skip
        seeded = {"users": []}
    port = free_port()
    command = [*hub_command(), "serve", "--data", str(data), "--port", str(port),
               "--tls-cert", str(ca.cert), "--tls-key", str(ca.key)]  # fmt: skip
    log_path = folder / "hub-serve.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"https://127.0.0.1:{port}"
    try:
        trust = ssl.create_default_context(cafile=str(ca.ca_pem))
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(log_path.read_text(errors="replace")[-2000:])
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", verify=trust, timeout=1.0).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the TLS hub did not answer on {url} within {timeout} s")
            time.sleep(0.1)
        yield TlsHub(url=url, ca=ca, seeded=seeded)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
