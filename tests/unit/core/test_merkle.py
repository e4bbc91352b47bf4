"""The audit Merkle tree against RFC 6962/9162 reference vectors, and its properties."""

from __future__ import annotations

import random

import pytest

from app.core.merkle import (
    EMPTY_ROOT,
    audit_leaf_hash,
    checkpoint_text,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)

# The reference leaves and roots of certificate-transparency (RFC 6962 hashing, as RFC 9162).
DATA = [
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]  # fmt: skip
LEAVES = [leaf_hash(bytes.fromhex(item)) for item in DATA]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
A = "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"
B = "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"
C = "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"
D = "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"
E = "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"
INCLUSION = [  # (0-based index, tree size, path)
    (0, 8, [A, B, C]),
    (5, 8, [D, E, ROOTS[4]]),
    (2, 3, [ROOTS[2]]),
    (1, 5, [ROOTS[1], B, D]),
]
CONSISTENCY = [
    (1, 1, []),
    (1, 8, [A, B, C]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a", E, ROOTS[4]]),
    (2, 5, [B, D]),
]


def test_roots_match_the_reference() -> None:
    assert EMPTY_ROOT.hex() == ROOTS[0]
    for size in range(9):
        assert root_of(LEAVES[:size]).hex() == ROOTS[size]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_vectors(index: int, size: int, path: list[str]) -> None:
    proof = inclusion_proof(LEAVES[:size], index)
    assert [p.hex() for p in proof] == path
    root = bytes.fromhex(ROOTS[size])
    assert verify_inclusion(LEAVES[index], index, size, proof, root)
    assert not verify_inclusion(LEAVES[index], index, size, proof, EMPTY_ROOT)


@pytest.mark.parametrize(("first", "second", "path"), CONSISTENCY)
def test_consistency_vectors(first: int, second: int, path: list[str]) -> None:
    proof = consistency_proof(LEAVES[:second], first)
    assert [p.hex() for p in proof] == path
    old, new = bytes.fromhex(ROOTS[first]), bytes.fromhex(ROOTS[second])
    assert verify_consistency(first, second, old, new, proof)


def _leaves(n: int, rng: random.Random) -> list[bytes]:
    return [leaf_hash(bytes([i]) + rng.randbytes(rng.randint(0, 12))) for i in range(n)]


def _flip(proof: list[bytes], which: int, bit: int) -> list[bytes]:
    doctored = list(proof)
    item = bytearray(doctored[which])
    item[bit // 8] ^= 1 << (bit % 8)
    doctored[which] = bytes(item)
    return doctored


def test_every_inclusion_proof_verifies_and_a_flipped_byte_fails() -> None:
    rng = random.Random(9162)
    for size in range(1, 41):
        leaves = _leaves(size, rng)
        root = root_of(leaves)
        for index in range(size):
            proof = inclusion_proof(leaves, index)
            assert verify_inclusion(leaves[index], index, size, proof, root)
            if index + 1 < size:
                assert not verify_inclusion(leaves[index], index + 1, size, proof, root)
            assert not verify_inclusion(leaves[(index + 1) % size] if size > 1 else EMPTY_ROOT,
                                        index, size, proof, root)  # fmt: skip
            if proof:
                which = rng.randrange(len(proof))
                bad = _flip(proof, which, rng.randrange(256))
                assert not verify_inclusion(leaves[index], index, size, bad, root)
                assert not verify_inclusion(leaves[index], index, size, proof[:-1], root)
                assert not verify_inclusion(leaves[index], index, size, [*proof, root], root)


def test_every_consistency_proof_verifies_and_a_flipped_byte_fails() -> None:
    rng = random.Random(6962)
    for new_size in range(1, 41):
        leaves = _leaves(new_size, rng)
        new_root = root_of(leaves)
        for old_size in range(0, new_size + 1):
            old_root = root_of(leaves[:old_size])
            proof = consistency_proof(leaves, old_size)
            assert verify_consistency(old_size, new_size, old_root, new_root, proof)
            if 0 < old_size < new_size:
                bad = _flip(proof, rng.randrange(len(proof)), rng.randrange(256))
                assert not verify_consistency(old_size, new_size, old_root, new_root, bad)
                other = bytes(32)
                assert not verify_consistency(old_size, new_size, other, new_root, proof)
                assert not verify_consistency(old_size, new_size, old_root, other, proof)
                assert not verify_consistency(old_size, new_size, old_root, new_root, [])


def test_a_rewritten_history_is_not_consistent() -> None:
    rng = random.Random(1)
    leaves = _leaves(20, rng)
    old_root = root_of(leaves[:11])
    forged = list(leaves)
    forged[3] = leaf_hash(b"rewritten")
    proof = consistency_proof(forged, 11)
    assert not verify_consistency(11, 20, old_root, root_of(forged), proof)


def test_audit_leaf_and_checkpoint_text() -> None:
    assert audit_leaf_hash("ab" * 32) == leaf_hash(("ab" * 32).encode())
    text = checkpoint_text(tree_size=3, root_hash="00" * 32, signed_at="2026-11-23T10:00:00.000Z")
    assert text == (
        b"platedesk-audit-checkpoint/v1\n3\n" + b"00" * 32 + b"\n2026-11-23T10:00:00.000Z\n"
    )
