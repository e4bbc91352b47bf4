"""The audit trail on this workstation: the journal, its outbox to the hub, the proofs
that the hub kept it, retention on the workstation's own clock, and the truth about
whether the hub answers."""

from __future__ import annotations

import dataclasses
import json
import logging
import random
from datetime import UTC, datetime

from app.cache.catalog import CatalogRepository
from app.cache.journal import JournalRepository
from app.cache.reads import ReadRepository
from app.core.canonical import parse_utc, utc_iso
from app.core.errors import ErrorKind
from app.core.policy import RETENTION
from app.core.records import DeskStatus, HubContact, JournalStatus
from app.services.evidence import EvidenceService
from app.services.session import Session
from app.sync.checkpoints import CheckpointVerifier, IntegrityProblem, VerifiedCheckpoint
from app.sync.client import CorruptResponse, HubError, HubUnreachable, SessionEnded
from app.sync.uploader import JournalUploader

log = logging.getLogger(__name__)
CHECKPOINT_KEY = "audit_checkpoint"
INTEGRITY_KEY = "audit_integrity_problem"
LAST_CONTACT_KEY = "hub_last_contact"
PROOF_SAMPLE = 16


class AuditService:
    def __init__(self, session: Session, evidence: EvidenceService) -> None:
        self._s = session
        self._evidence = evidence

    def status(self, *, full: bool = False) -> JournalStatus:
        """Unsent and delivered events, and whether the chain verifies (`full`: from the
        start); a failed check of the hub's log is among its problems (local)."""
        status = self._s.journal().status(full=full)
        hub_problem = CatalogRepository(self._s.db()).get_setting(INTEGRITY_KEY)
        if hub_problem:
            return dataclasses.replace(
                status, chain_ok=False, problems=(*status.problems, hub_problem)
            )
        return status

    def upload(self) -> int:
        """Deliver pending events (and pending evidence requests) to the hub (remote);
        returns how many events it acknowledged (0 with nothing to send, or no session).
        Offline the events wait, and HubUnreachable (kind unreachable or timed out)
        says so: the caller decides what offline means."""
        settings = self._s.settings
        if not settings.device_id or self._s.info is None:
            return 0
        if not self._s.locked:
            self._evidence.deliver()
        uploader = JournalUploader(
            client=self._s.client, journal=self._s.journal(), device_id=settings.device_id
        )
        try:
            delivered = uploader.upload()
        except SessionEnded:
            return 0
        if delivered:
            self.verify_hub_log()
        return delivered

    def upload_if_reachable(self) -> int:
        """Upload as the tail of another action (sign-in, sync, sign-out): offline, or with
        the hub's answer unreadable, the events wait for the next contact."""
        try:
            return self.upload()
        except (HubUnreachable, CorruptResponse) as exc:
            log.info("audit events wait for the next contact with the hub (%s)", exc.kind)
            return 0

    def check_hub(self) -> HubContact:
        """Whether the hub answers now (remote; within 5 s, whatever the hub does).

        Offline is an answer, not a failure: the reason is the error's kind."""
        if not self._s.hub_url:
            return HubContact(online=False, reason=ErrorKind.UNREACHABLE.value,
                              detail="No hub address is set for this profile.")  # fmt: skip
        client = self._s.client
        try:
            client.ping()
        except HubError as exc:
            return HubContact(online=False, reason=exc.kind.value, detail=str(exc))
        return HubContact(online=True, at=client.last_contact or datetime.now(UTC))

    def note_contact(self, at: datetime) -> None:
        """Keep when the hub last answered (local), for `status` while offline."""
        CatalogRepository(self._s.db()).set_setting(LAST_CONTACT_KEY, utc_iso(at))

    def desk_status(self, contact: HubContact) -> DeskStatus:
        """The desk's truth (local) around one check of the hub (`check_hub`)."""
        last: datetime | None = contact.at if contact.online else None
        pending = 0
        s = self._s
        if s.has_profile and s.settings.profile_id and s.cache_path.exists():
            stored = CatalogRepository(s.db()).get_setting(LAST_CONTACT_KEY)
            if last is None and stored:
                last = parse_utc(stored)
            pending = s.journal().status(full=False).pending
        info = s.info
        return DeskStatus(
            hub="online" if contact.online else "offline",
            reason=None if contact.online else contact.reason,
            last_contact=last,
            pending_events=pending,
            user=None if info is None else info.username,
            role=None if info is None else info.role,
        )

    def verify_hub_log(self) -> VerifiedCheckpoint | None:
        """Check the hub kept this device's delivered events and that its log only grew.

        Verifies the signed checkpoint (its key pinned on first use), consistency
        with the last verified checkpoint, and inclusion of the newest delivered
        event plus a random sample of the others delivered since the last check
        (each hash links to the one before it, so the newest commits to the chain).
        A failure is journaled (and so reported to the hub), kept for the status
        bar, and raised as IntegrityProblem. Offline: None.
        """
        db = self._s.db()
        catalog = CatalogRepository(db)
        stored = catalog.get_setting(CHECKPOINT_KEY)
        last = json.loads(stored) if stored else {}
        proven = int(last.get("proven_through_seq", 0))
        journal = self._s.journal()
        acknowledged = journal.delivered_through()
        delivered = [
            event
            for event in journal.events(after_seq=proven, limit=100_000)
            if event["seq"] <= acknowledged
        ]
        if not delivered:
            return None
        sample = [
            delivered[-1],
            *random.sample(delivered[:-1], min(PROOF_SAMPLE, len(delivered) - 1)),
        ]
        verifier = CheckpointVerifier(self._s.client)
        try:
            checkpoint = verifier.verify(
                events={event["event_id"]: event["hash"] for event in sample},
                last_checkpoint=(last["tree_size"], last["root_hash"]) if last else None,
                pinned_public_key=last.get("public_key"),
            )
        except (HubUnreachable, CorruptResponse):
            return None
        except IntegrityProblem as problem:
            with self._s.journaled(
                "audit.integrity_problem", params={"problem": str(problem)}, outcome="failed"
            ) as tx:
                CatalogRepository(tx).set_setting(INTEGRITY_KEY, str(problem))
            raise
        record = {
            "tree_size": checkpoint.tree_size,
            "root_hash": checkpoint.root_hash,
            "public_key": checkpoint.public_key,
            "signed_at": checkpoint.signed_at,
            "proven_through_seq": delivered[-1]["seq"],
        }
        catalog.set_setting(CHECKPOINT_KEY, json.dumps(record))
        return checkpoint

    def purge(self, *, now: datetime | None = None) -> dict[str, int]:
        """Delete cached reads past the retention period, with their images, on this
        workstation's own clock (so an offline cache never holds an expired read).

        Reads marked as evidence are kept (the hub's hold governs them). Runs without
        a live session: it only removes data. Journaled when it removed anything."""
        cutoff = utc_iso((now or datetime.now(UTC)) - RETENTION)
        db = self._s.db()
        with db.atomic():
            purged, kept = ReadRepository(db).purge_expired(cutoff=cutoff)
            if purged:
                JournalRepository(db).append(
                    self._s.maintenance_actor(),
                    "retention.purge",
                    params={"cutoff": cutoff, "purged": purged, "kept_on_hold": kept},
                )
        return {"purged": purged, "kept_on_hold": kept}
