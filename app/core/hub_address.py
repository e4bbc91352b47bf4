"""A hub's address as a user gives it: checked before anything connects.

Plain http:// sends passwords, tokens and plate reads in clear, so it is refused for
any host but this computer itself (loopback: 127.0.0.0/8, ::1, localhost), where a
demo or a test hub runs. Pure: no lookup, no connection.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from app.core.errors import ErrorKind, KnownError

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


class HubAddressError(KnownError):
    """An address Platedesk will not connect to; `kind` is INVALID or INSECURE."""

    def __init__(self, message: str, kind: ErrorKind = ErrorKind.INVALID) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind


def is_loopback_host(host: str) -> bool:
    """Whether `host` names this computer: localhost, 127.0.0.0/8 or ::1 (no DNS lookup)."""
    name = host.strip("[]").lower().rstrip(".")
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_hub_address(url: str) -> str:
    """The hub's address, normalized (no trailing slash), or HubAddressError saying why not."""
    text = url.strip().rstrip("/")
    if not text:
        raise HubAddressError("Enter the hub's address, for example https://hub.example.gov.")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise HubAddressError(
            f"'{url}' is not a hub address ({exc}); give it as https://host or https://host:port."
        ) from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise HubAddressError(
            f"'{url}' is not a hub address; give it as https://host or https://host:port."
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise HubAddressError(
            f"'{url}' is not a hub address: give only https://host:port (and a path, if your "
            "hub has one), with no user name, query or fragment."
        )
    if scheme == "http" and not is_loopback_host(parts.hostname):
        host = parts.hostname if port is None else f"{parts.hostname}:{port}"
        raise HubAddressError(
            f"Platedesk does not connect to {text}: plain http:// would send your password, "
            "tokens and plate reads unencrypted over the network. Use the hub's https:// "
            f"address (e.g. https://{host}); plain http:// is accepted only for a hub on this "
            "computer (localhost, 127.0.0.1 or ::1).",
            ErrorKind.INSECURE,
        )
    return text
