"""The device key: kept in the keyring, signs packets, read back as base64 or PEM."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.export.sign import (
    KeyFormatError,
    load_public_key,
    private_key,
    public_key_b64,
    raw_public,
    sign_b64,
    signature_ok,
)
from app.sync.secrets import SecretStore


def test_the_device_key_is_created_once_and_wiped_with_the_profile() -> None:
    store = SecretStore("unit-test-device-key")
    assert store.device_key(create=False) is None
    raw = store.device_key(create=True)
    assert raw is not None
    assert len(raw) == 32
    assert store.device_key(create=True) == raw
    store.wipe()
    assert store.device_key(create=False) is None


def test_a_signature_verifies_with_its_key_only() -> None:
    key = private_key(bytes(range(32)))
    signature = sign_b64(key, b"tag manifest")
    public = load_public_key(public_key_b64(key))
    assert signature_ok(public, signature, b"tag manifest")
    assert not signature_ok(public, signature, b"tag manifesT")
    other = load_public_key(public_key_b64(Ed25519PrivateKey.generate()))
    assert not signature_ok(other, signature, b"tag manifest")
    assert not signature_ok(public, "not base64!", b"tag manifest")


def test_a_pem_public_key_reads_as_the_same_key() -> None:
    key = Ed25519PrivateKey.generate()
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert raw_public(load_public_key(pem.decode("ascii"))) == raw_public(key.public_key())
    with pytest.raises(KeyFormatError):
        load_public_key("AAAA")
