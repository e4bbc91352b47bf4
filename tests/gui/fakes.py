"""A small in-memory stand-in for app.workstation.Workstation, for narrow widget tests.

It implements the methods the UI calls with the records of app/core/records.py,
records what it was asked, and can be told to fail, to refuse, to hand out a
corrupt image, or to pause a sync until it is cancelled. End-to-end tests use
the real Workstation against a real hub instead.

It follows the engine's session lock: after `lock()` every data method raises
SessionLocked until `unlock(password=..., totp=...)` succeeds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRect, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

from app.core.errors import KnownError, PolicyRefusal
from app.core.plates import normalize_plate
from app.core.purposes import PURPOSES
from app.core.records import (
    NEWEST_FIRST,
    SEARCH_OUTCOMES,
    AlertRecord,
    Associate,
    CameraInfo,
    CaseInfo,
    HoldState,
    HubContact,
    JournalStatus,
    PlaceMatch,
    PurposeInfo,
    ReadRecord,
    ReviewMark,
    SavedSearch,
    SearchCursor,
    SearchOrder,
    SearchPage,
    SearchQuery,
    SessionInfo,
    SliceInfo,
    SortKey,
    SyncProgress,
    SyncResult,
    query_to_dict,
)
from app.export.packet import ExportCancelled, ExportProgress, PacketResult
from app.sync.client import HubUnreachable
from app.workstation import LOCKED_MESSAGE, SessionLocked

HUB_URL = "https://hub.example.test"
PASSWORD = "correct horse"
TOTP = "123456"
CASE = "2024-000123"
OTHER_CASE = "2024-000456"
NOW = datetime(2024, 5, 20, 15, 0, tzinfo=UTC)
STREETS = ("Main St & 1st Ave", "Main St & 2nd Ave", "Oak Rd & 3rd Ave", "Harbor Blvd")
# Distinct positions, so the camera map has a shape (roughly 1 km apart).
CAMERA_POSITIONS = ((37.000, -122.000), (37.004, -121.994), (37.009, -122.003), (36.996, -121.989))
CORRUPT = b"\xff\xd8\xff\xe0 this is not really a JPEG"


def make_jpeg(width: int, height: int, color: str, text: str = "") -> bytes:
    """A real JPEG drawn with QImage (needs a QGuiApplication for the text)."""
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor(color))
    if text:
        painter = QPainter(image)
        painter.setPen(QColor("white"))
        font = QFont()
        font.setPixelSize(max(10, height // 4))
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(QRect(0, 0, width, height), Qt.AlignmentFlag.AlignCenter, text)
        painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    assert image.save(buffer, "JPEG", 85)  # type: ignore[call-overload]  # the stubs want bytes; Qt wants str
    buffer.close()
    return bytes(data.data())


def make_reads(count: int) -> list[ReadRecord]:
    """`count` reads, newest first, with a few plates that match *7K2*."""
    makes = [("Toyota", "Camry", "Silver"), ("Ford", "F-150", "Blue"), ("Honda", "Civic", "Red")]
    reads = []
    for i in range(count):
        make, model, color = makes[i % len(makes)]
        plate = f"8{i % 10}7K2{i % 7}{i % 3}" if i % 5 == 0 else f"ABC{i:04d}"
        reads.append(
            ReadRecord(
                read_id=f"r{i:05d}",
                plate=plate,
                state="CA",
                confidence=0.8 + (i % 20) / 100,
                captured_at=NOW - timedelta(minutes=7 * i),
                camera_id=f"cam-{i % 4}",
                camera_name=STREETS[i % 4],
                latitude=37.0,
                longitude=-122.0,
                direction="N",
                make=make,
                model=model,
                color=color,
                body_type="pickup" if make == "Ford" else "sedan",
                features=("roof rack",) if i % 4 == 0 else (),
                image_sha256=f"img{i:05d}",
                crop_sha256=f"crop{i:05d}",
            )
        )
    return reads


@dataclass
class _FakePlan:
    case_number: str
    redactions: dict[str, object]
    read_ids: list[str] = field(default_factory=list)


@dataclass
class FakeWorkstation:
    """Stand-in for Workstation; every list is shared with the test to inspect."""

    signed_in: bool = True
    insecure_keyring: bool = True
    reads: list[ReadRecord] = field(default_factory=lambda: make_reads(450))
    slices_by_case: dict[str, list[SliceInfo]] = field(default_factory=dict)
    corrupt_images: set[str] = field(default_factory=set)
    pending_events: int = 3
    sync_pages: int = 4
    sync_page_size: int = 25
    pause_sync_after: int | None = None  # pages; then wait until cancelled
    hub_unreachable: bool = False
    login_calls: list[dict[str, object]] = field(default_factory=list)
    search_calls: list[tuple[SearchQuery, SearchCursor | None, int]] = field(default_factory=list)
    search_orders: list[SearchOrder] = field(default_factory=list)
    crop_calls: list[str] = field(default_factory=list)
    dark_theme: bool = False
    export_dir: Path | None = None
    hub_alerts: list[AlertRecord] = field(default_factory=list)
    listeners: list[FakeAlertListener] = field(default_factory=list)
    acknowledgements: list[dict[str, object]] = field(default_factory=list)
    evidence_reads: list[str] = field(default_factory=list)  # read ids marked as evidence
    exports: list[dict[str, object]] = field(default_factory=list)
    pause_export: threading.Event | None = None  # set: the export waits for it
    image_calls: list[tuple[str, str]] = field(default_factory=list)
    sync_calls: list[str | None] = field(default_factory=list)
    slice_requests: list[dict[str, object]] = field(default_factory=list)
    scene_jpeg: bytes = b""
    crop_jpeg: bytes = b""
    idle_lock_seconds: int = 900
    locked: bool = False
    lock_calls: int = 0
    purge_calls: int = 0
    unlock_calls: list[dict[str, str]] = field(default_factory=list)
    cache_file: Path | None = None  # cache_path; None: no profile yet (NotSignedIn)
    role: str = "detective"
    marks: list[ReviewMark] = field(default_factory=list)
    outcomes: list[dict[str, str]] = field(default_factory=list)
    saved: list[SavedSearch] = field(default_factory=list)
    analysis_calls: list[tuple[str, dict[str, object]]] = field(default_factory=list)
    associates_found: list[Associate] = field(
        default_factory=lambda: [
            Associate("XYZ9876", 2, 3, NOW - timedelta(hours=3), NOW - timedelta(minutes=20)),
            Associate("JKL4455", 2, 2, NOW - timedelta(hours=2), NOW - timedelta(hours=1)),
        ]
    )
    place_matches: list[PlaceMatch] = field(
        default_factory=lambda: [PlaceMatch("807K200", (2, 1)), PlaceMatch("ABC0003", (1, 1))]
    )
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if not self.scene_jpeg:
            self.scene_jpeg = make_jpeg(640, 360, "#3b5f7a", "SCENE")
        if not self.crop_jpeg:
            self.crop_jpeg = make_jpeg(200, 60, "#222222", "8K7K2")
        self._facets()

    def _facets(self) -> None:
        """The services' shape (ws.search.run, ws.audit.status, ...) over the flat fakes."""
        cls = type(self)

        def bound(name: str) -> Callable[..., Any]:
            method: Callable[..., Any] = getattr(cls, name).__get__(self)
            return method

        def facet(**names: str) -> SimpleNamespace:
            return SimpleNamespace(**{key: bound(name) for key, name in names.items()})

        # Instance attributes: they shadow the flat methods of the same name.
        self.catalog = facet(cases="cases", purposes="purposes", cameras="cameras")
        self.slices = facet(request="request_slice", list="slices")  # type: ignore[assignment]
        self.search = facet(  # type: ignore[assignment]
            run="search", sightings="sightings", associates="associates",
            multi_place="multi_place", save="save_search", saved="saved_searches",
            delete_saved="delete_saved_search",
        )  # fmt: skip
        self.review = facet(
            read="read", marks="review_marks", mark_misread="mark_misread",
            record_outcome="record_outcome",
        )  # fmt: skip
        self.evidence = facet(mark="mark_evidence")
        self.evidence.deliver = lambda: {}
        self.evidence.confirm_holds = lambda _case, _ids: None
        self.evidence.hub_custody = lambda _case, _ids: None
        self.export = SimpleNamespace(
            plan=lambda *, case_number, redactions: _FakePlan(case_number, dict(redactions)),
            missing_images=lambda _plan: [],
            fetch_missing=lambda _missing, *, cancel=None: 0,
            write=lambda plan, *, out_dir, hub_custody, zip, progress, cancel: self.export_packet(
                case_number=plan.case_number,
                out_dir=out_dir,
                zip=zip,
                redactions=plan.redactions,
                progress=progress,
                cancel=cancel,
            ),
            with_receipt=lambda result: result,
        )
        self.alerts = facet(  # type: ignore[assignment]
            list="alerts", listener="alert_listener", images="alert_images",
            acknowledge="acknowledge_alert",
        )  # fmt: skip
        self.audit = facet(
            status="journal_status", upload="upload_journal", purge="purge",
            check_hub="check_hub", note_contact="note_contact",
        )  # fmt: skip

    # -- session ---------------------------------------------------------

    @property
    def session(self) -> SessionInfo | None:
        if not self.signed_in:
            return None
        return SessionInfo(
            username="dortiz",
            display_name="Dana Ortiz",
            role=self.role,
            hub_url=HUB_URL,
            device_id="dev-1",
            session_expires_at=NOW + timedelta(hours=12),
            insecure_keyring=self.insecure_keyring,
        )

    @property
    def hub_url(self) -> str | None:
        return HUB_URL

    def login(
        self, *, username: str, password: str, totp: str, hub_url: str | None = None
    ) -> SessionInfo:
        self.login_calls.append(
            {"username": username, "password": password, "totp": totp, "hub_url": hub_url}
        )
        if self.hub_unreachable:
            raise HubUnreachable(
                f"Cannot reach the hub at {hub_url}: connection refused. "
                "Check the address and your network."
            )
        if username != "dortiz" or password != PASSWORD or totp != TOTP:
            raise KnownError("Wrong user name, password or code.")
        self.signed_in = True
        session = self.session
        assert session is not None
        return session

    def logout(self) -> None:
        self.signed_in = False

    @property
    def cache_path(self) -> Path:
        if self.cache_file is None:
            raise KnownError("No profile yet: sign in first.")
        return self.cache_file

    def lock(self) -> None:
        self.lock_calls += 1
        self.locked = True

    def unlock(self, *, password: str, totp: str) -> SessionInfo:
        self.unlock_calls.append({"password": password, "totp": totp})
        if self.hub_unreachable:
            raise HubUnreachable(
                f"Cannot reach the hub at {HUB_URL}: connection refused. "
                "Check the address and your network."
            )
        if password != PASSWORD or totp != TOTP:
            raise KnownError("Wrong user name, password or code.")
        self.locked = False
        session = self.session
        assert session is not None
        return session

    def _check_unlocked(self) -> None:
        if self.locked:
            raise SessionLocked(LOCKED_MESSAGE)

    # -- reference data --------------------------------------------------

    def cases(self) -> list[CaseInfo]:
        self._check_unlocked()
        return [
            CaseInfo(CASE, "Armed robbery, 5th St pharmacy", "robbery", "open"),
            CaseInfo(OTHER_CASE, "Stolen silver Camry", "stolen_vehicle", "open"),
        ]

    def purposes(self) -> list[PurposeInfo]:
        self._check_unlocked()
        return [PurposeInfo(code, label) for code, label in PURPOSES.items()]

    def cameras(self) -> list[CameraInfo]:
        self._check_unlocked()
        return [
            CameraInfo(f"cam-{i}", STREETS[i], *CAMERA_POSITIONS[i], "N", True) for i in range(4)
        ]

    # -- slices and sync -------------------------------------------------

    def request_slice(
        self,
        *,
        case_number: str,
        purpose: str,
        justification: str,
        time_from: datetime,
        time_to: datetime,
        camera_ids: list[str] | None = None,
        plate_pattern: str | None = None,
    ) -> SliceInfo:
        self._check_unlocked()
        self.slice_requests.append(
            {
                "case_number": case_number,
                "purpose": purpose,
                "justification": justification,
                "time_from": time_from,
                "time_to": time_to,
                "camera_ids": camera_ids,
                "plate_pattern": plate_pattern,
            }
        )
        if "protest" in justification.lower():
            raise PolicyRefusal(
                "ALPR data may not be used to monitor protests, religious services, "
                "assemblies or political activity."
            )
        with self._lock:
            existing = self.slices_by_case.setdefault(case_number, [])
            info = SliceInfo(
                slice_id=f"s{len(existing) + 1}-{case_number}",
                case_number=case_number,
                purpose=purpose,
                justification=justification,
                time_from=time_from,
                time_to=time_to,
                camera_ids=tuple(camera_ids) if camera_ids else None,
                plate_pattern=plate_pattern,
                estimated_reads=self.sync_pages * self.sync_page_size,
                expires_at=datetime.now(UTC) + timedelta(days=30),
                synced_reads=0,
                complete=False,
            )
            existing.append(info)
        return info

    def slices(self, *, case_number: str | None = None) -> list[SliceInfo]:
        self._check_unlocked()
        with self._lock:
            if case_number is None:
                return [s for group in self.slices_by_case.values() for s in group]
            return list(self.slices_by_case.get(case_number, []))

    def add_synced_slice(self, case_number: str = CASE) -> SliceInfo:
        info = self.request_slice(
            case_number=case_number,
            purpose="robbery",
            justification="Suspect vehicle seen leaving the pharmacy robbery",
            time_from=NOW - timedelta(days=3),
            time_to=NOW,
        )
        self._mark_synced(info.slice_id, len(self.reads), complete=True)
        return info

    def _mark_synced(self, slice_id: str, reads: int, *, complete: bool) -> None:
        with self._lock:
            for group in self.slices_by_case.values():
                for i, info in enumerate(group):
                    if info.slice_id == slice_id:
                        group[i] = replace(info, synced_reads=reads, complete=complete)

    def sync(
        self,
        *,
        slice_id: str | None = None,
        images: bool = False,
        progress: Callable[[SyncProgress], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> SyncResult:
        self._check_unlocked()
        self.sync_calls.append(slice_id)
        if self.hub_unreachable:
            raise HubUnreachable(
                f"Cannot reach the hub at URL: {HUB_URL}. Check the address and your network."
            )
        estimated = self.sync_pages * self.sync_page_size
        applied = 0
        for page in range(self.sync_pages):
            if cancel is not None and cancel.is_set():
                break
            applied += self.sync_page_size
            if progress is not None:
                progress(SyncProgress(slice_id or "", applied, estimated, 0))
            if (
                self.pause_sync_after is not None
                and page + 1 >= self.pause_sync_after
                and cancel is not None
            ):
                cancel.wait(10)
        cancelled = cancel is not None and cancel.is_set()
        if slice_id is not None:
            self._mark_synced(slice_id, applied, complete=not cancelled)
        return SyncResult(reads=applied, images=0, deleted=0, cancelled=cancelled)

    # -- search and review -----------------------------------------------

    def search(
        self,
        query: SearchQuery,
        *,
        order: SearchOrder = NEWEST_FIRST,
        after: SearchCursor | None = None,
        limit: int = 200,
    ) -> SearchPage:
        self._check_unlocked()
        self.search_calls.append((query, after, limit))
        self.search_orders.append(order if after is None else after.order)
        matching = [r for r in self.reads if _matches(query, r)]
        # The row id, as in the cache: here the read's place in the list.
        place = {r.read_id: i for i, r in enumerate(self.reads)}
        if after is not None:
            order = after.order
        if order != NEWEST_FIRST:
            matching.sort(key=lambda r: (_sort_value(r, order.key), place[r.read_id]))
            if order.descending:
                matching.reverse()
        start = 0
        if after is not None:
            start = next(i for i, r in enumerate(matching) if place[r.read_id] == after.row_id) + 1
        rows = tuple(matching[start : start + limit])
        more = start + limit < len(matching) and rows
        cursor = (
            SearchCursor(_sort_value(rows[-1], order.key), place[rows[-1].read_id], order)
            if more
            else None
        )
        return SearchPage(
            rows=rows, next_cursor=cursor, total=len(matching) if after is None else None
        )

    def read(self, read_id: str) -> ReadRecord:
        self._check_unlocked()
        return next(r for r in self.reads if r.read_id == read_id)

    def image(self, sha256: str, *, read_id: str) -> bytes:
        self._check_unlocked()
        self.image_calls.append((sha256, read_id))
        if sha256 in self.corrupt_images:
            return CORRUPT
        return self.crop_jpeg if sha256.startswith("crop") else self.scene_jpeg

    # -- evidence export -------------------------------------------------

    def evidence_holds(self, *, case_number: str, refresh: bool = False) -> list[HoldState]:
        self._check_unlocked()
        return [
            HoldState(case_number, read_id, "proposed", f"h{n}", "", NOW)
            for n, read_id in enumerate(self.evidence_reads)
        ]

    def export_packet(
        self,
        *,
        case_number: str,
        out_dir: Path,
        zip: bool = False,
        redactions: dict[str, object] | None = None,
        progress: Callable[[ExportProgress], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> PacketResult:
        self._check_unlocked()
        total = len(self.evidence_reads)
        for done in range(total + 1):
            if progress is not None:
                progress(ExportProgress("originals", done, total))
            if self.pause_export is not None and cancel is not None:
                cancel.wait(5)
            if cancel is not None and cancel.is_set():
                raise ExportCancelled("Export cancelled: nothing was written.")
        self.exports.append({"case_number": case_number, "out_dir": out_dir, "zip": zip,
                             "redactions": dict(redactions or {})})  # fmt: skip
        packet = out_dir / f"case-{case_number}-packet"
        return PacketResult(packet, "0" * 32, total, 4 * total + 5, receipt="delivered")

    # -- hotlist alerts --------------------------------------------------

    def alerts(self, *, after: int = 0, limit: int = 100) -> list[AlertRecord]:
        self._check_unlocked()
        if self.hub_unreachable:
            raise HubUnreachable("The hub cannot be reached.")
        return [a for a in self.hub_alerts if a.alert_id > after][:limit]

    def alert_listener(
        self,
        *,
        on_alert: Callable[[AlertRecord], None],
        on_state: Callable[[str], None] | None = None,
        after: int | None = None,
    ) -> FakeAlertListener:
        self._check_unlocked()
        listener = FakeAlertListener(on_alert=on_alert, on_state=on_state, after=after)
        self.listeners.append(listener)
        return listener

    def alert_images(self, alert: AlertRecord) -> tuple[bytes, bytes] | None:
        self._check_unlocked()
        self.image_calls.append((alert.image_sha256 or "", alert.read_id))
        return None if alert.image_sha256 is None else (self.scene_jpeg, self.crop_jpeg)

    def acknowledge_alert(
        self,
        *,
        alert_id: int,
        outcome: str,
        visual_confirmed: bool,
        state_match: bool,
        entry_confirmed: bool,
        note: str = "",
    ) -> AlertRecord:
        self._check_unlocked()
        steps = {"visual_confirmed": visual_confirmed, "state_match": state_match,
                 "entry_confirmed": entry_confirmed}  # fmt: skip
        self.acknowledgements.append({"alert_id": alert_id, "outcome": outcome, **steps})
        index = next(i for i, a in enumerate(self.hub_alerts) if a.alert_id == alert_id)
        done = replace(
            self.hub_alerts[index], acknowledged_by="detective", acknowledged_at=NOW,
            outcome=outcome, note=note, visual_confirmed=visual_confirmed,
            state_match=state_match, entry_confirmed=entry_confirmed,
        )  # fmt: skip
        self.hub_alerts[index] = done
        return done

    def set_dark_theme(self, dark: bool) -> None:
        self.dark_theme = dark

    def set_export_dir(self, folder: Path) -> None:
        self.export_dir = folder

    def plate_crop(self, read_id: str) -> bytes | None:
        self._check_unlocked()
        self.crop_calls.append(read_id)
        if self.hub_unreachable:
            return None
        return self.crop_jpeg

    # -- analyses --------------------------------------------------------

    def _require_slice(self, case_number: str, purpose: str) -> None:
        self._check_unlocked()
        if not any(
            s.purpose == purpose for s in FakeWorkstation.slices(self, case_number=case_number)
        ):
            raise KnownError(
                f"You hold no reads for case {case_number} under this purpose; request "
                "the reads the case needs first."
            )

    def sightings(self, *, case_number: str, purpose: str, plate: str) -> list[ReadRecord]:
        self._require_slice(case_number, purpose)
        self.analysis_calls.append(
            ("sightings", {"case_number": case_number, "purpose": purpose, "plate": plate})
        )
        wanted = normalize_plate(plate)
        return sorted((r for r in self.reads if r.plate == wanted), key=lambda r: r.captured_at)

    def associates(
        self,
        *,
        case_number: str,
        purpose: str,
        plate: str,
        window_seconds: int = 60,
        min_cameras: int = 2,
    ) -> list[Associate]:
        self._require_slice(case_number, purpose)
        self.analysis_calls.append(
            (
                "associates",
                {
                    "case_number": case_number,
                    "purpose": purpose,
                    "plate": plate,
                    "window_seconds": window_seconds,
                    "min_cameras": min_cameras,
                },
            )
        )
        return list(self.associates_found)

    def multi_place(
        self,
        *,
        case_number: str,
        purpose: str,
        places: list[list[str]],
        time_from: datetime | None = None,
        time_to: datetime | None = None,
    ) -> list[PlaceMatch]:
        if len(places) < 2 or not all(places):
            raise KnownError("Choose at least two places, each with at least one camera.")
        self._require_slice(case_number, purpose)
        self.analysis_calls.append(
            (
                "multi_place",
                {
                    "case_number": case_number,
                    "purpose": purpose,
                    "places": places,
                    "time_from": time_from,
                    "time_to": time_to,
                },
            )
        )
        return [replace(m, sightings=m.sightings[: len(places)]) for m in self.place_matches]

    # -- review marks, outcomes, saved searches --------------------------

    def mark_misread(
        self, *, read_id: str, case_number: str, corrected_plate: str, note: str = ""
    ) -> ReviewMark:
        corrected = normalize_plate(corrected_plate)
        if not corrected:
            raise KnownError("Give the plate as the image shows it (letters and digits).")
        return self._mark(
            "misread", read_id=read_id, case_number=case_number, corrected=corrected, note=note
        )

    def mark_evidence(self, *, read_id: str, case_number: str, note: str = "") -> ReviewMark:
        return self._mark(
            "evidence", read_id=read_id, case_number=case_number, corrected=None, note=note
        )

    def _mark(
        self, kind: str, *, read_id: str, case_number: str, corrected: str | None, note: str
    ) -> ReviewMark:
        self._check_unlocked()
        if not any(r.read_id == read_id for r in self.reads):
            raise KnownError(f"The read {read_id} is not in this cache (it may have been purged).")
        with self._lock:
            mark = ReviewMark(
                mark_id=len(self.marks) + 1,
                read_id=read_id,
                case_number=case_number,
                kind=kind,
                corrected_plate=corrected,
                note=note,
                marked_by="dortiz",
                marked_at=NOW,
            )
            self.marks.append(mark)
        return mark

    def review_marks(
        self, *, read_id: str | None = None, case_number: str | None = None
    ) -> list[ReviewMark]:
        self._check_unlocked()
        with self._lock:
            return [
                m
                for m in self.marks
                if (read_id is None or m.read_id == read_id)
                and (case_number is None or m.case_number == case_number)
            ]

    def record_outcome(
        self, *, case_number: str, purpose: str, outcome: str, note: str = ""
    ) -> None:
        if outcome not in SEARCH_OUTCOMES:
            raise KnownError(f"'{outcome}' is not a search outcome")
        self._check_unlocked()
        self.outcomes.append(
            {"case_number": case_number, "purpose": purpose, "outcome": outcome, "note": note}
        )

    def save_search(self, *, name: str, query: SearchQuery) -> SavedSearch:
        name = " ".join(name.split())
        if not name:
            raise KnownError("Give the saved search a name.")
        self._check_unlocked()
        kept = {
            k: v for k, v in query_to_dict(query).items() if k not in ("case_number", "purpose")
        }
        with self._lock:
            saved = SavedSearch(
                saved_id=max((s.saved_id for s in self.saved), default=0) + 1,
                case_number=query.case_number,
                name=name,
                query=kept,
                created_at=NOW,
            )
            self.saved.append(saved)
        return saved

    def saved_searches(self, *, case_number: str) -> list[SavedSearch]:
        self._check_unlocked()
        with self._lock:
            return [s for s in self.saved if s.case_number == case_number]

    def delete_saved_search(self, saved_id: int) -> None:
        self._check_unlocked()
        with self._lock:
            kept = [s for s in self.saved if s.saved_id != saved_id]
            if len(kept) == len(self.saved):
                raise KnownError("That saved search no longer exists.")
            self.saved[:] = kept

    def journal_status(self) -> JournalStatus:
        return JournalStatus(pending=self.pending_events, delivered=10, chain_ok=True)

    def purge(self, *, now: datetime | None = None) -> dict[str, int]:
        self.purge_calls += 1
        return {"purged": 0, "kept_on_hold": 0}

    def check_hub(self) -> HubContact:
        if self.hub_unreachable:
            return HubContact(online=False, reason="unreachable", detail="Cannot reach the hub.")
        return HubContact(online=True, at=datetime.now(UTC))

    def note_contact(self, at: datetime) -> None:
        self.last_contact = at

    def upload_journal(self) -> int:
        if self.hub_unreachable:
            raise HubUnreachable(
                f"Cannot reach the hub at URL: {HUB_URL}. Check the address and your network."
            )
        sent, self.pending_events = self.pending_events, 0
        return sent

    def close(self) -> None:
        """Nothing to release."""


def _matches(query: SearchQuery, read: ReadRecord) -> bool:
    """The filters of a SearchQuery, roughly as the engine applies them (no fuzzy matching)."""

    def same(wanted: str | None, value: str) -> bool:
        return wanted is None or wanted.casefold() == value.casefold()

    return (
        (query.pattern is None or query.pattern.matches(read.plate))
        and (query.time_from is None or read.captured_at >= query.time_from)
        and (query.time_to is None or read.captured_at <= query.time_to)
        and (not query.camera_ids or read.camera_id in query.camera_ids)
        and same(query.state, read.state)
        and same(query.make, read.make)
        and same(query.model, read.model)
        and same(query.color, read.color)
        and same(query.body_type, read.body_type)
        and (
            query.feature is None
            or query.feature.casefold() in (f.casefold() for f in read.features)
        )
        and (query.min_confidence is None or read.confidence >= query.min_confidence)
    )


def _sort_value(read: ReadRecord, key: SortKey) -> str | float:
    if key is SortKey.TIME:
        return read.captured_at.isoformat()
    if key is SortKey.CAMERA:
        return read.camera_name
    value: str | float = getattr(read, key.value)
    return value


class FakeAlertListener:
    """Stands in for the SSE listener: push() delivers from another thread, as it would."""

    def __init__(
        self,
        *,
        on_alert: Callable[[AlertRecord], None],
        on_state: Callable[[str], None] | None,
        after: int | None,
    ) -> None:
        self.on_alert, self.on_state, self.after = on_alert, on_state, after
        self.started = self.stopped = False

    def start(self) -> None:
        self.started = True
        if self.on_state is not None:
            self.on_state("connected")

    def stop(self, timeout: float = 10.0) -> None:
        self.stopped = True

    def push(self, alert: AlertRecord) -> None:
        thread = threading.Thread(target=self.on_alert, args=(alert,))
        thread.start()
        thread.join()


def make_alert(alert_id: int, *, plate: str = "7K2LMV", match: str = "exact") -> AlertRecord:
    read_plate = plate if match == "exact" else plate.replace("M", "N")
    return AlertRecord(
        alert_id=alert_id, case_number=CASE, entry_id=f"e{alert_id}", entry_plate=plate,
        entry_state="WY", reason="Stolen vehicle", source="NCIC", unit=None, match=match,
        created_at=NOW, read_id=f"r-alert-{alert_id}", read_plate=read_plate, read_state="WY",
        captured_at=NOW - timedelta(minutes=2), camera_id="cam-1",
        image_sha256=f"scene-alert-{alert_id}", crop_sha256=f"crop-alert-{alert_id}",
        acknowledged_by=None, acknowledged_at=None, outcome=None, visual_confirmed=None,
        state_match=None, entry_confirmed=None, note=None,
    )  # fmt: skip
