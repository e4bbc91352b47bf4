"""The workstation: one profile (one user at one hub) and its services, one per concept.

Like Anki's Collection, a thin object that composes its managers over one shared
session (app.services.session.Session): `ws.catalog`, `ws.slices`, `ws.search`,
`ws.review`, `ws.evidence`, `ws.export`, `ws.alerts`, `ws.audit`, `ws.oversight`. Each service
method is either local (the cache) or remote (the hub), never both, so the window
can run it on the right lane. The few flows here that need both (sign-in, sync,
export, an image that may not be cached) are such calls composed in order, for
callers that run them on one thread (the CLI, the demo, tests).

The CLI and the window both call this object; neither holds logic of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx

from app.cache.connection import Database
from app.cache.journal import JournalRepository
from app.config.paths import current_profile_file, default_profile_dir, hub_profile_dir
from app.config.settings import PROFILE_FILE, ProfileSettings, load_settings
from app.core.errors import ErrorKind, KnownError
from app.core.evidence import DEFAULT_LEGAL_BASIS
from app.core.hub_address import check_hub_address
from app.core.records import (
    HoldState,
    ReadRecord,
    ReviewMark,
    SessionInfo,
    SyncProgress,
    SyncResult,
)
from app.core.schemas import HoldPublic
from app.export.packet import ExportProgress, HubCustody, PacketResult
from app.services.alerts import AlertService
from app.services.audit import AuditService
from app.services.catalog import CatalogService
from app.services.evidence import CUSTODIAN_ROLES, EvidenceService, newest_holds
from app.services.export import ExportPlan, ExportService
from app.services.hub_link import HubLinkService
from app.services.insights import InsightsService
from app.services.oversight import OversightService
from app.services.review import ReviewService
from app.services.search import SearchService
from app.services.session import LOCKED_MESSAGE, NotSignedIn, Session, SessionLocked
from app.services.slices import SliceService
from app.services.transparency import TransparencyService
from app.sync.client import HubUnreachable, SessionEnded
from app.sync.tls import CaBundle
from app.vision.redact import DerivedSpec

__all__ = ["LOCKED_MESSAGE", "NotSignedIn", "SessionLocked", "Workstation"]


class Workstation:
    """One profile (one user at one hub): its session and its services."""

    def __init__(
        self,
        *,
        profile_dir: Path | None,
        hub_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        ca_bundle: CaBundle | None = None,
    ) -> None:
        self.core = Session(
            profile_dir=profile_dir, hub_url=hub_url, transport=transport, ca_bundle=ca_bundle
        )
        self.hub_link = HubLinkService(self.core)
        self.catalog = CatalogService(self.core)
        self.slices = SliceService(self.core)
        self.search = SearchService(self.core)
        self.review = ReviewService(self.core)
        self.evidence = EvidenceService(self.core, self.review)
        self.export = ExportService(self.core, self.review, self.evidence)
        self.alerts = AlertService(self.core)
        self.audit = AuditService(self.core, self.evidence)
        self.oversight = OversightService(self.core)
        self.insights = InsightsService(self.core)  # operator insights, charts, audit trail
        self.transparency = TransparencyService(self.core)
        if self.core.resume():
            self.audit.purge()

    @classmethod
    def open(
        cls,
        *,
        profile_dir: Path | None = None,
        hub_url: str | None = None,
        username: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> Workstation:
        """Open a profile: the one named, the default one for user and hub, or the last used."""
        if profile_dir is None:
            if username and hub_url:
                profile_dir = default_profile_dir(username=username, hub_url=hub_url)
                if not profile_dir.exists():  # the hub's first-run profile, if no one took it
                    profile_dir = _unclaimed_first_run(hub_url) or profile_dir
            elif current_profile_file().exists():
                profile_dir = Path(current_profile_file().read_text(encoding="utf-8").strip())
        return cls(profile_dir=profile_dir, hub_url=hub_url, transport=transport)

    # the session -------------------------------------------------------------------
    @property
    def session(self) -> SessionInfo | None:
        return self.core.info

    @property
    def cache_update(self) -> str | None:
        """What opening the cache is busy with while it is slow (its one-time update after
        a new version), for a person waiting on a sign-in; None otherwise."""
        return self.core.cache_update

    @property
    def settings(self) -> ProfileSettings:
        return self.core.settings

    @property
    def profile_dir(self) -> Path:
        return self.core.profile_dir

    @property
    def cache_path(self) -> Path:
        return self.core.cache_path

    def cache_size(self) -> int | None:
        return self.core.cache_size()

    @property
    def hub_url(self) -> str | None:
        return self.core.hub_url

    @property
    def ca_bundle(self) -> CaBundle | None:
        """The agency CA bundle the hub's certificate is checked with (None: the system's)."""
        return self.core.ca_bundle

    @property
    def locked(self) -> bool:
        return self.core.locked

    @property
    def idle_lock_seconds(self) -> int:
        return self.core.idle_lock_seconds

    @property
    def dark_theme(self) -> bool:
        """The look the user chose last (View > Dark theme)."""
        return self.core.settings.dark_theme

    def set_dark_theme(self, dark: bool) -> None:
        self.core.set_dark_theme(dark)

    @property
    def export_dir(self) -> Path | None:
        """The folder the last evidence packet went to (where the next one starts)."""
        return self.core.export_dir

    def set_export_dir(self, folder: Path) -> None:
        self.core.set_export_dir(folder)

    def db(self) -> Database:
        """This thread's connection to the cache."""
        return self.core.db()

    def journal(self) -> JournalRepository:
        return self.core.journal()

    def login(
        self, *, username: str, password: str, totp: str, hub_url: str | None = None
    ) -> SessionInfo:
        """Sign in (remote), then fetch the catalog (remote), purge on the workstation's
        clock (local) and send what waits (remote; offline it waits)."""
        session = self.core.login(username=username, password=password, totp=totp, hub_url=hub_url)
        self.catalog.refresh()
        self.audit.purge()
        self.audit.upload_if_reachable()
        return session

    def lock(self) -> None:
        self.core.lock_session()

    def unlock(self, *, password: str, totp: str) -> SessionInfo:
        return self.core.unlock(password=password, totp=totp)

    def logout(self) -> None:
        """Sign out: journal it (local), deliver what can be delivered and tell the hub
        (remote), remove the tokens."""
        if not self.core.journal_sign_out():
            return
        self.audit.upload_if_reachable()
        self.core.end()

    def close(self) -> None:
        self.core.close()

    # flows of a local and a remote call, for callers on one thread --------------------
    def sync(
        self,
        *,
        slice_id: str | None = None,
        images: bool = False,
        progress: Callable[[SyncProgress], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> SyncResult:
        """Pull the slices' change feeds (remote), then send the audit events (remote)."""
        result = self.slices.sync(
            slice_id=slice_id, images=images, progress=progress, cancel=cancel
        )
        self.audit.upload_if_reachable()
        return result

    def image(self, sha256: str, *, read_id: str) -> bytes:
        """A read's image: from the cache (local), else fetched from the hub (remote)."""
        data = self.review.cached_image(sha256, read_id=read_id)
        return self.review.fetch_image(sha256, read_id=read_id) if data is None else data

    def plate_crop(self, read_id: str) -> bytes | None:
        """A result row's plate crop: cached (local), else fetched once and kept (remote);
        None when the hub cannot be reached (the row shows no thumbnail)."""
        sha256, data = self.review.cached_crop(read_id)
        if data is not None:
            return data
        try:
            return self.review.fetch_crop(sha256)
        except HubUnreachable:
            return None

    def mark_evidence(
        self,
        *,
        read_id: str,
        case_number: str,
        note: str = "",
        deliver: bool = True,
        legal_basis: str = DEFAULT_LEGAL_BASIS,
        legal_basis_text: str = "",
        review_date: date | None = None,
    ) -> ReviewMark:
        """Mark a read as evidence (local, with its hold request queued), then send the
        request (remote; offline it waits) unless `deliver` is False."""
        mark = self.evidence.mark(
            read_id=read_id, case_number=case_number, note=note, legal_basis=legal_basis,
            legal_basis_text=legal_basis_text,
            review_date=review_date,
        )  # fmt: skip
        if deliver:
            self.evidence.deliver()
        return mark

    def evidence_holds(self, *, case_number: str, refresh: bool = False) -> list[HoldState]:
        """The case's holds; `refresh` first asks the hub (remote)."""
        if refresh:
            self.evidence.refresh_holds(case_number=case_number)
        return self.evidence.holds(case_number=case_number)

    def case_evidence(self, *, case_number: str, refresh: bool = True) -> list[HoldPublic]:
        """The case's evidence from every workstation: the hub's record (remote), kept for
        the desks (local); offline (or with `refresh` False), the record last kept."""
        if refresh:
            self.evidence.deliver()
            try:
                record = self.evidence.case_evidence(case_number=case_number)
            except (HubUnreachable, SessionEnded):
                return self.evidence.known_case_evidence(case_number=case_number)
            self.evidence.keep_case_evidence(case_number, record)
            return record
        return self.evidence.known_case_evidence(case_number=case_number)

    def case_evidence_reads(self, *, case_number: str) -> tuple[list[EvidenceRow], bool]:
        """The case's evidence for a desk, each with its read where it can be had, and
        whether it came from the hub (False: offline, this cache's own marks and the
        record last kept). A custodian's confirmed reads missing here are fetched under
        the evidence grant (remote) and kept (local)."""
        self.evidence.deliver()
        session = self.core.require()
        try:
            record = self.evidence.case_evidence(case_number=case_number)
        except HubUnreachable:
            known = self.evidence.known_case_evidence(case_number=case_number)
            if known:
                return self._rows(known), False
            rows = [
                EvidenceRow(
                    read_id=h.read_id,
                    record=self._cached(h.read_id),
                    hold=h.status,
                    marked_by=session.username,
                    confirmed_by=None,
                    note="",
                    detail=h.detail,
                )
                for h in self.evidence.holds(case_number=case_number)
            ]
            return rows, False
        self.evidence.keep_case_evidence(case_number, record)
        if session.role in CUSTODIAN_ROLES:
            confirmed = [h.read_id for h in newest_holds(record).values()
                         if h.status == "confirmed" and h.read_present]  # fmt: skip
            wanted = self.export.missing_reads(confirmed)
            if wanted:
                fetched = self.evidence.fetch_evidence_reads(
                    case_number=case_number, read_ids=wanted
                )
                self.export.keep_reads(fetched.reads)
        return self._rows(record), True

    def _rows(self, record: list[HoldPublic]) -> list[EvidenceRow]:
        return [
            EvidenceRow(
                read_id=h.read_id,
                record=self._cached(h.read_id),
                hold=h.status,
                marked_by=h.proposed_by,
                confirmed_by=h.confirmed_by,
                note=h.note,
                detail=h.decision_note or h.release_reason,
                legal_basis=h.legal_basis
                + (f": {h.legal_basis_text}" if h.legal_basis_text else ""),
                decided_by=h.released_by or h.refused_by or h.confirmed_by,
            )
            for h in newest_holds(record).values()
        ]

    def _cached(self, read_id: str) -> ReadRecord | None:
        try:
            return self.review.read(read_id)
        except KnownError:
            return None

    def evidence_image(self, sha256: str, *, read_id: str, case_number: str) -> bytes:
        """An evidence read's image: cached (local), else fetched (remote) under the
        evidence grant for a custodian, through a slice otherwise."""
        data = self.review.cached_image(sha256, read_id=read_id)
        if data is not None:
            return data
        session = self.core.require()
        if session.role in CUSTODIAN_ROLES:
            self.export.fetch_evidence_images(case_number, [(sha256, read_id)])
            cached = self.review.cached_image(sha256, read_id=read_id)
            if cached is not None:
                return cached
        return self.review.fetch_image(sha256, read_id=read_id)

    def prepare_export(
        self,
        *,
        case_number: str,
        redactions: Mapping[str, DerivedSpec] | None = None,
        cancel: threading.Event | None = None,
    ) -> tuple[ExportPlan, HubCustody]:
        """What a packet of the case will hold, with everything it needs in the cache.

        Online: the case's confirmed evidence at the hub (remote), reads and originals the
        cache lacks fetched under the evidence grant (remote, sha256-checked, kept: local).
        Offline: the reads marked as evidence in this cache, as before (the packet says
        the hub's custody is not included). A hub that stops answering midway ends it
        with a message naming the read; nothing is written."""
        self.evidence.deliver()
        local = self.export.local_evidence(case_number=case_number)
        self.evidence.confirm_holds(case_number, local)  # a custodian's own marks
        try:
            record = self.evidence.case_evidence(case_number=case_number)
        except HubUnreachable:
            plan = self.export.plan(case_number=case_number, redactions=redactions)
            custody = self.evidence.hub_custody(case_number, set(plan.read_ids))
            self.export.fetch_missing(self.export.missing_images(plan), cancel=cancel)
            return plan, custody
        self.evidence.keep_case_evidence(case_number, record)
        confirmed = self.export.confirmed_reads(case_number, record)
        gone = [hold.read_id for hold in confirmed if not hold.read_present]
        if gone:
            raise KnownError(
                f"Read {gone[0]} of case {case_number} was purged at the hub before its hold "
                "arrived; it cannot go in the packet. Ask a supervisor to release its hold "
                f"(platedesk evidence release --case {case_number} {gone[0]} --reason TEXT), "
                "then export again."
            )
        wanted = self.export.missing_reads([hold.read_id for hold in confirmed])
        session = self.core.require()
        grant = session.role in CUSTODIAN_ROLES  # others fetch through their slices
        if wanted and not grant:
            raise KnownError(
                f"Read {wanted[0]} of case {case_number} is confirmed evidence but not in "
                "this cache; sync a slice that holds it, or ask the case's evidence "
                "technician to export the packet."
            )
        try:
            if wanted:
                fetched = self.evidence.fetch_evidence_reads(
                    case_number=case_number, read_ids=wanted
                )
                if fetched.missing:
                    raise KnownError(
                        f"Read {fetched.missing[0]} of case {case_number} is no longer at the "
                        "hub (purged); it cannot go in the packet. Ask a supervisor to release "
                        "its hold, then export again."
                    )
                self.export.keep_reads(fetched.reads)
            plan = self.export.plan_from_record(
                case_number=case_number, confirmed=confirmed, redactions=redactions
            )
            custody = self.evidence.hub_custody(case_number, set(plan.read_ids))
            missing = self.export.missing_images(plan)
            if grant:
                self.export.fetch_evidence_images(case_number, missing, cancel=cancel)
            else:
                self.export.fetch_missing(missing, cancel=cancel)
        except HubUnreachable as exc:
            raise ExportInterrupted(
                f"The hub stopped answering while the export fetched the evidence of case "
                f"{case_number}{_first(wanted)}; no packet was written. What was fetched is "
                "kept: export again once the hub can be reached."
            ) from exc
        return plan, custody

    def export_packet(
        self,
        *,
        case_number: str,
        out_dir: Path,
        zip: bool = False,
        redactions: Mapping[str, DerivedSpec] | None = None,
        progress: Callable[[ExportProgress], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> PacketResult:
        """Write the case's evidence as a signed BagIt packet: prepare (the hub's
        confirmed evidence, fetched where missing), write (CPU), receipt (remote)."""
        plan, custody = self.prepare_export(
            case_number=case_number, redactions=redactions, cancel=cancel
        )
        result = self.export.write(
            plan,
            out_dir=out_dir,
            hub_custody=custody,
            zip=zip,
            progress=progress,
            cancel=cancel,
        )
        self.evidence.deliver()
        return self.export.with_receipt(result)


def _unclaimed_first_run(hub_url: str) -> Path | None:
    """The profile `platedesk connect` made for this hub (with its CA bundle) while no
    one has signed in with it yet; None when there is none."""
    folder = hub_profile_dir(check_hub_address(hub_url))
    if not (folder / PROFILE_FILE).exists():
        return None
    return None if load_settings(folder).username else folder


@dataclass(frozen=True)
class EvidenceRow:
    """One evidence read of a case as a desk shows it: the read (None when this cache
    does not hold it), its hold, who marked it and who confirmed it."""

    read_id: str
    record: ReadRecord | None
    hold: str
    marked_by: str
    confirmed_by: str | None
    note: str
    detail: str
    legal_basis: str = ""
    decided_by: str | None = None  # who confirmed, refused or released the hold


class ExportInterrupted(KnownError):
    """The hub dropped while an export fetched what it needs; nothing was written."""

    kind = ErrorKind.UNREACHABLE


def _first(read_ids: list[str]) -> str:
    return f" (reads such as {read_ids[0]})" if read_ids else ""
