"""The shared session every service works over: one profile (one user at one hub), its
settings, its keys in the keyring, its hub client, one cache connection per thread,
and the journal. Signing in, locking and signing out live here too.

Calls block: the window runs them off the GUI thread. Every action is journaled, in
the same transaction as its effect where it has one (`journaled`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from app.cache.catalog import CatalogRepository
from app.cache.connection import DESK, CacheError, Database, cache_files, open_encrypted
from app.cache.journal import Actor, JournalRepository
from app.cache.migrations import migrate
from app.config.paths import current_profile_file, default_profile_dir
from app.config.settings import ProfileSettings, load_settings, save_settings
from app.core.canonical import parse_utc, utc_iso
from app.core.errors import KnownError
from app.core.hub_address import check_hub_address
from app.core.records import SessionInfo
from app.core.schemas import DeviceCreate, LoginRequest, TokenPublic
from app.export.sign import private_key, public_key_b64
from app.services.hub_link import keep_ca, profile_ca
from app.sync.client import HubClient, HubRefused, HubUnreachable
from app.sync.secrets import SecretStore, keyring_is_insecure
from app.sync.tls import CaBundle

log = logging.getLogger(__name__)
CACHE_FILE = "cache.db"


class NotSignedIn(KnownError):
    pass


class SessionLocked(KnownError):
    """The session is locked (idle, or by the user): nothing is served until unlock."""


LOCKED_MESSAGE = "Platedesk is locked; sign in again (password and code) to continue."


class Session:
    """One profile's shared state: what every service of the workstation works over."""

    def __init__(
        self,
        *,
        profile_dir: Path | None,
        hub_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        ca_bundle: CaBundle | None = None,
    ) -> None:
        # None: no profile yet; the first sign-in picks the default one for its user and hub.
        self._profile_dir = profile_dir
        self.settings: ProfileSettings = (
            load_settings(profile_dir) if profile_dir is not None else ProfileSettings()
        )
        self.hub_url = (hub_url or self.settings.hub_url or "").rstrip("/") or None
        # The agency CA bundle the hub's certificate is checked with (None: the system's).
        self.ca_bundle: CaBundle | None = ca_bundle
        if ca_bundle is None and profile_dir is not None:
            self.ca_bundle = profile_ca(profile_dir, self.settings)
        self.transport = transport
        self._client: HubClient | None = None
        # One cache connection per thread, by the thread's id: not a threading.local,
        # which Qt's pool threads lose after each task (PySide gives each task a fresh
        # Python thread state), so every search opened a connection of its own, with
        # a cold page cache, and kept it open until sign-out.
        self._connections: dict[int, Database] = {}
        self.lock = threading.RLock()
        self._migrated = False
        # what opening the cache is busy with, while it is slow (read from other threads)
        self.cache_update: str | None = None
        self.info: SessionInfo | None = None
        self.session_id = ""
        self.locked = False

    # properties ----------------------------------------------------------------
    @property
    def has_profile(self) -> bool:
        return self._profile_dir is not None

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

    def cache_size(self) -> int | None:
        """The cache's size on disk, its two files with their write-ahead logs (local, the
        file system); None when there is no cache yet."""
        if not self.cache_path.exists():
            return None
        sizes = []
        for file in cache_files(self.cache_path):
            with contextlib.suppress(OSError):
                sizes.append(file.stat().st_size)
        return sum(sizes)

    @property
    def idle_lock_seconds(self) -> int:
        """After this long without input the window locks (policy: at most 30 minutes)."""
        return self.settings.idle_lock_minutes * 60

    def set_dark_theme(self, dark: bool) -> None:
        """Keep the user's choice of look in the profile's settings (local)."""
        self._keep_setting(dark_theme=dark)

    @property
    def export_dir(self) -> Path | None:
        """The folder the last evidence packet went to (where the next one starts; local)."""
        return Path(self.settings.export_dir) if self.settings.export_dir else None

    def set_export_dir(self, folder: Path) -> None:
        self._keep_setting(export_dir=str(folder))

    def _keep_setting(self, **values: object) -> None:
        """Change the profile's settings and save them (local)."""
        with self.lock:
            for name, value in values.items():
                setattr(self.settings, name, value)
            if self._profile_dir is not None:
                save_settings(self._profile_dir, self.settings)

    # plumbing --------------------------------------------------------------------
    def secrets(self) -> SecretStore:
        return SecretStore(self.settings.profile_id)

    def client_for(self, hub_url: str) -> HubClient:
        with self.lock:
            if self._client is None or self._client.base_url != hub_url.rstrip("/"):
                if self._client is not None:
                    self._client.close()
                self._client = HubClient(
                    hub_url, transport=self.transport, ca_bundle=self.ca_bundle
                )
                self._client.on_unauthorized = self.renew_access
                self._client.on_device_revoked = self.wipe_revoked_device
                self._client.device_id = self.settings.device_id or None
            return self._client

    @property
    def client(self) -> HubClient:
        if not self.hub_url:
            raise KnownError("No hub address is set for this profile; give one with --hub URL.")
        return self.client_for(self.hub_url)

    def db(self) -> Database:
        """This thread's connection to the cache (opened, and migrated once, on first use)."""
        thread = threading.get_ident()
        db = self._connections.get(thread)
        if db is not None:
            return db
        key = self.secrets().cache_key(create=False) if self.settings.profile_id else None
        if key is None:
            raise CacheError(
                f"The key of the cache in {self.profile_dir} is not in this computer's keyring. "
                "Sign in again; if the problem stays, ask your administrator (unsent audit "
                "events may be in that cache, so do not delete it)."
            )
        db = open_encrypted(self.cache_path, key)
        with self.lock:
            if not self._migrated:
                try:
                    migrate(db, announce=self._announce_cache_update)
                finally:
                    self.cache_update = None
                self._migrated = True
            self._connections[thread] = db
        return db

    def _announce_cache_update(self, message: str) -> None:
        self.cache_update = message

    def actor(self, *, while_locked: bool = False) -> Actor:
        session = self.require(while_locked=while_locked)
        return Actor(session.device_id, session.username, self.session_id)

    def maintenance_actor(self) -> Actor:
        """The actor of work that runs without a live session (e.g. the retention purge)."""
        return Actor(
            self.settings.device_id, self.settings.username, self.session_id or "maintenance"
        )

    def journal(self) -> JournalRepository:
        return JournalRepository(self.db())

    @contextmanager
    def journaled(
        self,
        action: str,
        *,
        object_refs: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        outcome: str = "ok",
        while_locked: bool = False,
        mirror: bool = False,
    ) -> Iterator[Database]:
        """A transaction whose effect and whose journal event commit together.

        It writes the desk file alone, so it does not wait for a sync, unless `mirror`
        says the effect writes what the hub sent too (a slice, reads, images): then it
        takes both files, the mirror first, and SQLite commits the desk, with the
        event, before the mirror (a crash between leaves an event whose effect is
        missing, never an effect without its event)."""
        db = self.db()
        with db.atomic() if mirror else db.atomic(only=DESK):
            yield db
            JournalRepository(db).append(
                self.actor(while_locked=while_locked),
                action,
                object_refs=object_refs,
                params=params,
                outcome=outcome,
            )

    def require(self, *, while_locked: bool = False) -> SessionInfo:
        session = self.info
        if session is None:
            raise NotSignedIn("You are not signed in; sign in to the hub first.")
        if self.locked and not while_locked:
            raise SessionLocked(LOCKED_MESSAGE)
        if session.session_expires_at <= datetime.now(UTC):
            raise NotSignedIn(
                "Your session is over (a full sign-in is required every 12 hours); sign in again."
            )
        return session

    def use_hub(
        self, hub_url: str, ca_bundle: CaBundle | None, *, profile_dir: Path | None = None
    ) -> None:
        """Talk to this hub, trusting this CA bundle, from now on (local). A profile that
        has none yet takes `profile_dir`; one that belongs to a user at another hub refuses."""
        hub = check_hub_address(hub_url)
        with self.lock:
            if self._profile_dir is None and profile_dir is not None:
                self._profile_dir = profile_dir
                self.settings = load_settings(profile_dir)
            settings = self.settings
            if settings.username and settings.hub_url and settings.hub_url != hub:
                raise KnownError(
                    f"This profile ({self.profile_dir}) belongs to {settings.username} at "
                    f"{settings.hub_url}; give another profile folder (--profile DIR) for {hub}."
                )
            if self._profile_dir is not None:
                keep_ca(self._profile_dir, settings, ca_bundle)
                settings.hub_url = hub
                save_settings(self._profile_dir, settings)
                _remember_profile(self._profile_dir)
            self.hub_url, self.ca_bundle = hub, ca_bundle
            old, self._client = self._client, None
            if old is not None:  # the next request trusts the new bundle; a session goes on
                token = old.access_token
                old.close()
                if token and self.info is not None:
                    self.client_for(hub).access_token = token

    # session -------------------------------------------------------------------
    def resume(self) -> bool:
        """Pick up a session kept from an earlier run, if its tokens are still in the
        keyring (local); True when it did."""
        if not (self.settings.username and self._profile_dir is not None):
            return False
        if not self.cache_path.exists():
            return False
        access, refresh = self.secrets().tokens()
        if not refresh:
            return False
        stored = CatalogRepository(self.db()).get_setting("session")
        if stored is None:
            return False
        data = json.loads(stored)
        self.session_id = data["session_id"]
        self.info = SessionInfo(
            username=data["username"],
            display_name=data["display_name"],
            role=data["role"],
            hub_url=self.settings.hub_url,
            device_id=self.settings.device_id,
            session_expires_at=parse_utc(data["session_expires_at"]),
            insecure_keyring=keyring_is_insecure(),
        )
        self.client.access_token = access
        return True

    def renew_access(self) -> str | None:
        """Called on a 401: rotate the refresh token for a new access token, or give up."""
        with self.lock:
            _, refresh = self.secrets().tokens()
            if not refresh or not self.hub_url:
                return None
            client = HubClient(self.hub_url, transport=self.transport, ca_bundle=self.ca_bundle)
            try:
                token = client.refresh(refresh)
            except (HubRefused, HubUnreachable):
                return None
            finally:
                if self.transport is None:  # an injected transport is the caller's to close
                    client.close()
            self.secrets().set_tokens(access=token.access_token, refresh=token.refresh_token)
            return token.access_token

    def login(
        self, *, username: str, password: str, totp: str, hub_url: str | None = None
    ) -> SessionInfo:
        """Sign in with password and code (remote); creates the profile's key and cache
        the first time."""
        hub = (hub_url or self.hub_url or "").rstrip("/")
        if not hub:
            raise KnownError("Give the hub's address (e.g. https://hub.example:8750) to sign in.")
        if self._profile_dir is None:
            self._profile_dir = default_profile_dir(username=username, hub_url=hub)
            self.settings = load_settings(self._profile_dir)
        settings = self.settings
        if settings.username and (settings.username != username or settings.hub_url != hub):
            raise KnownError(
                f"This profile ({self.profile_dir}) belongs to {settings.username} at "
                f"{settings.hub_url}; use another profile folder for {username} at {hub}."
            )
        client = self.client_for(hub)
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
        if self.ca_bundle is not None and not settings.hub_ca_file:
            keep_ca(self.profile_dir, settings, self.ca_bundle)  # chosen before the profile was
        settings.hub_url, settings.username = hub, username
        self.hub_url = hub
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
        self._start(token)
        _remember_profile(self.profile_dir)
        assert self.info is not None
        return self.info

    def _start(self, token: TokenPublic) -> None:
        self.session_id = uuid.uuid4().hex
        self.info = SessionInfo(
            username=token.user.username,
            display_name=token.user.display_name,
            role=token.user.role.value,
            hub_url=self.settings.hub_url,
            device_id=self.settings.device_id,
            session_expires_at=token.session_expires_at,
            insecure_keyring=keyring_is_insecure(),
        )
        stored = {
            "session_id": self.session_id,
            "username": token.user.username,
            "display_name": token.user.display_name,
            "role": token.user.role.value,
            "session_expires_at": utc_iso(token.session_expires_at),
        }
        with self.journaled("session.sign_in", params={"role": token.user.role.value}) as db:
            CatalogRepository(db).set_setting("session", json.dumps(stored))

    def _journal_failed_sign_in(self, username: str, exc: HubRefused) -> None:
        """A failed sign-in is journaled when this profile already has a cache to hold it."""
        if not (self.settings.device_id and self.cache_path.exists()):
            return
        try:
            JournalRepository(self.db()).append(
                Actor(self.settings.device_id, username, self.session_id or "none"),
                "session.sign_in_failed",
                params={"status": exc.status},
                outcome="refused",
            )
        except CacheError:
            log.warning("a failed sign-in could not be journaled: the cache is unavailable")

    def lock_session(self) -> None:
        """Lock the session (local): no data is served until `unlock` re-authenticates."""
        if self.info is None or self.locked:
            return
        with self.journaled("session.lock"):
            pass
        self.locked = True

    def unlock(self, *, password: str, totp: str) -> SessionInfo:
        """Sign in again as the same user (password and code) and lift the lock (remote)."""
        session = self.require(while_locked=True)
        request = LoginRequest(username=session.username, password=password, totp=totp)
        try:
            token = self.client.login(request)
        except HubRefused as exc:
            with self.journaled("session.unlock", outcome="refused", while_locked=True):
                pass
            raise KnownError(str(exc)) from exc
        self.secrets().set_tokens(access=token.access_token, refresh=token.refresh_token)
        self.client.access_token = token.access_token
        self.locked = False
        self._start(token)
        return self.info or session

    def wipe_revoked_device(self) -> None:
        """The hub revoked this device: remove its cache and keys, then stop serving."""
        profile_id = self.settings.profile_id
        with self.lock:
            self._close_connections()
            self._migrated = False
            if self._profile_dir is not None:
                for path in self._profile_dir.glob(CACHE_FILE + "*"):
                    path.unlink(missing_ok=True)
            if profile_id:
                SecretStore(profile_id).wipe()
            self.settings.device_id = ""
            if self._client is not None:
                self._client.device_id = None
            if self._profile_dir is not None:
                save_settings(self._profile_dir, self.settings)
            self.info = None
        log.warning("this device was revoked at the hub: cache and keys wiped")

    def journal_sign_out(self) -> bool:
        """Journal the sign-out (local); False when no one is signed in."""
        if self.info is None:
            return False
        with self.journaled("session.sign_out"):
            pass
        return True

    def end(self) -> None:
        """Tell the hub of the sign-out (remote, best effort) and remove the tokens."""
        secrets = self.secrets()
        _, refresh = secrets.tokens()
        if refresh:
            try:
                self.client.logout(refresh)
            except (HubRefused, HubUnreachable):
                log.info("the hub could not be told of the sign-out; the tokens are removed here")
        secrets.clear_tokens()
        self.info = None

    def _close_connections(self) -> None:
        for db in self._connections.values():
            db.close()
        self._connections.clear()

    def close(self) -> None:
        with self.lock:
            self._close_connections()
            if self._client is not None:
                self._client.close()
                self._client = None


def _remember_profile(profile_dir: Path) -> None:
    """The profile commands and the window open when none is named."""
    current_profile_file().parent.mkdir(parents=True, exist_ok=True)
    current_profile_file().write_text(str(profile_dir.resolve()), encoding="utf-8")


def _device_name() -> str:
    import platform

    return f"Platedesk on {platform.node() or 'workstation'}"
