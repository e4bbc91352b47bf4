"""Evidence packets for court, in phases a caller runs on the right lane:

1. `plan` (local, short): the case's evidence reads, their marks, the redactions
   checked, a hold request queued for each read that has none;
2. the hub (remote): `EvidenceService.deliver`, `confirm_holds`, `hub_custody`,
   and `fetch_missing` for images not cached yet;
3. `write` (on a lane of its own, with that thread's own cache connection): journals
   the start and the custody; the packet's CPU work (hashing, the PDF, redacted
   copies, signing, the ZIP) runs in a process of its own (app.export.worker), so it
   never holds this process's GIL, while this thread hands it the images and the
   journal as it asks for them, passes its progress on and its cancel to it; then
   journals the end with the receipt queued for the hub;
4. the hub again (remote): `EvidenceService.deliver` sends the receipt.

`Workstation.export_packet` composes them in that order for a headless caller.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app import __version__ as app_version
from app.cache.evidence import EvidenceRepository
from app.cache.reads import ReadRepository
from app.cache.review import ReviewRepository
from app.core.canonical import utc_iso
from app.core.errors import KnownError
from app.core.records import ReadRecord, ReviewMark
from app.core.schemas import HoldPublic, PacketReceiptCreate, ReadPublic
from app.export.packet import (
    AuditExcerpt,
    BuiltPacket,
    Derived,
    ExportCancelled,
    ExportProgress,
    HubCustody,
    Original,
    PacketInfo,
    PacketResult,
)
from app.export.worker import OriginalRef, PacketJob, raw_key, write_in_child
from app.services.evidence import EvidenceService, newest_holds
from app.services.redaction import deriver
from app.services.review import ReviewService
from app.services.session import Session
from app.vision.redact import DerivedSpec

IMAGE_BATCH = 50  # images per request of the evidence grant


@dataclass(frozen=True)
class ExportPlan:
    """What one export will hold: the case's evidence reads and their marks (from `plan`)."""

    case_number: str
    records: tuple[ReadRecord, ...]
    marks: tuple[ReviewMark, ...]
    redactions: Mapping[str, DerivedSpec] = field(default_factory=dict)
    # per read: who marked it and who confirmed its hold (app.export.packet.EVIDENCE_FIELDS)
    evidence: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    from_hub: bool = False  # built from the case's confirmed evidence at the hub

    @property
    def read_ids(self) -> list[str]:
        return [record.read_id for record in self.records]

    def images(self) -> Iterator[tuple[ReadRecord, str, str]]:
        """(record, kind, sha256) of each original image the packet holds."""
        for record in self.records:
            for kind, sha in (("scene", record.image_sha256), ("crop", record.crop_sha256)):
                if sha:
                    yield record, kind, sha


