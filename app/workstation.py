"""The workstation engine: every action a detective takes, as one service.

The CLI and the window both call this class; neither holds logic of its own.
Calls block: the window runs them off the GUI thread. Each thread gets its own
connection to the encrypted cache. Every action is journaled, in the same
transaction as its effect where it has one.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app import __version__ as app_version
from app.cache.analysis import AnalysisRepository
from app.cache.catalog import CatalogRepository
from app.cache.connection import CacheError, Database, open_encrypted
from app.cache.evidence import EvidenceRepository
from app.cache.journal import Actor, JournalRepository
from app.cache.migrations import migrate
from app.cache.reads import ReadRepository
from app.cache.review import ReviewRepository
from app.cache.search import SearchRepository
from app.config.paths import current_profile_file, default_profile_dir
from app.config.settings import ProfileSettings, load_settings, save_settings
from app.core.canonical import parse_utc, utc_iso
from app.core.errors import ErrorKind, KnownError, PolicyRefusal
from app.core.plates import normalize_plate, parse_pattern
from app.core.policy import RETENTION
from app.core.records import (
    ALERT_OUTCOMES,
    NEWEST_FIRST,
    SEARCH_OUTCOMES,
    AlertRecord,
    Associate,
    CameraInfo,
    CaseInfo,
    DeskStatus,
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
    SyncProgress,
    SyncResult,
    query_to_dict,
)
from app.core.schemas import (
    AlertAcknowledgeCreate,
    AlertOutcome,
    DeviceCreate,
    HoldCreate,
    HoldPublic,
    LoginRequest,
    PacketReceiptCreate,
    Role,
    SliceCreate,
    TokenPublic,
    acknowledgement_problem,
)
from app.export.packet import (
    AuditExcerpt,
    Derived,
    DerivedCopy,
    ExportCancelled,
    ExportProgress,
    HubCustody,
    Original,
    PacketInfo,
    PacketResult,
    write_packet,
)
from app.export.sign import private_key, public_key_b64
from app.sync.alerts import AlertListener, alert_record
from app.sync.checkpoints import CheckpointVerifier, IntegrityProblem, VerifiedCheckpoint
from app.sync.client import (
    CorruptResponse,
    DeviceRevoked,
    HubClient,
    HubError,
    HubRefused,
    HubUnreachable,
    SessionEnded,
)
from app.sync.feed import FeedPuller
from app.sync.secrets import SecretStore, keyring_is_insecure
from app.sync.uploader import JournalUploader
from app.vision.redact import DerivedSpec, derive

log = logging.getLogger(__name__)
CACHE_FILE = "cache.db"
CHECKPOINT_KEY = "audit_checkpoint"
INTEGRITY_KEY = "audit_integrity_problem"
LAST_CONTACT_KEY = "hub_last_contact"
PROOF_SAMPLE = 16
IMAGE_PREFETCH_BATCH = 200
CUSTODIAN_ROLES = frozenset({Role.EVIDENCE_TECHNICIAN.value, Role.SUPERVISOR.value})


class NotSignedIn(KnownError):
    pass


class SessionLocked(KnownError):
    """The session is locked (idle, or by the user): nothing is served until unlock."""


LOCKED_MESSAGE = "Platedesk is locked; sign in again (password and code) to continue."


class Workstation:
    """One profile (one user at one hub): its cache, its keys, its session."""

    def __init__(
        self,
        *,
        profile_dir: Path | None,
        hub_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        # None: no profile yet; the first sign-in picks the default one for its user and hub.
        self._profile_dir = profile_dir
        self._settings: ProfileSettings = (
            load_settings(profile_dir) if profile_dir is not None else ProfileSettings()
        )
        self._hub_url = (hub_url or self._settings.hub_url or "").rstrip("/") or None
        self._transport = transport
        self._client: HubClient | None = None
        self._local = threading.local()
        self._connections: list[Database] = []
        self._lock = threading.RLock()
        self._migrated = False
        self._session: SessionInfo | None = None
        self._session_id = ""
        self._locked = False
        if self._settings.username and profile_dir is not None and self.cache_path.exists():
            self._resume()

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
            elif current_profile_file().exists():
                profile_dir = Path(current_profile_file().read_text(encoding="utf-8").strip())
        return cls(profile_dir=profile_dir, hub_url=hub_url, transport=transport)

    # properties ----------------------------------------------------------------
    @property
    def profile_dir(self) -> Path:
        if self._profile_dir is None:
            raise NotSignedIn(
                "No profile yet: sign in first, e.g. "
                "`platedesk --hub https://HUB:8750 login --user NAME`."
            )
        return self._profile_dir

    @property
    def cache_path(self) -> Path:
        return self.profile_dir / CACHE_FILE

    @property
    def session(self) -> SessionInfo | None:
        return self._session

    @property
    def hub_url(self) -> str | None:
        return self._hub_url

    @property
    def locked(self) -> bool:
        return self._locked

    @property
    def idle_lock_seconds(self) -> int:
        """After this long without input the window locks (policy: at most 30 minutes)."""
        return self._settings.idle_lock_minutes * 60

    @property
    def dark_theme(self) -> bool:
        """The look the user chose last (View > Dark theme)."""
        return self._settings.dark_theme

    def set_dark_theme(self, dark: bool) -> None:
        """Keep the user's choice of look in the profile's settings."""
        with self._lock:
            self._settings.dark_theme = dark
            if self._profile_dir is not None:
                save_settings(self._profile_dir, self._settings)

    # plumbing --------------------------------------------------------------------
    def _secrets(self) -> SecretStore:
        return SecretStore(self._settings.profile_id)

    def _client_for(self, hub_url: str) -> HubClient:
        with self._lock:
            if self._client is None or self._client.base_url != hub_url.rstrip("/"):
                if self._client is not None:
                    self._client.close()
                self._client = HubClient(hub_url, transport=self._transport)
                self._client.on_unauthorized = self._renew_access
                self._client.on_device_revoked = self._wipe_revoked_device
                self._client.device_id = self._settings.device_id or None
            return self._client

    @property
    def client(self) -> HubClient:
        if not self._hub_url:
            raise KnownError("No hub address is set for this profile; give one with --hub URL.")
        return self._client_for(self._hub_url)

    def db(self) -> Database:
        """This thread's connection to the cache (opened, and migrated once, on first use)."""
        db: Database | None = getattr(self._local, "db", None)
        if db is not None:
            return db
        key = self._secrets().cache_key(create=False) if self._settings.profile_id else None
        if key is None:
            raise CacheError(
                f"The key of the cache in {self.profile_dir} is not in this computer's keyring. "
                "Sign in again; if the problem stays, ask your administrator (unsent audit "
                "events may be in that cache, so do not delete it)."
            )
        db = open_encrypted(self.cache_path, key)
        with self._lock:
            if not self._migrated:
                migrate(db)
                self._migrated = True
            self._connections.append(db)
        self._local.db = db
        return db

    def _actor(self, *, while_locked: bool = False) -> Actor:
        session = self._require_session(while_locked=while_locked)
        return Actor(session.device_id, session.username, self._session_id)

    def _journal(self) -> JournalRepository:
        return JournalRepository(self.db())

    @contextmanager
    def _journaled(
        self,
        action: str,
        *,
        object_refs: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        outcome: str = "ok",
        while_locked: bool = False,
    ) -> Iterator[Database]:
        """A transaction whose effect and whose journal event commit together."""
        db = self.db()
        with db.atomic():
            yield db
            JournalRepository(db).append(
                self._actor(while_locked=while_locked),
                action,
                object_refs=object_refs,
                params=params,
                outcome=outcome,
            )

    def _require_session(self, *, while_locked: bool = False) -> SessionInfo:
        session = self._session
        if session is None:
            raise NotSignedIn("You are not signed in; sign in to the hub first.")
        if self._locked and not while_locked:
            raise SessionLocked(LOCKED_MESSAGE)
        if session.session_expires_at <= datetime.now(UTC):
            raise NotSignedIn(
                "Your session is over (a full sign-in is required every 12 hours); sign in again."
            )
        return session

    # session -------------------------------------------------------------------
    def _resume(self) -> None:
        """Pick up a session kept from an earlier run, if its tokens are still in the keyring."""
        access, refresh = self._secrets().tokens()
        if not refresh:
            return
        catalog = CatalogRepository(self.db())
        stored = catalog.get_setting("session")
        if stored is None:
            return
        data = json.loads(stored)
        self._session_id = data["session_id"]
        self._session = SessionInfo(
            username=data["username"],
            display_name=data["display_name"],
            role=data["role"],
            hub_url=self._settings.hub_url,
            device_id=self._settings.device_id,
            session_expires_at=parse_utc(data["session_expires_at"]),
            insecure_keyring=keyring_is_insecure(),
        )
        self.client.access_token = access
        self.purge()

    def _renew_access(self) -> str | None:
        """Called on a 401: rotate the refresh token for a new access token, or give up."""
        with self._lock:
            _, refresh = self._secrets().tokens()
            if not refresh or not self._hub_url:
                return None
            try:
                token = HubClient(self._hub_url, transport=self._transport).refresh(refresh)
            except (HubRefused, HubUnreachable):
                return None
            self._secrets().set_tokens(access=token.access_token, refresh=token.refresh_token)
            return token.access_token

    def login(
        self, *, username: str, password: str, totp: str, hub_url: str | None = None
    ) -> SessionInfo:
        """Sign in with password and code; creates the profile's key and cache the first time."""
        hub = (hub_url or self._hub_url or "").rstrip("/")
        if not hub:
            raise KnownError("Give the hub's address (e.g. https://hub.example:8750) to sign in.")
        if self._profile_dir is None:
            self._profile_dir = default_profile_dir(username=username, hub_url=hub)
            self._settings = load_settings(self._profile_dir)
        settings = self._settings
        if settings.username and (settings.username != username or settings.hub_url != hub):
            raise KnownError(
                f"This profile ({self.profile_dir}) belongs to {settings.username} at "
                f"{settings.hub_url}; use another profile folder for {username} at {hub}."
            )
        client = self._client_for(hub)
        try:
            token = client.login(LoginRequest(username=username, password=password, totp=totp))
        except HubRefused as exc:
            self._journal_failed_sign_in(username, exc)
            raise
        if not settings.profile_id:
            settings.profile_id = uuid.uuid4().hex
        secrets = SecretStore(settings.profile_id)
        if secrets.cache_key(create=not self.cache_path.exists()) is None:
            raise CacheError(
                f"The cache in {self.profile_dir} was made with a key this computer's keyring "
                "no longer holds; ask your administrator before removing it (it may hold audit "
                "events not yet sent to the hub)."
            )
        settings.hub_url, settings.username = hub, username
        self._hub_url = hub
        client.access_token = token.access_token
        if not settings.device_id:
            signing_key = private_key(secrets.device_key(create=True) or b"")
            device = client.register_device(
                DeviceCreate(name=_device_name(), public_key=public_key_b64(signing_key))
            )
            settings.device_id = device.device_id
        client.device_id = settings.device_id
        save_settings(self.profile_dir, settings)
        secrets.set_tokens(access=token.access_token, refresh=token.refresh_token)
        self._start_session(token)
        self.refresh_catalog()
        self.purge()
        current_profile_file().parent.mkdir(parents=True, exist_ok=True)
        current_profile_file().write_text(str(self.profile_dir.resolve()), encoding="utf-8")
        self._upload_if_reachable()
        assert self._session is not None
        return self._session

    def _start_session(self, token: TokenPublic) -> None:
        self._session_id = uuid.uuid4().hex
        self._session = SessionInfo(
            username=token.user.username,
            display_name=token.user.display_name,
            role=token.user.role.value,
            hub_url=self._settings.hub_url,
            device_id=self._settings.device_id,
            session_expires_at=token.session_expires_at,
            insecure_keyring=keyring_is_insecure(),
        )
        stored = {
            "session_id": self._session_id,
            "username": token.user.username,
            "display_name": token.user.display_name,
            "role": token.user.role.value,
            "session_expires_at": utc_iso(token.session_expires_at),
        }
        with self._journaled("session.sign_in", params={"role": token.user.role.value}) as db:
            CatalogRepository(db).set_setting("session", json.dumps(stored))

    def _journal_failed_sign_in(self, username: str, exc: HubRefused) -> None:
        """A failed sign-in is journaled when this profile already has a cache to hold it."""
        if not (self._settings.device_id and self.cache_path.exists()):
            return
        try:
            JournalRepository(self.db()).append(
                Actor(self._settings.device_id, username, self._session_id or "none"),
                "session.sign_in_failed",
                params={"status": exc.status},
                outcome="refused",
            )
        except CacheError:
            log.warning("a failed sign-in could not be journaled: the cache is unavailable")

    def lock(self) -> None:
        """Lock the session: no data is served until `unlock` re-authenticates at the hub."""
        if self._session is None or self._locked:
            return
        with self._journaled("session.lock"):
            pass
        self._locked = True

    def unlock(self, *, password: str, totp: str) -> SessionInfo:
        """Sign in again as the same user (password and code) and lift the lock."""
        session = self._require_session(while_locked=True)
        request = LoginRequest(username=session.username, password=password, totp=totp)
        try:
            token = self.client.login(request)
        except HubRefused as exc:
            with self._journaled("session.unlock", outcome="refused", while_locked=True):
                pass
            raise KnownError(str(exc)) from exc
        self._secrets().set_tokens(access=token.access_token, refresh=token.refresh_token)
        self.client.access_token = token.access_token
        self._locked = False
        self._start_session(token)
        return self._session or session

    def _wipe_revoked_device(self) -> None:
        """The hub revoked this device: remove its cache and keys, then stop serving."""
        profile_id = self._settings.profile_id
        with self._lock:
            for db in self._connections:
                db.close()
            self._connections.clear()
            self._local = threading.local()
            self._migrated = False
            if self._profile_dir is not None:
                for path in self._profile_dir.glob(CACHE_FILE + "*"):
                    path.unlink(missing_ok=True)
            if profile_id:
                SecretStore(profile_id).wipe()
            self._settings.device_id = ""
            if self._client is not None:
                self._client.device_id = None
            if self._profile_dir is not None:
                save_settings(self._profile_dir, self._settings)
            self._session = None
        log.warning("this device was revoked at the hub: cache and keys wiped")

    def logout(self) -> None:
        """Sign out: journal it, deliver what can be delivered, remove the tokens."""
        if self._session is None:
            return
        with self._journaled("session.sign_out"):
            pass
        self._upload_if_reachable()
        secrets = self._secrets()
        _, refresh = secrets.tokens()
        if refresh:
            try:
                self.client.logout(refresh)
            except (HubRefused, HubUnreachable):
                log.info("the hub could not be told of the sign-out; the tokens are removed here")
        secrets.clear_tokens()
        self._session = None

    def refresh_catalog(self) -> None:
        """Fetch cases, purposes and cameras from the hub and keep them for offline use."""
        self._require_session()
        catalog = CatalogRepository(self.db())
        client = self.client
        catalog.replace_cases(client.cases())
        catalog.replace_purposes(client.purposes())
        catalog.replace_cameras(client.cameras())

    # catalog ---------------------------------------------------------------------
    def cases(self) -> list[CaseInfo]:
        self._require_session()
        return CatalogRepository(self.db()).cases()

    def purposes(self) -> list[PurposeInfo]:
        self._require_session()
        return CatalogRepository(self.db()).purposes()

    def cameras(self) -> list[CameraInfo]:
        self._require_session()
        return CatalogRepository(self.db()).cameras()

    # slices and sync ------------------------------------------------------------
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
        """Ask the hub for the reads a case needs; the hub validates and records the request."""
        self._require_session()
        if plate_pattern:
            plate_pattern = parse_pattern(plate_pattern).text
        request = SliceCreate(
            case_number=case_number.strip(),
            purpose=purpose,
            justification=justification,
            time_from=time_from,
            time_to=time_to,
            camera_ids=camera_ids,
            plate_pattern=plate_pattern,
        )
        params = request.model_dump(mode="json", exclude={"justification"})
        try:
            created = self.client.create_slice(request)
        except HubRefused as exc:
            with self._journaled("slice.refused", params={**params, "reason": str(exc)}):
                pass
            if exc.kind is ErrorKind.POLICY_REFUSED:
                raise PolicyRefusal(str(exc)) from exc
            raise
        refs = {"slice_id": created.slice_id, "case_number": created.case_number}
        params["estimated_reads"] = created.estimated_reads
        with self._journaled("slice.request", object_refs=refs, params=params) as db:
            CatalogRepository(db).save_slice(created)
        slice_ = CatalogRepository(self.db()).slice(created.slice_id)
        assert slice_ is not None
        return slice_

    def slices(self, *, case_number: str | None = None) -> list[SliceInfo]:
        self._require_session()
        return CatalogRepository(self.db()).slices(case_number=case_number)

    def sync(
        self,
        *,
        slice_id: str | None = None,
        images: bool = False,
        progress: Callable[[SyncProgress], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> SyncResult:
        """Pull the change feed of one slice (or of every unexpired slice) into the cache."""
        self._require_session()
        catalog = CatalogRepository(self.db())
        now = datetime.now(UTC)
        if slice_id is not None:
            one = catalog.slice(slice_id)
            if one is None:
                raise KnownError(f"There is no slice {slice_id} in this profile.")
            targets = [one]
        else:
            targets = [s for s in catalog.slices() if s.expires_at > now]
        puller = FeedPuller(client=self.client, reads=ReadRepository(self.db()), catalog=catalog)
        reads = deleted = fetched = 0
        cancelled = False
        for target in targets:
            refs = {"slice_id": target.slice_id, "case_number": target.case_number}
            with self._journaled("sync.start", object_refs=refs):
                pass
            result = puller.pull(
                target.slice_id,
                page_size=self._settings.feed_page_size,
                estimated=target.estimated_reads,
                progress=progress,
                cancel=cancel,
            )
            reads += result.applied
            deleted += result.deleted
            cancelled = result.cancelled
            if images and not cancelled:
                fetched += self._prefetch_images(target.slice_id, cancel=cancel)
            counts = {"reads": result.applied, "deleted": result.deleted, "cancelled": cancelled}
            with self._journaled("sync.end", object_refs=refs, params=counts):
                pass
            if cancelled:
                break
        self._upload_if_reachable()
        return SyncResult(reads=reads, images=fetched, deleted=deleted, cancelled=cancelled)

    def _prefetch_images(self, slice_id: str, *, cancel: threading.Event | None) -> int:
        repo = ReadRepository(self.db())
        fetched = 0
        while shas := repo.missing_images(slice_id=slice_id, limit=IMAGE_PREFETCH_BATCH):
            for sha in shas:
                if cancel is not None and cancel.is_set():
                    return fetched
                data = self.client.image(sha)
                repo.put_image(sha, data)
                fetched += 1
        return fetched

    # search and review ---------------------------------------------------------
    def _require_slice(self, case_number: str, purpose: str) -> Database:
        """This thread's cache, once it is sure the user holds reads for the case and purpose."""
        self._require_session()
        db = self.db()
        if not any(
            s.purpose == purpose for s in CatalogRepository(db).slices(case_number=case_number)
        ):
            raise KnownError(
                f"You hold no reads for case {case_number} under this purpose; request "
                "the reads the case needs first."
            )
        return db

    def _journal_search(self, params: dict[str, Any], *, result_count: int) -> None:
        """Record a search (its exact parameters and result count) before answering it."""
        try:
            with self._journaled(
                "search",
                object_refs={"case_number": params["case_number"]},
                params={**params, "result_count": result_count},
            ):
                pass
        except CacheError:
            raise
        except Exception as exc:
            raise KnownError(
                "The search was not run because the audit journal cannot record it; "
                "check the disk and try again."
            ) from exc

    def search(
        self,
        query: SearchQuery,
        *,
        order: SearchOrder = NEWEST_FIRST,
        after: SearchCursor | None = None,
        limit: int = 200,
    ) -> SearchPage:
        """A page of cached reads for the case and purpose, in `order`.

        The first page is journaled (with its order, when not newest first: a
        re-sort is a new look at the results); later pages continue the cursor.
        """
        repo = SearchRepository(self._require_slice(query.case_number, query.purpose))
        if after is not None:
            return repo.page(query, order=after.order, after=after, limit=limit)
        total = repo.count(query)
        params = query_to_dict(query)
        if order != NEWEST_FIRST:
            params["order"] = order.label
        self._journal_search(params, result_count=total)
        page = repo.page(query, order=order, after=None, limit=limit)
        return SearchPage(rows=page.rows, next_cursor=page.next_cursor, total=total)

    # analyses -----------------------------------------------------------------
    def sightings(self, *, case_number: str, purpose: str, plate: str) -> list[ReadRecord]:
        """Every cached read of one plate in the case, oldest first (journaled as a search)."""
        repo = AnalysisRepository(self._require_slice(case_number, purpose))
        found = repo.sightings(case_number=case_number, purpose=purpose, plate=plate)
        self._journal_search(
            {"analysis": "sightings", "case_number": case_number, "purpose": purpose,
             "plate": normalize_plate(plate)},
            result_count=len(found),
        )  # fmt: skip
        return found

    def associates(
        self,
        *,
        case_number: str,
        purpose: str,
        plate: str,
        window_seconds: int = 60,
        min_cameras: int = 2,
    ) -> list[Associate]:
        """Vehicles seen with a plate: same camera within the window, at several cameras."""
        repo = AnalysisRepository(self._require_slice(case_number, purpose))
        found = repo.associates(
            case_number=case_number,
            purpose=purpose,
            plate=plate,
            window_seconds=window_seconds,
            min_cameras=min_cameras,
        )
        self._journal_search(
            {"analysis": "associates", "case_number": case_number, "purpose": purpose,
             "plate": normalize_plate(plate), "window_seconds": window_seconds,
             "min_cameras": min_cameras},
            result_count=len(found),
        )  # fmt: skip
        return found

    def multi_place(
        self,
        *,
        case_number: str,
        purpose: str,
        places: list[list[str]],
        time_from: datetime | None = None,
        time_to: datetime | None = None,
    ) -> list[PlaceMatch]:
        """Plates seen at every one of several places (camera groups) within the window."""
        if len(places) < 2 or not all(places):
            raise KnownError("Choose at least two places, each with at least one camera.")
        repo = AnalysisRepository(self._require_slice(case_number, purpose))
        found = repo.multi_place(
            case_number=case_number,
            purpose=purpose,
            places=places,
            time_from=time_from,
            time_to=time_to,
        )
        self._journal_search(
            {"analysis": "multi_place", "case_number": case_number, "purpose": purpose,
             "places": places,
             "time_from": None if time_from is None else utc_iso(time_from),
             "time_to": None if time_to is None else utc_iso(time_to)},
            result_count=len(found),
        )  # fmt: skip
        return found

    # review --------------------------------------------------------------------
    def mark_misread(
        self, *, read_id: str, case_number: str, corrected_plate: str, note: str = ""
    ) -> ReviewMark:
        """Record that the reader got a plate wrong, with the plate the image shows."""
        corrected = normalize_plate(corrected_plate)
        if not corrected:
            raise KnownError("Give the plate as the image shows it (letters and digits).")
        return self._mark(
            "misread", read_id=read_id, case_number=case_number, corrected=corrected, note=note
        )

    def mark_evidence(
        self, *, read_id: str, case_number: str, note: str = "", deliver: bool = True
    ) -> ReviewMark:
        """Mark a read as evidence for the case and ask the hub to hold it (journaled).

        The hold request is queued in the same transaction as the mark, then sent
        (unless `deliver` is False: the caller sends a batch); offline it waits for
        the next contact with the hub. `evidence_holds` shows where each stands.
        """

        def queue_hold(db: Database) -> None:
            EvidenceRepository(db).request_hold(case_number=case_number, read_id=read_id, note=note)

        mark = self._mark(
            "evidence",
            read_id=read_id,
            case_number=case_number,
            corrected=None,
            note=note,
            also=queue_hold,
        )
        if deliver:
            self.deliver_evidence()
        return mark

    def _mark(
        self,
        kind: str,
        *,
        read_id: str,
        case_number: str,
        corrected: str | None,
        note: str,
        also: Callable[[Database], None] | None = None,
    ) -> ReviewMark:
        session = self._require_session()
        if ReadRepository(self.db()).get(read_id) is None:
            raise KnownError(f"The read {read_id} is not in this cache (it may have been purged).")
        refs = {"read_id": read_id, "case_number": case_number}
        params = {"corrected_plate": corrected, "note": note}
        with self._journaled(f"review.{kind}", object_refs=refs, params=params) as db:
            mark_id = ReviewRepository(db).add_mark(
                read_id=read_id,
                case_number=case_number,
                kind=kind,
                corrected_plate=corrected,
                note=note,
                marked_by=session.username,
            )
            if also is not None:
                also(db)
        return next(m for m in self.review_marks(read_id=read_id) if m.mark_id == mark_id)

    # evidence at the hub: holds and packet receipts ------------------------------
    def evidence_holds(self, *, case_number: str, refresh: bool = False) -> list[HoldState]:
        """Where each read marked as evidence for the case stands at the hub; `refresh`
        first sends what waits and asks the hub for the holds' current status."""
        self._require_session()
        if refresh:
            self.deliver_evidence()
            try:
                current = self.client.holds(case_number=case_number)
            except (HubUnreachable, CorruptResponse, SessionEnded):
                current = []  # offline: the last known status stands
            self._adopt_holds(case_number, current, only_known=True)
        return EvidenceRepository(self.db()).holds(case_number=case_number)

    def _adopt_holds(
        self, case_number: str, current: list[HoldPublic], *, only_known: bool
    ) -> set[str]:
        """Take the hub's status of each read's newest hold; returns the read ids held now."""
        newest: dict[str, HoldPublic] = {}
        for hold in current:  # oldest first: the last one per read is its newest
            newest[hold.read_id] = hold
        repo = EvidenceRepository(self.db())
        known = {h.read_id: h for h in repo.holds(case_number=case_number)}
        held: set[str] = set()
        with self.db().atomic():
            for read_id, hold in newest.items():
                mine = known.get(read_id)
                if mine is None or (only_known and mine.status == "pending"):
                    continue
                if hold.status != "released":
                    held.add(read_id)
                if mine.status != hold.status or mine.hold_id != hold.hold_id:
                    repo.set_hold(
                        case_number=case_number,
                        read_id=read_id,
                        status=hold.status,
                        hold_id=hold.hold_id,
                    )
        return held

    def deliver_evidence(self) -> dict[str, int]:
        """Send pending hold requests and packet receipts to the hub; offline (or with
        the session over) they wait for the next contact. Returns what was settled."""
        counts = {"holds": 0, "refused": 0, "receipts": 0}
        if self._session is None or self._locked or not self._hub_url:
            return counts
        repo = EvidenceRepository(self.db())
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

    def _deliver_holds(self, case_number: str, wanted: list[tuple[str, str]]) -> tuple[int, int]:
        """Adopt holds the hub already has, place the others; (placed, refused)."""
        refs = {"case_number": case_number}
        read_ids = [read_id for read_id, _ in wanted]
        try:
            held = self._adopt_holds(case_number, self.client.holds(case_number=case_number),
                                     only_known=False)  # fmt: skip
            by_note: dict[str, list[str]] = {}
            for read_id, note in wanted:
                if read_id not in held:
                    by_note.setdefault(note, []).append(read_id)
            placed: list[HoldPublic] = []
            for note, ids in by_note.items():
                for start in range(0, len(ids), 1000):
                    request = HoldCreate(
                        case_number=case_number, read_ids=ids[start : start + 1000], note=note
                    )
                    placed.extend(self.client.place_holds(request))
        except (SessionEnded, DeviceRevoked):
            raise
        except HubRefused as exc:
            if (
                exc.kind is ErrorKind.CONFLICT
            ):  # placed meanwhile by someone else: adopt it next time
                return 0, 0
            with self._journaled(
                "evidence.hold", object_refs=refs,
                params={"read_ids": read_ids, "refused": str(exc)}, outcome="refused",
            ) as db:  # fmt: skip
                for read_id in read_ids:
                    EvidenceRepository(db).set_hold(
                        case_number=case_number, read_id=read_id, status="refused",
                        hold_id=None, detail=str(exc),
                    )  # fmt: skip
            return 0, len(read_ids)
        statuses = {hold.read_id: hold.status for hold in placed}
        with self._journaled(
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
            receipt = self.client.post_receipt(PacketReceiptCreate.model_validate(body))
        except (SessionEnded, DeviceRevoked):
            raise
        except HubRefused as exc:
            with self._journaled(
                "export.receipt", object_refs=refs, params={"refused": str(exc)},
                outcome="refused",
            ) as db:  # fmt: skip
                EvidenceRepository(db).set_receipt(packet_id, status="refused", detail=str(exc))
            return 0
        params = {"manifest_sha256": receipt.manifest_sha256, "received_at":
                  utc_iso(receipt.received_at)}  # fmt: skip
        with self._journaled("export.receipt", object_refs=refs, params=params) as db:
            EvidenceRepository(db).set_receipt(packet_id, status="delivered")
        return 1

    def review_marks(
        self, *, read_id: str | None = None, case_number: str | None = None
    ) -> list[ReviewMark]:
        self._require_session()
        return ReviewRepository(self.db()).marks(read_id=read_id, case_number=case_number)

    def record_outcome(
        self, *, case_number: str, purpose: str, outcome: str, note: str = ""
    ) -> None:
        """Record what the case's searches led to, so the agency can report results."""
        if outcome not in SEARCH_OUTCOMES:
            raise KnownError(
                f"'{outcome}' is not a search outcome; choose one of: {', '.join(SEARCH_OUTCOMES)}"
            )
        self._require_session()
        refs = {"case_number": case_number}
        with self._journaled(
            "search.outcome", object_refs=refs, params={"purpose": purpose, "outcome": outcome,
                                                        "note": note}
        ):  # fmt: skip
            pass

    # hotlist alerts --------------------------------------------------------------
    def alerts(self, *, after: int = 0, limit: int = 100) -> list[AlertRecord]:
        """My hotlist alerts at the hub (assigned cases, my unit) after an alert id."""
        self._require_session()
        page = self.client.alerts(after=after, limit=limit)
        return [alert_record(alert) for alert in page.alerts]

    def alert_listener(
        self,
        *,
        on_alert: Callable[[AlertRecord], None],
        on_state: Callable[[str], None] | None = None,
        after: int | None = None,
    ) -> AlertListener:
        """A listener for new alerts (not started: call start(), and stop() when done).

        `on_alert` runs on the listener's thread; a window marshals it to the GUI thread.
        """
        self._require_session()
        client = self.client
        return AlertListener(
            base_url=client.base_url,
            access_token=lambda: client.access_token,
            renew=self._renew_access,
            on_alert=on_alert,
            on_state=on_state,
            after=after,
            device_id=client.device_id,
            transport=self._transport,
        )

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
        """Record the verification steps and the hit's outcome at the hub; journaled.

        An outcome of action_taken needs all three steps (the policy); a refusal, here
        or at the hub, is journaled too and raised with the reason.
        """
        if outcome not in ALERT_OUTCOMES:
            raise KnownError(
                f"'{outcome}' is not an alert outcome; choose one of: {', '.join(ALERT_OUTCOMES)}"
            )
        self._require_session()
        request = AlertAcknowledgeCreate(
            visual_confirmed=visual_confirmed,
            state_match=state_match,
            entry_confirmed=entry_confirmed,
            outcome=AlertOutcome(outcome),
            note=note,
        )
        params: dict[str, Any] = request.model_dump(mode="json")
        refs: dict[str, Any] = {"alert_id": alert_id}
        problem = acknowledgement_problem(request)
        try:
            if problem is not None:
                raise PolicyRefusal(problem)
            done = self.client.acknowledge_alert(alert_id, request)
        except (PolicyRefusal, HubRefused):
            with self._journaled(
                "alert.acknowledge", object_refs=refs, params=params, outcome="refused"
            ):
                pass
            raise
        refs.update(case_number=done.case_number, read_id=done.read_id, entry_id=done.entry_id)
        with self._journaled("alert.acknowledge", object_refs=refs, params=params):
            pass
        return alert_record(done)

    def save_search(self, *, name: str, query: SearchQuery) -> SavedSearch:
        """Keep a search under a name for its case (the case and purpose are not saved)."""
        name = " ".join(name.split())
        if not name:
            raise KnownError("Give the saved search a name.")
        self._require_session()
        kept = {
            k: v for k, v in query_to_dict(query).items() if k not in ("case_number", "purpose")
        }
        refs = {"case_number": query.case_number}
        with self._journaled("search.save", object_refs=refs, params={"name": name, **kept}) as db:
            saved_id = ReviewRepository(db).save_search(
                case_number=query.case_number, name=name, query=kept
            )
        return next(
            s for s in self.saved_searches(case_number=query.case_number) if s.saved_id == saved_id
        )

    def saved_searches(self, *, case_number: str) -> list[SavedSearch]:
        self._require_session()
        return ReviewRepository(self.db()).saved_searches(case_number=case_number)

    def delete_saved_search(self, saved_id: int) -> None:
        self._require_session()
        with self._journaled("search.unsave", params={"saved_id": saved_id}) as db:
            if not ReviewRepository(db).delete_saved_search(saved_id):
                raise KnownError("That saved search no longer exists.")

    def read(self, read_id: str) -> ReadRecord:
        self._require_session()
        record = ReadRepository(self.db()).get(read_id)
        if record is None:
            raise KnownError(f"The read {read_id} is not in this cache (it may have been purged).")
        return record

    def image(self, sha256: str, *, read_id: str) -> bytes:
        """A read's image or plate crop: from the cache, or fetched from the hub and kept."""
        self._require_session()
        repo = ReadRepository(self.db())
        if not repo.uses_image(read_id, sha256):
            raise KnownError("That image does not belong to a read in this cache.")
        data = repo.image(sha256)
        fetched = data is None
        if data is None:
            data = self.client.image(sha256)
        with self._journaled(
            "image.view", object_refs={"read_id": read_id, "image_sha256": sha256}
        ) as db:
            if fetched:
                ReadRepository(db).put_image(sha256, data)
        return data

    def plate_crop(self, read_id: str) -> bytes | None:
        """The plate crop shown beside a result row: cached, or fetched once and kept.

        None when it is not cached and the hub cannot be reached (the row shows no
        thumbnail; nothing fails). Not journaled on its own: the crop belongs to a
        result row, which was journaled with its search; opening the read's image
        is journaled as a view (`image`).
        """
        self._require_session()
        repo = ReadRepository(self.db())
        sha256 = repo.crop_sha256(read_id)
        if sha256 is None:
            raise KnownError("That read is not in this cache.")
        data = repo.image(sha256)
        if data is None:
            try:
                data = self.client.image(sha256)
            except HubUnreachable:
                return None
            repo.put_image(sha256, data)
        return data

    def alert_images(self, alert: AlertRecord) -> tuple[bytes, bytes] | None:
        """The scene and plate crop behind a hotlist alert, for the visual confirmation
        the policy requires: from the cache when the read is there, else from the hub
        (not kept: the read is not in a slice). Journaled as a view of the alert's
        read. None once the hub has purged the read."""
        self._require_session()
        if alert.image_sha256 is None or alert.crop_sha256 is None:
            return None
        repo = ReadRepository(self.db())
        images = []
        for sha256 in (alert.image_sha256, alert.crop_sha256):
            data = repo.image(sha256)
            images.append(self.client.image(sha256) if data is None else data)
        refs = {"alert_id": alert.alert_id, "read_id": alert.read_id,
                "image_sha256": alert.image_sha256}  # fmt: skip
        with self._journaled("image.view", object_refs=refs):
            pass
        return images[0], images[1]

    # evidence export -------------------------------------------------------------
    def device_public_key(self) -> str:
        """This device's packet-signing public key (base64 of its 32 raw bytes)."""
        return public_key_b64(self._signing_key())

    def _signing_key(self) -> Ed25519PrivateKey:
        """The device key; a profile registered before device keys existed gets one now
        (the hub does not know that late key yet)."""
        raw = self._secrets().device_key(create=True)
        assert raw is not None
        return private_key(raw)

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
        """Write the case's evidence (reads marked 'evidence') as a signed BagIt packet.

        Images not yet cached are fetched first (journaled as views, as any fetch is).
        Holds not yet at the hub are sent first, and an evidence technician's or a
        supervisor's export confirms the reads' proposed holds. `redactions` (by read
        id) make derived copies of the scene images. The hub's own events about the
        case's evidence go into the custody record when the hub answers. The start is
        journaled (so the packet's custody and audit excerpt hold it), and so is the
        end: "export.packet" with the packet id, the read count and the SHA-256 of the
        signed tag manifest, or its cancellation or failure. A receipt for the hub is
        queued with the end and sent at once (offline: at the next contact).
        `progress` and `cancel` are for a worker thread.
        """
        session = self._require_session()
        redactions = dict(redactions or {})
        db = self.db()
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
        self._confirm_holds(case_number, read_ids)
        hub_custody = self._hub_custody(case_number, set(read_ids))
        originals: list[Original] = []
        for record in records:
            for kind, sha in (("scene", record.image_sha256), ("crop", record.crop_sha256)):
                if not sha:
                    continue
                if repo.image(sha) is None:
                    self.image(sha, read_id=record.read_id)
                originals.append(
                    Original(
                        name=f"{record.read_id}-{kind}.jpg",
                        sha256=sha,
                        load=_image_loader(repo, sha),
                        read_id=record.read_id,
                        kind=kind,
                    )
                )
        derived = {
            f"{read_id}-scene.jpg": Derived(
                name=f"{read_id}-scene.derived.png", make=_deriver(spec)
            )
            for read_id, spec in redactions.items()
            if not spec.is_identity
        }
        packet_id = uuid.uuid4().hex
        refs = {"case_number": case_number, "packet_id": packet_id}
        start_params: dict[str, Any] = {"packet_id": packet_id, "reads": read_ids}
        if derived:
            start_params["derived"] = {
                read_id: [region.as_text() for region in spec.regions]
                for read_id, spec in redactions.items()
            }
        with self._journaled("export.start", object_refs=refs, params=start_params):
            pass
        custody, excerpt = self._custody(
            case_number=case_number, read_ids=set(read_ids), packet_id=packet_id
        )
        reads = [
            {
                **_read_fields(record),
                "review_marks": [_mark_fields(m) for m in marks if m.read_id == record.read_id],
            }
            for record in records
        ]
        info = PacketInfo(
            packet_id=packet_id,
            case_number=case_number,
            organization=f"Platedesk hub at {self._hub_url or 'unknown'}",
            exporting_user=session.username,
            device_id=session.device_id,
            software_version=f"Platedesk {app_version}",
            bagged_at=datetime.now(UTC),
        )
        try:
            built = write_packet(
                info=info,
                reads=reads,
                originals=originals,
                custody=custody,
                excerpt=excerpt,
                key=self._signing_key(),
                out_dir=out_dir,
                zip=zip,
                derived=derived,
                hub_custody=hub_custody,
                progress=progress,
                cancel=cancel,
            )
        except ExportCancelled:
            with self._journaled("export.packet", object_refs=refs, outcome="cancelled"):
                pass
            raise
        except Exception as exc:
            with self._journaled(
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
        with self._journaled("export.packet", object_refs=refs, params=params) as db:
            EvidenceRepository(db).queue_receipt(
                packet_id=packet_id,
                case_number=case_number,
                body=receipt.model_dump(mode="json"),
            )
        self.deliver_evidence()
        status = EvidenceRepository(self.db()).receipt_status(packet_id) or "pending"
        return dataclasses.replace(built.result, receipt=status)

    def _confirm_holds(self, case_number: str, read_ids: list[str]) -> None:
        """Before an export: every evidence read has a hold requested (marks made before
        holds existed get one now) and sent; a custodian's export confirms proposed holds."""
        session = self._require_session()
        with self.db().atomic() as db:
            repo = EvidenceRepository(db)
            known = {hold.read_id for hold in repo.holds(case_number=case_number)}
            for read_id in read_ids:
                if read_id not in known:
                    repo.request_hold(case_number=case_number, read_id=read_id, note="")
        self.deliver_evidence()
        if session.role not in CUSTODIAN_ROLES:
            return
        wanted = set(read_ids)
        for hold in EvidenceRepository(self.db()).holds(case_number=case_number):
            if hold.read_id not in wanted or hold.status != "proposed" or not hold.hold_id:
                continue
            try:
                confirmed = self.client.confirm_hold(hold.hold_id)
            except (HubUnreachable, SessionEnded, CorruptResponse):
                return  # offline: the packet says which holds stand as proposed
            except HubRefused as exc:
                log.info("a hold was not confirmed: HTTP %s", exc.status)
                continue
            refs = {"case_number": case_number, "read_id": hold.read_id}
            with self._journaled(
                "evidence.hold_confirm", object_refs=refs, params={"hold_id": hold.hold_id}
            ) as db:
                EvidenceRepository(db).set_hold(
                    case_number=case_number,
                    read_id=hold.read_id,
                    status=confirmed.status,
                    hold_id=confirmed.hold_id,
                )

    def _hub_custody(self, case_number: str, read_ids: set[str]) -> HubCustody:
        """The hub's own events about these reads' holds and the case's packets."""
        source = f"audit log of the hub at {self._hub_url}"
        try:
            events = self.client.custody_events(case_number=case_number)
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

    def _custody(
        self, *, case_number: str, read_ids: set[str], packet_id: str
    ) -> tuple[list[dict[str, Any]], AuditExcerpt]:
        """The journal events touching the reads (custody) and the chain segment from the
        first to the last event concerning the case (read by the packet writer as it goes)."""
        journal = self._journal()
        custody: list[dict[str, Any]] = []
        case_seqs: list[int] = []
        after = 0
        while batch := journal.events(after_seq=after, limit=5_000):
            for event in batch:
                refs = event["object_refs"]
                touches = refs.get("read_id") in read_ids or refs.get("packet_id") == packet_id
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

    # journal and retention ----------------------------------------------------
    def journal_status(self, *, full: bool = False) -> JournalStatus:
        """Unsent and delivered events, and whether the chain verifies (`full`: from the start);
        a failed check of the hub's log is among its problems."""
        status = self._journal().status(full=full)
        hub_problem = CatalogRepository(self.db()).get_setting(INTEGRITY_KEY)
        if hub_problem:
            return dataclasses.replace(
                status, chain_ok=False, problems=(*status.problems, hub_problem)
            )
        return status

    def upload_journal(self) -> int:
        """Deliver pending events to the hub; returns how many it acknowledged (0 with
        nothing to send, or no session). Offline the events wait, and HubUnreachable
        (kind unreachable or timed out) says so: the caller decides what offline means."""
        if not self._settings.device_id or self._session is None:
            return 0
        if not self._locked:
            self.deliver_evidence()
        uploader = JournalUploader(
            client=self.client, journal=self._journal(), device_id=self._settings.device_id
        )
        try:
            delivered = uploader.upload()
        except SessionEnded:
            return 0
        if delivered:
            self.verify_hub_log()
        return delivered

    def _upload_if_reachable(self) -> int:
        """Upload as the tail of another action (sign-in, sync, sign-out): offline, or with
        the hub's answer unreadable, the events wait for the next contact."""
        try:
            return self.upload_journal()
        except (HubUnreachable, CorruptResponse) as exc:
            log.info("audit events wait for the next contact with the hub (%s)", exc.kind)
            return 0

    def check_hub(self) -> HubContact:
        """Whether the hub answers now (remote; within 5 s, whatever the hub does).

        Offline is an answer, not a failure: the reason is the error's kind."""
        if not self._hub_url:
            return HubContact(online=False, reason=ErrorKind.UNREACHABLE.value,
                              detail="No hub address is set for this profile.")  # fmt: skip
        try:
            self.client.ping()
        except HubError as exc:
            return HubContact(online=False, reason=exc.kind.value, detail=str(exc))
        return HubContact(online=True, at=self.client.last_contact or datetime.now(UTC))

    def note_contact(self, at: datetime) -> None:
        """Keep when the hub last answered (local), for `status` while offline."""
        CatalogRepository(self.db()).set_setting(LAST_CONTACT_KEY, utc_iso(at))

    def desk_status(self, contact: HubContact) -> DeskStatus:
        """The desk's truth (local) around one check of the hub (`check_hub`)."""
        last: datetime | None = contact.at if contact.online else None
        pending = 0
        session = self._session
        if self._profile_dir is not None and self._settings.profile_id and self.cache_path.exists():
            stored = CatalogRepository(self.db()).get_setting(LAST_CONTACT_KEY)
            if last is None and stored:
                last = parse_utc(stored)
            pending = self._journal().status(full=False).pending
        return DeskStatus(
            hub="online" if contact.online else "offline",
            reason=None if contact.online else contact.reason,
            last_contact=last,
            pending_events=pending,
            user=None if session is None else session.username,
            role=None if session is None else session.role,
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
        db = self.db()
        catalog = CatalogRepository(db)
        stored = catalog.get_setting(CHECKPOINT_KEY)
        last = json.loads(stored) if stored else {}
        proven = int(last.get("proven_through_seq", 0))
        journal = self._journal()
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
        verifier = CheckpointVerifier(self.client)
        try:
            checkpoint = verifier.verify(
                events={event["event_id"]: event["hash"] for event in sample},
                last_checkpoint=(last["tree_size"], last["root_hash"]) if last else None,
                pinned_public_key=last.get("public_key"),
            )
        except (HubUnreachable, CorruptResponse):
            return None
        except IntegrityProblem as problem:
            with self._journaled(
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
        a live session: it only removes data. Journaled when it removed anything.
        """
        cutoff = utc_iso((now or datetime.now(UTC)) - RETENTION)
        db = self.db()
        with db.atomic():
            purged, kept = ReadRepository(db).purge_expired(cutoff=cutoff)
            if purged:
                actor = Actor(
                    self._settings.device_id,
                    self._settings.username,
                    self._session_id or "maintenance",
                )
                JournalRepository(db).append(
                    actor,
                    "retention.purge",
                    params={"cutoff": cutoff, "purged": purged, "kept_on_hold": kept},
                )
        return {"purged": purged, "kept_on_hold": kept}

    def close(self) -> None:
        with self._lock:
            for db in self._connections:
                db.close()
            self._connections.clear()
            self._local = threading.local()
            if self._client is not None:
                self._client.close()
                self._client = None


def _deriver(spec: DerivedSpec) -> Callable[[bytes], DerivedCopy]:
    def make(original: bytes) -> DerivedCopy:
        image = derive(original, spec)
        return DerivedCopy(
            data=image.png, preview_jpeg=image.preview_jpeg, operations=image.operations
        )

    return make


def _image_loader(repo: ReadRepository, sha256: str) -> Callable[[], bytes]:
    def load() -> bytes:
        return repo.image(sha256) or b""

    return load


def _read_fields(record: ReadRecord) -> dict[str, Any]:
    fields = dataclasses.asdict(record)
    fields["captured_at"] = utc_iso(record.captured_at)
    fields["features"] = list(record.features)
    return fields


def _mark_fields(mark: ReviewMark) -> dict[str, Any]:
    fields = dataclasses.asdict(mark)
    fields["marked_at"] = utc_iso(mark.marked_at)
    return fields


def _device_name() -> str:
    import platform

    return f"Platedesk on {platform.node() or 'workstation'}"
