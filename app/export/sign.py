"""The device key: Ed25519 signatures over a packet's tag manifest.

Keys travel as base64 of their raw bytes (32 for a public key); the private
key's 32 raw bytes stay in the OS keyring (app.sync.secrets).
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.core.errors import KnownError


class KeyFormatError(KnownError):
    """A key or signature that cannot be read."""


def private_key(raw: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key_b64(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(
        encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw
    )
    return base64.b64encode(raw).decode("ascii")


def sign_b64(key: Ed25519PrivateKey, data: bytes) -> str:
    return base64.b64encode(key.sign(data)).decode("ascii")


def load_public_key(text: str) -> Ed25519PublicKey:
    """A public key from base64 of its 32 raw bytes, or from PEM (SubjectPublicKeyInfo)."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode("ascii"))
        except ValueError as exc:
            raise KeyFormatError(f"the PEM public key cannot be read: {exc}") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise KeyFormatError("the PEM public key is not an Ed25519 key")
        return key
    try:
        raw = base64.b64decode(text, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise KeyFormatError("the public key is not base64 of 32 raw Ed25519 bytes") from exc


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw
    )


def signature_ok(key: Ed25519PublicKey, signature_b64: str, data: bytes) -> bool:
    try:
        signature = base64.b64decode(signature_b64.strip(), validate=True)
        key.verify(signature, data)
    except (binascii.Error, ValueError, InvalidSignature):
        return False
    return True
