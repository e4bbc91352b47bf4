"""Checking that the hub kept this workstation's audit events and that its log only grew.

After delivery the workstation fetches the hub's signed checkpoint (tree size,
Merkle root, Ed25519 signature), checks the signature, checks an inclusion
proof for each delivered event (the leaf is computed here, from the event's
hash as journaled, never taken from the hub), and checks a consistency proof
from the last checkpoint it verified. Any failure raises IntegrityProblem; the
caller shows it and reports it to the hub.

The public key arrives with the checkpoint; pass the one verified before as
`pinned_public_key` (trust on first use) so a hub that swaps its key is caught.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.core.errors import KnownError
from app.core.merkle import audit_leaf_hash, checkpoint_text, verify_consistency, verify_inclusion
from app.core.schemas import AuditCheckpointPublic
from app.sync.client import HubClient

log = logging.getLogger(__name__)


class IntegrityProblem(KnownError):
    """The hub's audit log failed a check: a signature, an inclusion or a consistency proof."""


@dataclass(frozen=True)
class VerifiedCheckpoint:
    tree_size: int
    root_hash: str  # hex
    signed_at: str
    public_key: str  # base64; pin it for the next verification
    events_verified: int


def _hex_list(items: list[str], what: str) -> list[bytes]:
    try:
        return [bytes.fromhex(item) for item in items]
    except ValueError:
        raise IntegrityProblem(f"The hub's {what} is not made of hex hashes.") from None


def check_signature(checkpoint: AuditCheckpointPublic) -> None:
    """IntegrityProblem unless the checkpoint is signed by its public key."""
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(checkpoint.public_key))
        signature = base64.b64decode(checkpoint.signature)
    except (ValueError, binascii.Error):
        raise IntegrityProblem(
            "The hub's audit checkpoint carries a malformed key or signature."
        ) from None
    text = checkpoint_text(
        tree_size=checkpoint.tree_size,
        root_hash=checkpoint.root_hash,
        signed_at=checkpoint.signed_at,
    )
    try:
        key.verify(signature, text)
    except InvalidSignature:
        raise IntegrityProblem(
            "The hub's audit checkpoint is not signed by its key: the audit log "
            "cannot be trusted. Tell your supervisor."
        ) from None


class CheckpointVerifier:
    def __init__(self, client: HubClient) -> None:
        self.client = client

    def verify(
        self,
        *,
        events: Mapping[str, str],
        last_checkpoint: tuple[int, str] | None,
        pinned_public_key: str | None = None,
    ) -> VerifiedCheckpoint:
        """Fetch and check the latest checkpoint.

        `events` maps event_id to the event's hash as journaled here;
        `last_checkpoint` is (tree_size, root_hash hex) of the last verified one.
        """
        checkpoint = self.client.audit_checkpoint()
        if pinned_public_key is not None and checkpoint.public_key != pinned_public_key:
            raise IntegrityProblem(
                "The hub signed its audit checkpoint with a different key than before; "
                "the audit log cannot be trusted. Tell your supervisor."
            )
        check_signature(checkpoint)
        size = checkpoint.tree_size
        try:
            root = bytes.fromhex(checkpoint.root_hash)
        except ValueError:
            raise IntegrityProblem("The hub's audit checkpoint root is not a hex hash.") from None
        if last_checkpoint is not None:
            self._check_consistency(last_checkpoint, size, root)
        for event_id, event_hash in events.items():
            reply = self.client.audit_inclusion_proof(event_id=event_id, tree_size=size)
            proof = _hex_list(reply.proof, "inclusion proof")
            if reply.tree_size != size or not verify_inclusion(
                audit_leaf_hash(event_hash), reply.leaf_index, size, proof, root
            ):
                raise IntegrityProblem(
                    f"The hub's audit log does not prove it holds event {event_id} as this "
                    "workstation recorded it; the event may have been altered or dropped."
                )
        log.info("audit checkpoint verified: size %d, %d events", size, len(events))
        return VerifiedCheckpoint(
            tree_size=size,
            root_hash=checkpoint.root_hash,
            signed_at=checkpoint.signed_at,
            public_key=checkpoint.public_key,
            events_verified=len(events),
        )

    def _check_consistency(self, last: tuple[int, str], size: int, root: bytes) -> None:
        old_size, old_root_hex = last
        if size < old_size:
            raise IntegrityProblem(
                f"The hub's audit log shrank from {old_size} to {size} events; "
                "events were removed. Tell your supervisor."
            )
        try:
            old_root = bytes.fromhex(old_root_hex)
        except ValueError:
            raise IntegrityProblem("The last verified checkpoint's root is not hex.") from None
        reply = self.client.audit_consistency_proof(first=old_size, second=size)
        proof = _hex_list(reply.proof, "consistency proof")
        if not verify_consistency(old_size, size, old_root, root, proof):
            raise IntegrityProblem(
                f"The hub's audit log of {size} events does not extend the one of "
                f"{old_size} events verified before: its history was rewritten. "
                "Tell your supervisor."
            )