class ExportService:
    def __init__(self, session: Session, review: ReviewService, evidence: EvidenceService) -> None:
        self._s = session
        self._review = review
        self._evidence = evidence
        # True writes the packet on the calling thread, as before issue 19 (the bench's
        # comparison); the packet writer's process otherwise
        self.in_process = False

    def plan(
        self, *, case_number: str, redactions: Mapping[str, DerivedSpec] | None = None
    ) -> ExportPlan:
        """The case's evidence reads (local, short); every one gets a hold request queued
        if it has none (marks made before holds existed)."""
        self._s.require()
        redactions = dict(redactions or {})
        db = self._s.db()
        marks = ReviewRepository(db).marks(case_number=case_number)
        read_ids = list(dict.fromkeys(m.read_id for m in marks if m.kind == "evidence"))
        if not read_ids:
            raise KnownError(
                f"No read is marked as evidence for case {case_number}; mark them first "
                "(platedesk evidence add --case CASE READ_ID...)."
            )
        repo = ReadRepository(db)
        records: list[ReadRecord] = []
        for read_id in read_ids:
            record = repo.get(read_id)
            if record is None:
                raise KnownError(f"The evidence read {read_id} is no longer in this cache.")
            records.append(record)
        unknown = sorted(set(redactions) - set(read_ids))
        if unknown:
            raise KnownError(
                f"The read {unknown[0]} given for redaction is not marked as evidence for case "
                f"{case_number}; redact only reads in the packet."
            )
        self._evidence.request_missing_holds(case_number, read_ids)
        states = {
            h.read_id: h.status for h in EvidenceRepository(db).holds(case_number=case_number)
        }
        evidence = {}
        for mark in marks:
            if mark.kind == "evidence" and mark.read_id not in evidence:
                evidence[mark.read_id] = {
                    "marked_by": mark.marked_by,
                    "marked_at": utc_iso(mark.marked_at),
                    "evidence_note": mark.note,
                    "hold": states.get(mark.read_id, "pending"),
                    "confirmed_by": None,
                    "confirmed_at": None,
                }
        return ExportPlan(
            case_number=case_number,
            records=tuple(records),
            marks=tuple(marks),
            redactions=redactions,
            evidence=evidence,
        )

    def local_evidence(self, *, case_number: str) -> list[str]:
        """The reads marked as evidence for the case in this cache (local)."""
        self._s.require()
        marks = ReviewRepository(self._s.db()).marks(case_number=case_number)
        return list(dict.fromkeys(m.read_id for m in marks if m.kind == "evidence"))

    # from the case's evidence at the hub (issue 22) ----------------------------------
    @staticmethod
    def confirmed_reads(case_number: str, record: list[HoldPublic]) -> list[HoldPublic]:
        """The reads of the case's record whose hold stands confirmed, in record order;
        a clear refusal when there are none, naming what stands instead."""
        newest = newest_holds(record)
        confirmed = [hold for hold in newest.values() if hold.status == "confirmed"]
        if confirmed:
            return confirmed
        proposed = [hold for hold in newest.values() if hold.status == "proposed"]
        if proposed:
            raise KnownError(
                f"No read of case {case_number} has a confirmed hold yet ({len(proposed)} "
                f"proposed, first read {proposed[0].read_id}); an evidence technician or a "
                f"supervisor confirms them (platedesk evidence confirm --case {case_number} "
                "READ_ID...), then export again."
            )
        raise KnownError(
            f"No read is held as evidence for case {case_number} at the hub; mark them first "
            "(platedesk evidence add --case CASE READ_ID...)."
        )

    def missing_reads(self, read_ids: list[str]) -> list[str]:
        """The read ids not in this cache yet (local)."""
        self._s.require()
        return ReadRepository(self._s.db()).missing(read_ids)

    def keep_reads(self, reads: list[ReadPublic]) -> None:
        """Keep reads fetched under the evidence grant in the cache (local)."""
        self._s.require()
        ReadRepository(self._s.db()).put_reads(reads)

    def plan_from_record(
        self,
        *,
        case_number: str,
        confirmed: list[HoldPublic],
        redactions: Mapping[str, DerivedSpec] | None = None,
    ) -> ExportPlan:
        """The plan of a packet of the case's confirmed evidence (local): every read must
        be in the cache by now (fetched under the evidence grant)."""
        self._s.require()
        redactions = dict(redactions or {})
        db = self._s.db()
        repo = ReadRepository(db)
        read_ids = [hold.read_id for hold in confirmed]
        records: list[ReadRecord] = []
        for read_id in read_ids:
            record = repo.get(read_id)
            if record is None:
                raise KnownError(
                    f"The evidence read {read_id} of case {case_number} is not in this cache; "
                    "export again while the hub is reachable to fetch it."
                )
            records.append(record)
        unknown = sorted(set(redactions) - set(read_ids))
        if unknown:
            raise KnownError(
                f"The read {unknown[0]} given for redaction is not confirmed evidence of case "
                f"{case_number} (not marked as evidence with a confirmed hold); redact only "
                "reads in the packet."
            )
        local = [m for m in ReviewRepository(db).marks(case_number=case_number)
                 if m.read_id in set(read_ids)]  # fmt: skip
        seen = {(m.read_id, m.kind, m.marked_by, utc_iso(m.marked_at)) for m in local}
        marks = list(local)
        for hold in confirmed:
            for mark in hold.marks:
                key = (hold.read_id, mark.kind, mark.marked_by, utc_iso(mark.marked_at))
                if key not in seen:
                    seen.add(key)
                    marks.append(
                        ReviewMark(
                            mark_id=0, read_id=hold.read_id, case_number=case_number,
                            kind=mark.kind, corrected_plate=mark.corrected_plate,
                            note=mark.note, marked_by=mark.marked_by, marked_at=mark.marked_at,
                        )
                    )  # fmt: skip
        return ExportPlan(
            case_number=case_number,
            records=tuple(records),
            marks=tuple(marks),
            redactions=redactions,
            evidence={hold.read_id: _hold_fields(hold) for hold in confirmed},
            from_hub=True,
        )

    def fetch_evidence_images(
        self,
        case_number: str,
        missing: list[tuple[str, str]],
        *,
        cancel: threading.Event | None = None,
    ) -> int:
        """Fetch the plan's missing images under the evidence grant (remote), a batch at a
        time, each checked against its SHA-256 and kept with one "evidence.grant_images"
        journal event per batch."""
        self._s.require()
        client = self._s.client
        fetched = 0
        for start in range(0, len(missing), IMAGE_BATCH):
            if cancel is not None and cancel.is_set():
                raise ExportCancelled("The export was cancelled.")
            batch = missing[start : start + IMAGE_BATCH]
            images = client.evidence_images([sha for sha, _ in batch], case_number=case_number)
            params = {"images": {sha: read_id for sha, read_id in batch}}
            with self._s.journaled(
                "evidence.grant_images",
                object_refs={"case_number": case_number},
                params=params,
                mirror=True,
            ) as db:
                repo = ReadRepository(db)
                for sha, data in images.items():
                    repo.put_image(sha, data)
            fetched += len(images)
        return fetched

    def missing_images(self, plan: ExportPlan) -> list[tuple[str, str]]:
        """(sha256, read_id) of the plan's images not cached yet (local)."""
        repo = ReadRepository(self._s.db())
        wanted = {sha: record.read_id for record, _kind, sha in plan.images()}
        return [(sha, read_id) for sha, read_id in wanted.items() if not repo.has_image(sha)]

    def fetch_missing(
        self, missing: list[tuple[str, str]], *, cancel: threading.Event | None = None
    ) -> int:
        """Fetch images not cached yet from the hub (remote), journaled as views."""
        fetched = 0
        for sha, read_id in missing:
            if cancel is not None and cancel.is_set():
                raise ExportCancelled("The export was cancelled.")
            self._review.fetch_image(sha, read_id=read_id)
            fetched += 1
        return fetched

    def write(
        self,
        plan: ExportPlan,
        *,
        out_dir: Path,
        hub_custody: HubCustody,
        zip: bool = False,
        progress: Callable[[ExportProgress], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> PacketResult:
        """Write the signed BagIt packet (CPU and this thread's own cache connection: run
        it on a lane of its own). Journals "export.start", then "export.packet" with the
        packet id, read count and SHA-256 of the signed tag manifest (or its cancellation
        or failure), and queues the hub's receipt with it (send it with `deliver`)."""
        session = self._s.require()
        repo = ReadRepository(self._s.db())
        case_number = plan.case_number
        read_ids = plan.read_ids
        originals = [
            OriginalRef(
                name=f"{record.read_id}-{kind}.jpg", sha256=sha, read_id=record.read_id, kind=kind
            )
            for record, kind, sha in plan.images()
        ]
        derived = {
            f"{read_id}-scene.jpg": Derived(name=f"{read_id}-scene.derived.png", make=deriver(spec))
            for read_id, spec in plan.redactions.items()
            if not spec.is_identity
        }
        packet_id = uuid.uuid4().hex
        refs = {"case_number": case_number, "packet_id": packet_id}
        start_params: dict[str, Any] = {"packet_id": packet_id, "reads": read_ids}
        if derived:
            start_params["derived"] = {
                read_id: [region.as_text() for region in spec.regions]
                for read_id, spec in plan.redactions.items()
            }
        with self._s.journaled("export.start", object_refs=refs, params=start_params):
            pass
        custody, excerpt = self._custody(
            case_number=case_number, read_ids=set(read_ids), packet_id=packet_id
        )
        marks: dict[str, list[dict[str, Any]]] = {}
        for mark in plan.marks:  # one pass: this thread shares the GIL with the searches
            marks.setdefault(mark.read_id, []).append(_mark_fields(mark))
        reads = [
            {
                **_read_fields(record),
                **plan.evidence.get(record.read_id, {}),
                "review_marks": marks.get(record.read_id, []),
            }
            for record in plan.records
        ]
        info = PacketInfo(
            packet_id=packet_id,
            case_number=case_number,
            organization=f"Platedesk hub at {self._s.hub_url or 'unknown'}",
            exporting_user=session.username,
            device_id=session.device_id,
            software_version=f"Platedesk {app_version}",
            bagged_at=datetime.now(UTC),
        )
        job = PacketJob(
            info=info,
            reads=reads,
            originals=originals,
            custody=custody,
            excerpt_device_id=excerpt.device_id,
            excerpt_first_seq=excerpt.first_seq,
            excerpt_start_hash=excerpt.start_hash,
            excerpt_case_seqs=excerpt.case_seqs,
            key=raw_key(self._evidence.signing_key()),
            out_dir=out_dir,
            zip=zip,
            derived=derived,
            hub_custody=hub_custody,
        )
        try:
            if self.in_process:
                built = _write_here(job, repo, excerpt, progress=progress, cancel=cancel)
            else:
                built = write_in_child(
                    job,
                    image=lambda index: repo.image(originals[index].sha256) or b"",
                    events=excerpt.events,
                    progress=progress,
                    cancel=cancel,
                )
        except ExportCancelled:
            with self._s.journaled("export.packet", object_refs=refs, outcome="cancelled"):
                pass
            raise
        except Exception as exc:
            with self._s.journaled(
                "export.packet", object_refs=refs, params={"error": str(exc)}, outcome="failed"
            ):
                pass
            raise
        params = {
            "packet_id": packet_id,
            "reads": len(reads),
            "files": built.result.files,
            "manifest_sha256": built.manifest_sha256,
        }
        receipt = PacketReceiptCreate(
            packet_id=packet_id,
            case_number=case_number,
            manifest_sha256=built.manifest_sha256,
            reads=len(reads),
            exported_at=info.bagged_at,
        )
        with self._s.journaled("export.packet", object_refs=refs, params=params) as tx:
            EvidenceRepository(tx).queue_receipt(
                packet_id=packet_id,
                case_number=case_number,
                body=receipt.model_dump(mode="json"),
            )
        return built.result

    def with_receipt(self, result: PacketResult) -> PacketResult:
        """The result with its receipt's status at the hub, as last known (local)."""
        return dataclasses.replace(result, receipt=self._evidence.receipt_status(result.packet_id))

    def _custody(
        self, *, case_number: str, read_ids: set[str], packet_id: str
    ) -> tuple[list[dict[str, Any]], AuditExcerpt]:
        """The journal events touching the reads (custody) and the chain segment from the
        first to the last event concerning the case (read by the packet writer as it goes)."""
        journal = self._s.journal()
        custody: list[dict[str, Any]] = []
        case_seqs: list[int] = []
        after = 0
        while batch := journal.events(after_seq=after, limit=5_000):
            for event in batch:
                refs = event["object_refs"]
                touches = (
                    refs.get("read_id") in read_ids
                    or refs.get("packet_id") == packet_id
                    or (  # what the evidence grant fetched for this case's packet
                        str(event["action"]).startswith("evidence.grant")
                        and refs.get("case_number") == case_number
                    )
                )
                if touches:
                    custody.append(event)
                if touches or refs.get("case_number") == case_number:
                    case_seqs.append(int(event["seq"]))
            after = int(batch[-1]["seq"])
        first = journal.events(after_seq=case_seqs[0] - 1, limit=1)[0]
        last_seq = case_seqs[-1]

        def segment() -> Iterator[dict[str, Any]]:
            position = first["seq"] - 1
            while position < last_seq:
                batch = journal.events(after_seq=position, limit=min(5_000, last_seq - position))
                if not batch:
                    return
                yield from batch
                position = int(batch[-1]["seq"])

        excerpt = AuditExcerpt(
            device_id=str(first["device_id"]),
            first_seq=int(first["seq"]),
            start_hash=str(first["prev_hash"]),
            case_seqs=case_seqs,
            events=segment(),
        )
        return custody, excerpt


def _write_here(
    job: PacketJob,
    repo: ReadRepository,
    excerpt: AuditExcerpt,
    *,
    progress: Callable[[ExportProgress], None] | None,
    cancel: threading.Event | None,
) -> BuiltPacket:
    """The packet written on the calling thread (ExportService.in_process)."""
    originals = [
        Original(name=ref.name, sha256=ref.sha256, load=_image_loader(repo, ref.sha256),
                 read_id=ref.read_id, kind=ref.kind)
        for ref in job.originals
    ]  # fmt: skip
    return job.write(originals, excerpt, progress=progress, cancel=cancel)


def _image_loader(repo: ReadRepository, sha256: str) -> Callable[[], bytes]:
    def load() -> bytes:
        return repo.image(sha256) or b""

    return load


# Shallow copies of the records' fields (no nested dataclasses): dataclasses.asdict
# deep-copies every value, a second of pure Python on the export lane per 1,000 reads,
# all of it taking the GIL from the window's searches.
_READ_NAMES = tuple(f.name for f in dataclasses.fields(ReadRecord))
_MARK_NAMES = tuple(f.name for f in dataclasses.fields(ReviewMark))


def _read_fields(record: ReadRecord) -> dict[str, Any]:
    fields = {name: getattr(record, name) for name in _READ_NAMES}
    fields["captured_at"] = utc_iso(record.captured_at)
    fields["features"] = list(record.features)
    return fields


def _mark_fields(mark: ReviewMark) -> dict[str, Any]:
    fields = {name: getattr(mark, name) for name in _MARK_NAMES}
    fields["marked_at"] = utc_iso(mark.marked_at)
    return fields


def _hold_fields(hold: HoldPublic) -> dict[str, Any]:
    """Who marked the read and who confirmed its hold, for reads.csv, report and custody."""
    return {
        "marked_by": hold.proposed_by,
        "marked_at": utc_iso(hold.proposed_at),
        "evidence_note": hold.note,
        "hold": hold.status,
        "confirmed_by": hold.confirmed_by,
        "confirmed_at": utc_iso(hold.confirmed_at) if hold.confirmed_at else None,
        "legal_basis": hold.legal_basis,
        "legal_basis_text": hold.legal_basis_text,
        "review_date": hold.review_date.isoformat() if hold.review_date else None,
    }
