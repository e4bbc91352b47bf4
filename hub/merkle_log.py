"""The audit log as a Merkle tree: signed checkpoints, inclusion and consistency proofs.

The leaves are every stored audit event in append order (audit_events.row_id),
each `app.core.merkle.audit_leaf_hash(event.hash)`. Nothing new is stored: the
tree is derived from the table. Each process caches the leaf hashes and the hash
of every complete, aligned subtree; the log is append-only, so a cached prefix
stays valid and the cache only ever grows (about 140 bytes per event). Before it
grows, the last cached row is checked to be still there with the same hash; if
it is not (a restored or doctored database), the cache is rebuilt from the
table, and the new roots will fail the workstations' consistency checks, as
they should.

On PostgreSQL the writers of audit_events take an EXCLUSIVE lock on the table
(hub.audit.lock_audit_log), so row ids commit in increasing order and a reader
never sees row n+1 before row n.

The checkpoint key is an Ed25519 private key (the 32-byte seed) in
DATA/hub-signing.key (mode 0600), created on first use.
"""

from __future__ import annotations

import base64
import os
import threading
from array import array
from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Connection

from app.core.canonical import utc_iso
from app.core.errors import KnownError
from app.core.merkle import (
    EMPTY_ROOT,
    audit_leaf_hash,
    checkpoint_text,
    consistency_path,
    inclusion_path,
    node_hash,
    split_point,
)
from app.core.schemas import (
    AuditCheckpointPublic,
    AuditConsistencyProofPublic,
    AuditInclusionProofPublic,
)
from hub.db.tables import audit_events
from hub.errors import HubError

SIGNING_KEY_FILE_NAME = "hub-signing.key"
_LOAD_CHUNK = 50_000


def load_signing_key(data_dir: Path) -> Ed25519PrivateKey:
    """The hub's checkpoint key, created (0600) on first use."""
    path = data_dir / SIGNING_KEY_FILE_NAME
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        key = Ed25519PrivateKey.generate()
        with os.fdopen(fd, "wb") as handle:
            handle.write(
                key.private_bytes(
                    serialization.Encoding.Raw,
                    serialization.PrivateFormat.Raw,
                    serialization.NoEncryption(),
                )
            )
        return key
    seed = path.read_bytes()
    if len(seed) != 32:
        raise KnownError(
            f"The hub's checkpoint key {path} is damaged (it must hold 32 bytes); "
            "restore it from backup."
        )
    return Ed25519PrivateKey.from_private_bytes(seed)


class AuditTree:
    """The per-process cache of the audit log's tree (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._row_ids = array("q")
        # _levels[h][i]: the hash of the complete subtree of leaves [i * 2**h, (i + 1) * 2**h).
        self._levels: list[list[bytes]] = [[]]
        self._last_hash = ""

    @property
    def size(self) -> int:
        return len(self._levels[0])

    def _reset(self) -> None:
        self._row_ids = array("q")
        self._levels = [[]]
        self._last_hash = ""

    def _append(self, row_id: int, event_hash: str) -> None:
        self._row_ids.append(row_id)
        node = audit_leaf_hash(event_hash)
        self._levels[0].append(node)
        index, height = len(self._levels[0]) - 1, 0
        while index & 1:  # a right child completes its parent
            left = self._levels[height][index - 1]
            node = node_hash(left, node)
            height, index = height + 1, index >> 1
            if len(self._levels) == height:
                self._levels.append([])
            self._levels[height].append(node)
        self._last_hash = event_hash

    def refresh(self, connection: Connection) -> int:
        """Take in the events stored since the last call; returns the tree size."""
        with self._lock:
            if self._row_ids:
                stored = connection.execute(
                    sa.select(audit_events.c.hash).where(audit_events.c.row_id == self._row_ids[-1])
                ).scalar_one_or_none()
                if stored != self._last_hash:
                    self._reset()
            while True:
                after = self._row_ids[-1] if self._row_ids else 0
                rows = connection.execute(
                    sa.select(audit_events.c.row_id, audit_events.c.hash)
                    .where(audit_events.c.row_id > after)
                    .order_by(audit_events.c.row_id)
                    .limit(_LOAD_CHUNK)
                ).all()
                for row_id, event_hash in rows:
                    self._append(int(row_id), str(event_hash))
                if len(rows) < _LOAD_CHUNK:
                    return self.size

    def subtree(self, lo: int, hi: int) -> bytes:
        """MTH of leaves [lo, hi), from the cached complete subtrees."""
        n = hi - lo
        if n & (n - 1) == 0:
            height = n.bit_length() - 1
            return self._levels[height][lo >> height]
        k = split_point(n)
        return node_hash(self.subtree(lo, lo + k), self.subtree(lo + k, hi))

    def root(self, size: int) -> bytes:
        return EMPTY_ROOT if size == 0 else self.subtree(0, size)

    def index_of(self, row_id: int) -> int:
        index = bisect_left(self._row_ids, row_id)
        if index == len(self._row_ids) or self._row_ids[index] != row_id:
            raise LookupError(row_id)
        return index


@dataclass
class AuditLog:
    """The tree and the key that signs its checkpoints; one per app."""

    tree: AuditTree
    key: Ed25519PrivateKey

    @property
    def public_key_b64(self) -> str:
        raw = self.key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return base64.b64encode(raw).decode()

    def checkpoint(self, connection: Connection, *, now: datetime) -> AuditCheckpointPublic:
        size = self.tree.refresh(connection)
        root = self.tree.root(size).hex()
        signed_at = utc_iso(now)
        signature = self.key.sign(
            checkpoint_text(tree_size=size, root_hash=root, signed_at=signed_at)
        )
        return AuditCheckpointPublic(
            tree_size=size,
            root_hash=root,
            signed_at=signed_at,
            signature=base64.b64encode(signature).decode(),
            public_key=self.public_key_b64,
        )

    def inclusion(
        self, connection: Connection, *, event_id: str, tree_size: int | None
    ) -> AuditInclusionProofPublic:
        row_id = connection.execute(
            sa.select(audit_events.c.row_id).where(audit_events.c.event_id == event_id)
        ).scalar_one_or_none()
        if row_id is None:
            raise HubError(404, f"No audit event {event_id} is stored at this hub.")
        size = self.tree.refresh(connection)
        wanted = size if tree_size is None else tree_size
        if wanted > size:
            raise HubError(
                422, f"The audit log holds {size} events; no tree of {wanted} exists yet."
            )
        index = self.tree.index_of(int(row_id))
        if index >= wanted:
            raise HubError(
                422,
                f"Audit event {event_id} is leaf {index}, after the tree of {wanted}; "
                "ask with a newer checkpoint's tree_size.",
            )
        proof = inclusion_path(index, wanted, self.tree.subtree)
        return AuditInclusionProofPublic(
            leaf_index=index, tree_size=wanted, proof=[p.hex() for p in proof]
        )

    def consistency(
        self, connection: Connection, *, first: int, second: int
    ) -> AuditConsistencyProofPublic:
        size = self.tree.refresh(connection)
        if not 0 <= first <= second:
            raise HubError(422, "first must be at most second (both tree sizes).")
        if second > size:
            raise HubError(
                422, f"The audit log holds {size} events; no tree of {second} exists yet."
            )
        proof = consistency_path(first, second, self.tree.subtree)
        return AuditConsistencyProofPublic(proof=[p.hex() for p in proof])


def tree_figures(connection: Connection) -> dict[str, int | str]:
    """The current tree size and root, computed afresh (no key needed)."""
    tree = AuditTree()
    size = tree.refresh(connection)
    return {"tree_size": size, "root_hash": tree.root(size).hex()}
