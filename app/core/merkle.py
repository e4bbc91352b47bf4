"""The audit log's Merkle tree: RFC 9162 (Certificate Transparency 2.0), section 2.1.

Pure functions shared by the hub (which builds the tree and proofs) and the
workstation (which verifies them). Hashes are 32-byte `bytes`; the wire carries
them as lower-case hex.

- leaf hash: SHA-256(0x00 || leaf data); node hash: SHA-256(0x01 || left || right);
- the tree over n leaves splits at k, the largest power of two below n;
- a Platedesk audit leaf's data is the event's `hash` field as its 64 lower-case
  hex ASCII characters (`audit_leaf_hash`). That hash is SHA-256 over the event's
  canonical JSON (every field but `hash`, app.core.audit_chain), so the leaf
  commits to the whole event;
- leaves are in the hub's append order (audit_events.row_id).

The proof algorithms follow RFC 9162 2.1.3 (inclusion: PATH, and its
verification) and 2.1.4 (consistency: PROOF/SUBPROOF, and its verification).
`inclusion_path` and `consistency_path` take a `subtree(lo, hi)` callable, so a
caller that caches subtree hashes (the hub) answers in O(log n).

A checkpoint is signed (Ed25519) over `checkpoint_text`:
    "platedesk-audit-checkpoint/v1\\n<tree_size>\\n<root_hash hex>\\n<signed_at>\\n"
with signed_at in the wire time form (UTC to the millisecond, with a Z).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
CHECKPOINT_ORIGIN = "platedesk-audit-checkpoint/v1"

Subtree = Callable[[int, int], bytes]


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def audit_leaf_hash(event_hash_hex: str) -> bytes:
    """The leaf hash of one audit event, from its `hash` field (64 hex characters)."""
    return leaf_hash(event_hash_hex.encode("ascii"))


def split_point(n: int) -> int:
    """k: the largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _mth(leaves: Sequence[bytes], lo: int, hi: int) -> bytes:
    if hi - lo == 1:
        return leaves[lo]
    k = split_point(hi - lo)
    return node_hash(_mth(leaves, lo, lo + k), _mth(leaves, lo + k, hi))


def subtree_of(leaves: Sequence[bytes]) -> Subtree:
    """A `subtree(lo, hi)` over a list of leaf hashes (no caching)."""

    def subtree(lo: int, hi: int) -> bytes:
        return _mth(leaves, lo, hi)

    return subtree


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes; the empty tree's root is SHA-256 of nothing."""
    if not leaves:
        return EMPTY_ROOT
    return _mth(leaves, 0, len(leaves))


def inclusion_path(index: int, size: int, subtree: Subtree) -> list[bytes]:
    """RFC 9162 2.1.3.1 PATH(m, D[n]), leaf first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    path: list[bytes] = []
    lo, hi, m = 0, size, index
    # Iterative form of the recursion; the siblings are collected top-down, so reverse.
    while hi - lo > 1:
        k = split_point(hi - lo)
        if m < k:
            path.append(subtree(lo + k, hi))
            hi = lo + k
        else:
            path.append(subtree(lo, lo + k))
            lo, m = lo + k, m - k
    path.reverse()
    return path


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    return inclusion_path(index, len(leaves), subtree_of(leaves))


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 2.1.3.2: does `proof` show leaf hash `leaf` at `index` in the tree `root`?"""
    if index < 0 or index >= size:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if len(p) != HASH_SIZE or sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def consistency_path(old_size: int, new_size: int, subtree: Subtree) -> list[bytes]:
    """RFC 9162 2.1.4.1 PROOF(m, D[n]); empty when m == n or m == 0."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from {old_size} to {new_size} leaves")
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []
    lo, hi, m, whole = 0, new_size, old_size, True
    while True:
        n = hi - lo
        if m == n:
            if not whole:
                proof.append(subtree(lo, hi))
            break
        k = split_point(n)
        if m <= k:
            proof.append(subtree(lo + k, hi))
            hi = lo + k
        else:
            proof.append(subtree(lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    proof.reverse()
    return proof


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    return consistency_path(old_size, len(leaves), subtree_of(leaves))


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 2.1.4.2: does `proof` show the tree `new_root` extends the tree `old_root`?"""
    if old_size < 0 or old_size > new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof  # every tree extends the empty tree
    if not proof or any(len(p) != HASH_SIZE for p in proof):
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # an exact power of two
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


def checkpoint_text(*, tree_size: int, root_hash: str, signed_at: str) -> bytes:
    """The exact bytes a checkpoint's Ed25519 signature covers."""
    return f"{CHECKPOINT_ORIGIN}\n{tree_size}\n{root_hash}\n{signed_at}\n".encode()
