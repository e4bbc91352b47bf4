"""Secrets in the OS keyring: the cache key, the device key and the tokens. Never in files we write.

Headless machines and tests use the keyrings.alt plaintext file backend (chosen
through PYTHON_KEYRING_BACKEND); it works, and it is reported as insecure so the
product can warn about it on every start.
"""

from __future__ import annotations

import contextlib
import secrets as random_secrets

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

from app.core.errors import KnownError

SERVICE = "platedesk"
CACHE_KEY = "cache-key"
ACCESS_TOKEN = "access-token"  # noqa: S105 (a keyring entry name)
REFRESH_TOKEN = "refresh-token"  # noqa: S105 (a keyring entry name)
DEVICE_KEY = "device-key"


class KeyringUnavailable(KnownError):
    pass


def _backend() -> KeyringBackend:
    backend = keyring.get_keyring()
    if type(backend).__module__.startswith(("keyring.backends.fail", "keyring.backends.null")):
        raise KeyringUnavailable(
            "No keyring is available to keep Platedesk's keys and tokens. Install and unlock "
            "your desktop's keyring (Secret Service / GNOME Keyring or KWallet, Windows "
            "Credential Manager, macOS Keychain), then sign in again."
        )
    return backend


def keyring_is_insecure() -> bool:
    """True when secrets would sit in a plaintext file (keyrings.alt), as in tests."""
    backend = keyring.get_keyring()
    return type(backend).__module__.startswith("keyrings.alt")


class SecretStore:
    """The secrets of one profile, named by the profile's id."""

    def __init__(self, profile_id: str) -> None:
        if not profile_id:
            raise ValueError("a profile id is needed to name its secrets")
        self._service = f"{SERVICE}/{profile_id}"

    def _get(self, name: str) -> str | None:
        try:
            return _backend().get_password(self._service, name)
        except keyring.errors.KeyringError as exc:
            raise KeyringUnavailable(
                f"The keyring refused to give Platedesk its {name}: {exc}"
            ) from exc

    def _set(self, name: str, value: str) -> None:
        try:
            _backend().set_password(self._service, name, value)
        except keyring.errors.KeyringError as exc:
            raise KeyringUnavailable(
                f"The keyring refused to keep Platedesk's {name}: {exc}"
            ) from exc

    def _delete(self, name: str) -> None:
        with contextlib.suppress(keyring.errors.PasswordDeleteError):
            _backend().delete_password(self._service, name)

    def cache_key(self, *, create: bool) -> bytes | None:
        """The raw 32-byte cache key; created (once) only when `create` is true."""
        value = self._get(CACHE_KEY)
        if value is None and create:
            value = random_secrets.token_bytes(32).hex()
            self._set(CACHE_KEY, value)
        return None if value is None else bytes.fromhex(value)

    def device_key(self, *, create: bool) -> bytes | None:
        """The device's raw 32-byte Ed25519 private key (it signs packets); created (once)
        only when `create` is true. Any 32 random bytes are a valid Ed25519 private key."""
        value = self._get(DEVICE_KEY)
        if value is None and create:
            value = random_secrets.token_bytes(32).hex()
            self._set(DEVICE_KEY, value)
        return None if value is None else bytes.fromhex(value)

    def tokens(self) -> tuple[str | None, str | None]:
        return self._get(ACCESS_TOKEN), self._get(REFRESH_TOKEN)

    def set_tokens(self, *, access: str, refresh: str) -> None:
        self._set(ACCESS_TOKEN, access)
        self._set(REFRESH_TOKEN, refresh)

    def clear_tokens(self) -> None:
        self._delete(ACCESS_TOKEN)
        self._delete(REFRESH_TOKEN)

    def wipe(self) -> None:
        """Remove every secret of the profile, the cache and device keys included."""
        self.clear_tokens()
        self._delete(CACHE_KEY)
        self._delete(DEVICE_KEY)
