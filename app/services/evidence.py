"""Evidence: reads marked as evidence (local, with a hold request queued in the same
transaction), and what the hub holds for them (remote: holds, confirmations, receipts).
Offline, requests wait in the cache for the next contact with the hub."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.cache.connection import DESK, Database
from app.cache.evidence import EvidenceRepository, PendingHold
from app.cache.review import ReviewRepository
from app.core.canonical import utc_iso
from app.core.errors import ErrorKind, KnownError
from app.core.evidence import DEFAULT_LEGAL_BASIS, STANDING, validate_legal_basis
from app.core.records import HoldState, ReviewMark
from app.core.schemas import (
    EvidenceMark,
    EvidenceReadsPublic,
    HoldCreate,
    HoldPublic,
    PacketReceiptCreate,
    Role,
)
from app.export.packet import HubCustody
from app.export.sign import private_key, public_key_b64
from app.services.review import ReviewService
from app.services.session import Session
from app.sync.client import (
    CorruptResponse,
    DeviceRevoked,
    HubError,
    HubRefused,
    HubUnreachable,
    SessionEnded,
)

log = logging.getLogger(__name__)
CUSTODIAN_ROLES = frozenset({Role.EVIDENCE_TECHNICIAN.value, Role.SUPERVISOR.value})


class EvidenceService:
    def __init__(self, session: Session, review: ReviewService) -> None:
        self._s = session
        self._review = review

    def mark(
        self,
        *,
        read_id: str,
        case_number: str,
        note: str = "",
        legal_basis: str = DEFAULT_LEGAL_BASIS,
        legal_basis_text: str = "",
        review_date: date | None = None,
    ) -> ReviewMark:
        """Mark a read as evidence for the case (local, journaled); the hold request for
        the hub, with its legal basis, is queued in the same transaction. Send it with
        `deliver` (remote)."""
        basis = validate_legal_basis(legal_basis)

        def queue_hold(db: Database) -> None:
            EvidenceRepository(db).request_hold(
                case_number=case_number, read_id=read_id, note=note, legal_basis=basis,
                legal_basis_text=legal_basis_text, review_date=review_date,
            )  # fmt: skip

        return self._review.add_mark(
            "evidence",
            read_id=read_id,
            case_number=case_number,
            corrected=None,
            note=note,
            also=queue_hold,
        )

    def holds(self, *, case_number: str) -> list[HoldState]:
        """Where each read marked as evidence for the case stands, as last known (local)."""
        self._s.require()
        return EvidenceRepository(self._s.db()).holds(case_number=case_number)

    def refresh_holds(self, *, case_number: str) -> None:
        """Send what waits and take the hub's current status of the case's holds (remote);
        offline, the last known status stands."""
        self._s.require()
        self.deliver()
        try:
            current = self._s.client.holds(case_number=case_number)
        except (HubUnreachable, CorruptResponse, SessionEnded):
            current = []
        self._adopt_holds(case_number, current, only_known=True)

    def _adopt_holds(
        self, case_number: str, current: list[HoldPublic], *, only_known: bool
    ) -> set[str]:
        """Take the hub's status of each read's newest hold; returns the read ids held now."""
        newest: dict[str, HoldPublic] = {}
        for hold in current:  # oldest first: the last one per read is its newest
            newest[hold.read_id] = hold
        db = self._s.db()
        repo = EvidenceRepository(db)
        known = {h.read_id: h for h in repo.holds(case_number=case_number)}
        held: set[str] = set()
        with db.atomic(only=DESK):
            for read_id, hold in newest.items():
                mine = known.get(read_id)
                if mine is None or (only_known and mine.status == "pending"):
                    continue
                if hold.status in STANDING:
                    held.add(read_id)
                if mine.status != hold.status or mine.hold_id != hold.hold_id:
                    repo.set_hold(
                        case_number=case_number,
                        read_id=read_id,
                        status=hold.status,
                        hold_id=hold.hold_id,
                    )
        return held

    def deliver(self) -> dict[str, int]:
        """Send pending hold requests and packet receipts to the hub (remote); offline (or
        with the session over) they wait for the next contact. Returns what was settled."""
        counts = {"holds": 0, "refused": 0, "receipts": 0}
        if self._s.info is None or self._s.locked or not self._s.hub_url:
            return counts
        repo = EvidenceRepository(self._s.db())
        try:
            for case_number, wanted in repo.pending_holds().items():
                placed, refused = self._deliver_holds(case_number, wanted)
                counts["holds"] += placed
                counts["refused"] += refused
            for packet_id, body in repo.pending_receipts():
                counts["receipts"] += self._deliver_receipt(packet_id, body)
        except DeviceRevoked:
            raise
        except (HubUnreachable, SessionEnded, CorruptResponse):
            log.info("evidence requests wait for the next contact with the hub")
        except HubError as exc:  # the hub failed (5xx): try again next time
            log.warning("evidence requests wait: %s", exc.__class__.__name__)
        return counts

    def _deliver_holds(self, case_number: str, wanted: list[PendingHold]) -> tuple[int, int]:
        """Adopt holds the hub already has, place the others (with the read's review marks
        made here); (placed, refused)."""
        refs = {"case_number": case_number}
        read_ids = [hold.read_id for hold in wanted]
        client = self._s.client
        marks: dict[str, list[EvidenceMark]] = {}
        for mark in ReviewRepository(self._s.db()).marks(case_number=case_number):
            if mark.read_id in read_ids:
                marks.setdefault(mark.read_id, []).append(_evidence_mark(mark))
        try:
            held = self._adopt_holds(case_number, client.holds(case_number=case_number),
                                     only_known=False)  # fmt: skip
            groups: dict[tuple[str, str, str, date | None], list[str]] = {}
            for item in wanted:
                if item.read_id not in held:
                    key = (item.note, item.legal_basis, item.legal_basis_text, item.review_date)
                    groups.setdefault(key, []).append(item.read_id)
            placed: list[HoldPublic] = []
            for (note, basis, basis_text, review_date), ids in groups.items():
                for start in range(0, len(ids), 1000):
                    chunk = ids[start : start + 1000]
                    request = HoldCreate(
                        case_number=case_number, read_ids=chunk, note=note, legal_basis=basis,
                        legal_basis_text=basis_text, review_date=review_date,
                        marks={read_id: marks[read_id] for read_id in chunk if read_id in marks},
                    )  # fmt: skip
                    placed.extend(client.place_holds(request))
        except (SessionEnded, DeviceRevoked):
            raise
        except HubRefused as exc:
            refused_ids = read_ids
            if exc.kind is ErrorKind.CONFLICT:  # placed meanwhile by someone else: adopt it
                held = self._adopt_holds(case_number, client.holds(case_number=case_number),
                                         only_known=False)  # fmt: skip
                refused_ids = [read_id for read_id in read_ids if read_id not in held]
                if not refused_ids:  # every one is held now
                    return 0, 0
            with self._s.journaled(
                "evidence.hold", object_refs=refs,
                params={"read_ids": refused_ids, "refused": str(exc)}, outcome="refused",
            ) as db:  # fmt: skip
                for read_id in refused_ids:  # a closed case, a purged read: the hub's reason
                    EvidenceRepository(db).set_hold(
                        case_number=case_number, read_id=read_id, status="refused",
                        hold_id=None, detail=str(exc),
                    )  # fmt: skip
            return 0, len(refused_ids)
        statuses = {hold.read_id: hold.status for hold in placed}
        with self._s.journaled(
            "evidence.hold", object_refs=refs,
            params={"read_ids": read_ids, "placed": statuses},
        ) as db:  # fmt: skip
            for hold in placed:
                EvidenceRepository(db).set_hold(
                    case_number=case_number, read_id=hold.read_id, status=hold.status,
                    hold_id=hold.hold_id,
                )  # fmt: skip
        return len(read_ids), 0

    def _deliver_receipt(self, packet_id: str, body: dict[str, Any]) -> int:
        refs = {"case_number": body["case_number"], "packet_id": packet_id}
        try:
            receipt = self._s.client.post_receipt(PacketReceiptCreate.model_validate(body))
        except (SessionEnded, DeviceRevoked):
            raise
        except HubRefused as exc:
            with self._s.journaled(
                "export.receipt", object_refs=refs, params={"refused": str(exc)},
                outcome="refused",
            ) as db:  # fmt: skip
                EvidenceRepository(db).set_receipt(packet_id, status="refused", detail=str(exc))
            return 0
        params = {"manifest_sha256": receipt.manifest_sha256, "received_at":
                  utc_iso(receipt.received_at)}  # fmt: skip
        with self._s.journaled("export.receipt", object_refs=refs, params=params) as db:
            EvidenceRepository(db).set_receipt(packet_id, status="delivered")
        return 1

    # before an export ---------------------------------------------------------------
    def request_missing_holds(self, case_number: str, read_ids: list[str]) -> None:
        """Every evidence read gets a hold request (marks made before holds existed get
        one now), queued for `deliver` (local)."""
        self._s.require()
        with self._s.db().atomic(only=DESK) as db:
            repo = EvidenceRepository(db)
            known = {hold.read_id for hold in repo.holds(case_number=case_number)}
            for read_id in read_ids:
                if read_id not in known:
                    repo.request_hold(case_number=case_number, read_id=read_id, note="")

    def confirm_holds(self, case_number: str, read_ids: list[str]) -> None:
        """A custodian's export confirms the reads' proposed holds (remote); others,
        and offline, nothing happens (the packet says which holds stand as proposed)."""
        session = self._s.require()
        if session.role not in CUSTODIAN_ROLES:
            return
        wanted = set(read_ids)
        for hold in EvidenceRepository(self._s.db()).holds(case_number=case_number):
            if hold.read_id not in wanted or hold.status != "proposed" or not hold.hold_id:
                continue
            try:
                confirmed = self._s.client.confirm_hold(hold.hold_id)
            except (HubUnreachable, SessionEnded, CorruptResponse):
                return
            except HubRefused as exc:
                log.info("a hold was not confirmed: HTTP %s", exc.status)
                continue
            refs = {"case_number": case_number, "read_id": hold.read_id}
            with self._s.journaled(
                "evidence.hold_confirm", object_refs=refs, params={"hold_id": hold.hold_id}
            ) as db:
                EvidenceRepository(db).set_hold(
                    case_number=case_number,
                    read_id=hold.read_id,
                    status=confirmed.status,
                    hold_id=confirmed.hold_id,
                )

    def hub_custody(self, case_number: str, read_ids: set[str]) -> HubCustody:
        """The hub's own events about these reads' holds and the case's packets (remote)."""
        source = f"audit log of the hub at {self._s.hub_url}"
        try:
            events = self._s.client.custody_events(case_number=case_number)
        except DeviceRevoked:
            raise
        except (HubUnreachable, HubRefused, CorruptResponse) as exc:  # offline, or refused
            return HubCustody(source=source, included=False, note=f"not included: {exc}")
        kept = []
        for event in events:
            refs, params = event.object_refs, event.params
            touched = {refs.get("read_id"), *params.get("read_ids", [])}
            if event.action == "packet.receipt" or touched & read_ids:
                kept.append(event.model_dump(mode="json"))
        return HubCustody(source=source, included=True, events=kept)

    def receipt_status(self, packet_id: str) -> str:
        return EvidenceRepository(self._s.db()).receipt_status(packet_id) or "pending"

    # the case's evidence record at the hub (issue 22) ---------------------------------
    def case_evidence(self, *, case_number: str) -> list[HoldPublic]:
        """The case's evidence from every workstation, as the hub holds it (remote)."""
        self._s.require()
        return self._s.client.holds(case_number=case_number)

    def keep_case_evidence(self, case_number: str, record: list[HoldPublic]) -> None:
        """Keep the hub's record of the case's evidence for the desks (local)."""
        self._s.require()
        EvidenceRepository(self._s.db()).keep_case_evidence(case_number, record)

    def known_case_evidence(self, *, case_number: str) -> list[HoldPublic]:
        """The case's evidence as last fetched from the hub (local; empty before)."""
        self._s.require()
        return EvidenceRepository(self._s.db()).case_evidence(case_number)

    def confirm(self, *, case_number: str, read_ids: list[str], note: str = "") -> list[HoldPublic]:
        """A technician or supervisor confirms the reads' proposed holds (remote, journaled)."""
        return self._decide(
            case_number, read_ids, "confirm", note, ("proposed",),
            lambda hold_id: self._s.client.confirm_hold(hold_id, note=note),
        )  # fmt: skip

    def refuse(self, *, case_number: str, read_ids: list[str], note: str = "") -> list[HoldPublic]:
        """A technician or supervisor refuses the reads' proposed holds (remote, journaled)."""
        return self._decide(
            case_number, read_ids, "refuse", note, ("proposed",),
            lambda hold_id: self._s.client.refuse_hold(hold_id, note=note),
        )  # fmt: skip

    def release(self, *, case_number: str, read_ids: list[str], reason: str) -> list[HoldPublic]:
        """A supervisor releases the reads' holds with a reason (remote, journaled)."""
        if len(reason.strip()) < 3:
            raise KnownError("Give the reason for releasing the hold (--reason TEXT).")
        return self._decide(
            case_number, read_ids, "release", reason, tuple(STANDING),
            lambda hold_id: self._s.client.release_hold(hold_id, reason=reason),
        )  # fmt: skip

    def _decide(
        self,
        case_number: str,
        read_ids: list[str],
        action: str,
        note: str,
        allowed: tuple[str, ...],
        call: Callable[[str], HoldPublic],
    ) -> list[HoldPublic]:
        """Check every read against the hub's record first (nothing changes when one is
        not in a state to be decided), then decide each, journaled."""
        session = self._s.require()
        if action == "release" and session.role != Role.SUPERVISOR.value:
            raise KnownError("Only a supervisor releases a hold; ask the supervisor of the case.")
        if action != "release" and session.role not in CUSTODIAN_ROLES:
            raise KnownError(
                f"Only an evidence technician or a supervisor may {action} a hold; ask the "
                "case's evidence technician."
            )
        standing = newest_holds(self.case_evidence(case_number=case_number))
        holds: list[HoldPublic] = []
        for read_id in dict.fromkeys(read_ids):
            hold = standing.get(read_id)
            if hold is None:
                raise KnownError(
                    f"Read {read_id} is not evidence of case {case_number}; nothing was "
                    f"changed. See the case's evidence: platedesk evidence list --case "
                    f"{case_number}."
                )
            if hold.status not in allowed:
                raise KnownError(
                    f"The hold on read {read_id} is {hold.status}; only a "
                    f"{' or '.join(allowed)} hold can be {action}d. Nothing was changed."
                )
            holds.append(hold)
        decided: list[HoldPublic] = []
        for hold in holds:
            try:
                changed = call(hold.hold_id)
            except HubRefused as exc:  # a case closed meanwhile, a hold decided meanwhile
                done = f" ({len(decided)} decided before it)" if decided else ""
                raise KnownError(f"Read {hold.read_id} of case {case_number}: {exc}{done}") from exc
            refs = {"case_number": case_number, "read_id": hold.read_id}
            params = {"hold_id": hold.hold_id, ("reason" if action == "release" else "note"): note}
            with self._s.journaled(f"evidence.{action}", object_refs=refs, params=params) as db:
                EvidenceRepository(db).set_hold(  # a read marked here: its known status
                    case_number=case_number, read_id=hold.read_id, status=changed.status,
                    hold_id=changed.hold_id,
                )  # fmt: skip
            decided.append(changed)
        return decided

    def fetch_evidence_reads(self, *, case_number: str, read_ids: list[str]) -> EvidenceReadsPublic:
        """The case's confirmed-evidence reads under the evidence grant (remote), in
        batches; journaled as such ("evidence.grant_reads")."""
        self._s.require()
        found: list[Any] = []
        missing: list[str] = []
        for start in range(0, len(read_ids), 1000):
            chunk = read_ids[start : start + 1000]
            page = self._s.client.evidence_reads(case_number=case_number, read_ids=chunk)
            found.extend(page.reads)
            missing.extend(page.missing)
            with self._s.journaled(
                "evidence.grant_reads",
                object_refs={"case_number": case_number},
                params={"read_ids": chunk, "missing": page.missing},
            ):
                pass
        return EvidenceReadsPublic(case_number=case_number, reads=found, missing=missing)

    # the device's signing key ---------------------------------------------------------
    def device_public_key(self) -> str:
        """This device's packet-signing public key (base64 of its 32 raw bytes)."""
        return public_key_b64(self.signing_key())

    def signing_key(self) -> Ed25519PrivateKey:
        """The device key; a profile registered before device keys existed gets one now
        (the hub does not know that late key yet)."""
        raw = self._s.secrets().device_key(create=True)
        assert raw is not None
        return private_key(raw)


def _evidence_mark(mark: ReviewMark) -> EvidenceMark:
    return EvidenceMark(
        kind=mark.kind,
        marked_by=mark.marked_by,
        marked_at=mark.marked_at,
        corrected_plate=mark.corrected_plate,
        note=mark.note,
    )


def newest_holds(record: list[HoldPublic]) -> dict[str, HoldPublic]:
    """Each read's newest hold (the record is oldest first)."""
    newest: dict[str, HoldPublic] = {}
    for hold in record:
        newest[hold.read_id] = hold
    return newest
