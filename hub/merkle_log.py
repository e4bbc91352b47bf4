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

Every checkpoint the hub publishes is appended, before it is handed out, to
DATA/audit-checkpoints.jsonl (one AuditCheckpointPublic per line), beside the
key and outside the database: someone who can rewrite the database but not the
hub's data folder cannot drop or re-sign them, and `platedesk-hub audit-verify`
compares the log with every one of them (verify_checkpoints). A request made
while the log has not grown gets the checkpoint this process published last.
Agencies copy the lines elsewhere (`platedesk-hub audit-checkpoint`) so even
someone holding the data folder cannot rewrite the history they cover.
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import ValidationError
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
CHECKPOINTS_FILE_NAME = "audit-checkpoints.jsonl"
_LOAD_CHUNK = 50_000


def public_key_b64(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def stored_public_key(data_dir: Path) -> str | None:
    """The public half of the hub's checkpoint key (base64), or None when there is none yet."""
    if not (data_dir / SIGNING_KEY_FILE_NAME).exists():
        return None
    return public_key_b64(load_signing_key(data_dir))


def append_checkpoint(path: Path, checkpoint: AuditCheckpointPublic) -> None:
    """Append one line and flush it to disk (O_APPEND: whole lines from several processes)."""
    line = (checkpoint.model_dump_json() + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class CheckpointLine:
    """One checkpoint as found in a file: `where` names the file and line for a report."""

    where: str
    checkpoint: AuditCheckpointPublic


def read_checkpoints(path: Path, *, missing_ok: bool) -> tuple[list[CheckpointLine], list[str]]:
    """The checkpoints of a JSON-lines file, and a problem for each line that is not one."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if missing_ok:
            return [], []
        raise KnownError(
            f"No checkpoint file at {path}; give the file audit-checkpoint wrote."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        return [], [f"the checkpoint file {path} cannot be read ({type(exc).__name__})"]
    found: list[CheckpointLine] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            checkpoint = AuditCheckpointPublic.model_validate_json(line)
        except ValidationError:
            problems.append(f"{path} line {number} is not a checkpoint: the file was damaged")
            continue
        found.append(CheckpointLine(f"{path} line {number}", checkpoint))
    return found, problems


def _signature_ok(checkpoint: AuditCheckpointPublic) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(checkpoint.public_key))
        key.verify(
            base64.b64decode(checkpoint.signature),
            checkpoint_text(
                tree_size=checkpoint.tree_size,
                root_hash=checkpoint.root_hash,
                signed_at=checkpoint.signed_at,
            ),
        )
    except (ValueError, binascii.Error, InvalidSignature):
        return False
    return True


@dataclass
class CheckpointReport:
    tree_size: int = 0  # the log as stored now
    root_hash: str = ""
    checked: int = 0
    latest: AuditCheckpointPublic | None = None
    problems: list[str] = field(default_factory=list)


def verify_checkpoints(
    connection: Connection, lines: Iterable[CheckpointLine], *, public_key: str | None
) -> CheckpointReport:
    """Compare the stored log with each signed checkpoint: the hub's key, the signature,
    and the Merkle root of the log's first tree_size events as stored now."""
    tree = AuditTree()
    size = tree.refresh(connection)
    report = CheckpointReport(tree_size=size, root_hash=tree.root(size).hex())
    for line in lines:
        checkpoint, where = line.checkpoint, line.where
        report.checked += 1
        said = f"the checkpoint signed at {checkpoint.signed_at} ({where})"
        if public_key is not None and checkpoint.public_key != public_key:
            report.problems.append(f"{said} is signed with another key than this hub's")
            continue
        if not _signature_ok(checkpoint):
            report.problems.append(f"{said} does not carry a valid signature")
            continue
        if report.latest is None or checkpoint.tree_size > report.latest.tree_size:
            report.latest = checkpoint
        if checkpoint.tree_size > size:
            report.problems.append(
                f"{said} covers {checkpoint.tree_size} events but the log holds {size}: "
                "events were removed"
            )
        elif tree.root(checkpoint.tree_size).hex() != checkpoint.root_hash:
            report.problems.append(
                f"{said}: the log's first {checkpoint.tree_size} events are not those the hub "
                "signed: its history was rewritten"
            )
    return report


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
    """The tree, the key that signs its checkpoints and the file that keeps them; one per app."""

    tree: AuditTree
    key: Ed25519PrivateKey
    checkpoint_file: Path
    _last: AuditCheckpointPublic | None = field(default=None, init=False, repr=False)
    _publish: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def open(cls, data_dir: Path) -> AuditLog:
        return cls(AuditTree(), load_signing_key(data_dir), data_dir / CHECKPOINTS_FILE_NAME)

    @property
    def public_key_b64(self) -> str:
        return public_key_b64(self.key)

    def checkpoint(self, connection: Connection, *, now: datetime) -> AuditCheckpointPublic:
        """Sign the log as it stands, keep the checkpoint in the file, then hand it out."""
        with self._publish:
            size = self.tree.refresh(connection)
            root = self.tree.root(size).hex()
            last = self._last
            if last is not None and (last.tree_size, last.root_hash) == (size, root):
                return last
            signed_at = utc_iso(now)
            signature = self.key.sign(
                checkpoint_text(tree_size=size, root_hash=root, signed_at=signed_at)
            )
            checkpoint = AuditCheckpointPublic(
                tree_size=size,
                root_hash=root,
                signed_at=signed_at,
                signature=base64.b64encode(signature).decode(),
                public_key=self.public_key_b64,
            )
            try:
                append_checkpoint(self.checkpoint_file, checkpoint)
            except OSError as exc:  # never hand out a checkpoint the hub did not keep
                raise HubError(
                    503,
                    "The hub cannot keep its audit checkpoint (its data folder refuses the "
                    "write); try again later and tell the hub's administrator.",
                ) from exc
            self._last = checkpoint
            return checkpoint

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
