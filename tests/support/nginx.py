"""A real nginx on loopback for tests, as the current user, and a throwaway TLS CA.

running_nginx(conf_text, workdir) wraps `conf_text` (what goes in nginx's http
context: upstreams and servers, as docs/deploy/nginx.conf) in a configuration whose
pid file, logs and temporary folders are in `workdir`, starts nginx in the foreground
and yields the base URL of the first `listen` address; it stops nginx after.
make_tls(workdir) writes a CA and a loopback server certificate it signed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import ipaddress
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

NGINX = "/usr/sbin/nginx"
_LISTEN = re.compile(r"^\s*listen\s+(127\.0\.0\.1):(\d+)(\s+ssl)?", re.MULTILINE)


class NginxError(RuntimeError):
    """nginx refused the configuration or did not start."""


def nginx_binary() -> str | None:
    return NGINX if os.access(NGINX, os.X_OK) else shutil.which("nginx")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wrapped(conf_text: str, workdir: Path) -> str:
    temp = {name: workdir / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(exist_ok=True)
    user = f"user {getpass.getuser()};\n" if os.geteuid() == 0 else ""  # workers as root's
    return (
        f"{user}worker_processes 1;\n"
        "daemon off;\n"
        f"pid {workdir / 'nginx.pid'};\n"
        f"error_log {workdir / 'error.log'} warn;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        f"    client_body_temp_path {temp['body']};\n"
        f"    proxy_temp_path {temp['proxy']};\n"
        f"    fastcgi_temp_path {temp['fastcgi']};\n"
        f"    uwsgi_temp_path {temp['uwsgi']};\n"
        f"    scgi_temp_path {temp['scgi']};\n"
        f"    access_log off;\n"
        f"{conf_text}\n"
        "}\n"
    )


@contextlib.contextmanager
def running_nginx(conf_text: str, workdir: Path, *, timeout: float = 20.0) -> Iterator[str]:
    """nginx serving `conf_text` (http context) until the block ends; yields its base URL
    (https:// when the first loopback `listen` says ssl)."""
    binary = nginx_binary()
    if binary is None:
        raise NginxError("nginx is not installed (apt-get install nginx)")
    found = _LISTEN.search(conf_text)
    if found is None:
        raise NginxError("the configuration has no `listen 127.0.0.1:PORT` line")
    host, port, ssl = found.group(1), int(found.group(2)), bool(found.group(3))
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "nginx.conf"
    conf.write_text(_wrapped(conf_text, workdir), encoding="utf-8")
    command = [binary, "-p", str(workdir), "-e", str(workdir / "error.log"), "-c", str(conf)]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
    if checked.returncode != 0:
        raise NginxError(f"nginx -t refused the configuration:\n{checked.stderr}")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise NginxError(f"nginx stopped as it started: {process.stderr.read()!r}")  # type: ignore[union-attr]
            with contextlib.suppress(OSError), socket.create_connection((host, port), 0.2):
                break
            if time.monotonic() > deadline:
                raise NginxError(f"nginx did not listen on {host}:{port} within {timeout} s")
            time.sleep(0.02)  # polling for the socket, not a timed wait for a result
        yield f"{'https' if ssl else 'http'}://{host}:{port}"
    finally:
        process.terminate()  # a fast shutdown (SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()


@dataclass(frozen=True)
class TlsFiles:
    ca: Path  # the agency's CA bundle the workstation trusts
    certificate: Path  # the server's certificate and the CA's (a full chain)
    key: Path


def make_tls(workdir: Path, *, hostname: str = "localhost") -> TlsFiles:
    """A throwaway CA and a server certificate for `hostname` and 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    workdir.mkdir(parents=True, exist_ok=True)
    usage = dict.fromkeys(
        ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
         "key_agreement", "encipher_only", "decipher_only"),
        False,
    )  # fmt: skip
    ca_usage = x509.KeyUsage(key_cert_sign=True, crl_sign=True, **usage)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Agency CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(ca_usage, critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(hostname), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    files = TlsFiles(workdir / "ca.pem", workdir / "fullchain.pem", workdir / "server.key")
    files.ca.write_bytes(ca.public_bytes(pem))
    files.certificate.write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    files.key.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    files.key.chmod(0o600)
    return files
