"""Passwords, one-time codes, tokens and signed cursors.

Keys are derived from the hub secret (DATA/hub-secret.key) with HMAC, one per use,
so an access token key can never verify a feed cursor and the reverse.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.core.canonical import canonical_json
from app.core.policy import ACCESS_TOKEN_LIFETIME
from hub.core.config import HubSettings

JWT_ALGORITHM = "HS256"
ACCESS_TOKEN_TYPE = "access"  # noqa: S105 (a claim value)


def derive_key(secret: bytes, purpose: str) -> bytes:
    return hmac.new(secret, f"platedesk-hub/{purpose}".encode(), hashlib.sha256).digest()


# Sign-in checks hash at most this many passwords at once per process, on threads at
# the lowest CPU priority: a flood of sign-ins (each hash ~200 ms of CPU, by design)
# queues there instead of starving every other request of the CPU.
HASH_THREADS = max(1, (os.cpu_count() or 2) // 2)
HASH_NICENESS = 19


def _lower_priority() -> None:
    """Run this (hashing) thread at the lowest CPU priority, where the OS allows it."""
    if hasattr(os, "setpriority"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_NICENESS)


class PasswordService:
    """argon2id hashing; verifies against a dummy hash for unknown users (constant time).

    verify() hashes on a thread of its own at low CPU priority (the caller waits), at
    most HASH_THREADS at once, so sign-ins cannot take the CPU from the hub's other work.
    """

    def __init__(self, settings: HubSettings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_cost,
            parallelism=settings.argon2_parallelism,
        )
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))
        self._slots = threading.BoundedSemaphore(HASH_THREADS)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether the password matches; with no hash, burns the same time and says no."""
        matched: list[bool] = []

        def work() -> None:
            _lower_priority()  # this thread only: it ends with the hash
            matched.append(self._verify(password_hash, password))

        with self._slots:
            thread = threading.Thread(target=work, name="password-verify", daemon=True)
            thread.start()
            thread.join()
        return bool(matched and matched[0])

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            matched = self._hasher.verify(password_hash or self._dummy_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        return matched and password_hash is not None


def totp_step(secret: str, code: str, *, at: datetime, drift: int = 1) -> int | None:
    """The 30 s step whose TOTP code this is (this step, or up to `drift` steps before
    or after it, for clock drift), or None. Each comparison takes the same time."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(at)
    given = code.strip().encode()
    matched = None
    for step in range(current - drift, current + drift + 1):
        if hmac.compare_digest(totp.generate_otp(step).encode(), given):
            matched = step
    return matched


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """How a refresh token is stored: its SHA-256, never the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    username: str
    session_id: str
    device_id: str | None = None  # the workstation the session is bound to (claim "dev")
    # When the token stops answering (claim "exp"); set by TokenService.check.
    expires_at: datetime | None = field(default=None, compare=False)


class TokenService:
    """Signs and checks access tokens (JWT, HS256, 15 minutes)."""

    def __init__(self, secret: bytes) -> None:
        self._key = derive_key(secret, "access-token")

    def issue(self, claims: AccessClaims, *, now: datetime) -> str:
        payload: dict[str, Any] = {
            "sub": claims.username,
            "uid": claims.user_id,
            "sid": claims.session_id,
            "typ": ACCESS_TOKEN_TYPE,
            **({"dev": claims.device_id} if claims.device_id else {}),
            "iat": int(now.timestamp()),
            "exp": int((now + ACCESS_TOKEN_LIFETIME).timestamp()),
        }
        return jwt.encode(payload, self._key, algorithm=JWT_ALGORITHM)

    def check(self, token: str, *, now: datetime) -> AccessClaims | None:
        """The claims of a valid, unexpired access token; None otherwise."""
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[JWT_ALGORITHM],
                options={
                    "verify_exp": False,  # checked below against the hub clock
                    "verify_iat": False,
                    "verify_nbf": False,
                    "require": ["exp", "sub", "uid", "sid", "typ"],
                },
            )
        except jwt.InvalidTokenError:
            return None
        if payload.get("typ") != ACCESS_TOKEN_TYPE or int(payload["exp"]) <= now.timestamp():
            return None
        device = payload.get("dev")
        return AccessClaims(
            int(payload["uid"]),
            str(payload["sub"]),
            str(payload["sid"]),
            str(device) if device is not None else None,
            expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
        )


class CursorSigner:
    """Opaque feed cursors: base64url of {slice, change_seq} plus an HMAC bound to both."""

    def __init__(self, secret: bytes) -> None:
        self._key = derive_key(secret, "feed-cursor")

    def sign(self, slice_id: str, change_seq: int) -> str:
        body = canonical_json({"c": change_seq, "s": slice_id})
        mac = hmac.new(self._key, body, hashlib.sha256).digest()
        return f"{_b64(body)}.{_b64(mac)}"

    def open(self, cursor: str, slice_id: str) -> int | None:
        """The change_seq of a cursor this hub signed for this slice; None otherwise."""
        try:
            body_text, mac_text = cursor.split(".")
            body, mac = _unb64(body_text), _unb64(mac_text)
        except ValueError:
            return None
        expected = hmac.new(self._key, body, hashlib.sha256).digest()
        if not hmac.compare_digest(mac, expected):
            return None
        try:
            data = json.loads(body)
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("s") != slice_id:
            return None
        seq = data.get("c")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            return None
        return seq


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or not all(ch.isalnum() or ch in "-_" for ch in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
