"""Hub settings: where the data lives, which database, and the agency's policy figures.

The hub secret is not a setting: `platedesk-hub init` writes 32 random bytes to
DATA/hub-secret.key (mode 0600) and the hub refuses to start without it.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.core.errors import KnownError
from app.core.policy import RETENTION
from app.core.purposes import DEFAULT_CASE_NUMBER_PATTERN

SECRET_FILE_NAME = "hub-secret.key"  # noqa: S105 (a file name)
SECRET_LENGTH = 32
DB_FILE_NAME = "hub.sqlite3"
IMAGES_DIR_NAME = "images"
# Where `init --image-store` records the object store's URL (bucket and prefix, no keys).
IMAGE_STORE_FILE_NAME = "image-store.url"
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_PREFIX_RE = re.compile(r"^[A-Za-z0-9!_.*'()/\-]*$")


class HubSettings(BaseSettings):
    """Every figure the hub reads at start; `PLATEDESK_HUB_*` variables override them."""

    model_config = SettingsConfigDict(env_prefix="PLATEDESK_HUB_", extra="forbid")

    data_dir: Path
    database_url: str | None = None  # None: SQLite at DATA/hub.sqlite3
    retention_days: int = Field(default=RETENTION.days, ge=1, le=3650)
    case_number_pattern: str = DEFAULT_CASE_NUMBER_PATTERN
    slice_read_limit: int = Field(default=2_000_000, ge=1)
    # Request bodies: camera ingest carries two JPEGs (base64); everything else is small.
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    max_ingest_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    # Password hashing cost; production keeps argon2-cffi's defaults.
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_cost: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)
    # TOTP codes of this many 30 s steps before and after the current one are taken
    # (clock drift between the hub and the user's app); each code is taken once.
    totp_drift_steps: int = Field(default=1, ge=0, le=10)
    # The daily retention purge inside `serve` (hub.jobs); the tests turn it off.
    retention_job: bool = True
    # On PostgreSQL, hear of the other nodes' new alerts and session changes (hub.notify:
    # LISTEN/NOTIFY); off, alert streams poll as on SQLite (the benchmark's baseline).
    listen_for_changes: bool = True
    # Camera ingest refuses reads captured more than this far ahead of the hub's clock
    # (the cameras' clocks drift; a read from the future would outlive retention).
    capture_clock_skew_seconds: int = Field(default=300, ge=0, le=86_400)
    # Threads that write ingested images (hub.images.ImageStore); 0: the request's own.
    # On an object store 0 means hub.images.S3_THREADS (its writes wait on the network).
    image_writer_threads: int = Field(default=0, ge=0, le=64)
    # The image store: None, the one `init` recorded in DATA (image_store_url), or the
    # data folder's; s3://BUCKET[/PREFIX]: that bucket of the S3 API that
    # AWS_ENDPOINT_URL names, with the keys of AWS_ACCESS_KEY_ID and
    # AWS_SECRET_ACCESS_KEY (never kept in settings).
    image_store: str | None = None

    @property
    def secret_path(self) -> Path:
        return self.data_dir / SECRET_FILE_NAME

    @property
    def images_dir(self) -> Path:
        return self.data_dir / IMAGES_DIR_NAME

    @property
    def image_store_path(self) -> Path:
        return self.data_dir / IMAGE_STORE_FILE_NAME

    @property
    def image_store_url(self) -> str | None:
        """s3://BUCKET[/PREFIX] (checked), or None for the data folder's store."""
        url = self.image_store
        if url is None:
            try:
                url = self.image_store_path.read_text(encoding="utf-8").strip() or None
            except FileNotFoundError:
                return None
        if url is not None:
            s3_location(url)
        return url

    @property
    def sqlalchemy_url(self) -> str:
        return normalize_database_url(self.database_url, self.data_dir)


def normalize_database_url(url: str | None, data_dir: Path) -> str:
    """The SQLAlchemy URL for a --db value: SQLite by default, psycopg 3 for PostgreSQL."""
    if not url:
        return f"sqlite:///{(data_dir / DB_FILE_NAME).resolve()}"
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith("sqlite:///"):
        return url
    raise KnownError(
        "The database URL must start with postgresql:// or sqlite:/// "
        "(or leave --db out to use SQLite in the data folder)."
    )


def s3_location(url: str) -> tuple[str, str]:
    """The bucket and the key prefix ('' or ending in '/') of s3://BUCKET[/PREFIX]."""
    rest = url[len("s3://") :] if url.startswith("s3://") else None
    bucket, _slash, prefix = (rest or "").partition("/")
    prefix = prefix.strip("/")
    if rest is None or not _BUCKET_RE.match(bucket) or not _PREFIX_RE.match(prefix):
        raise KnownError(
            f"The image store {url!r} is not of the form s3://BUCKET or s3://BUCKET/PREFIX "
            "(a bucket name of 3-63 lower-case letters, digits, dots and hyphens); "
            "give one of those, or leave --image-store out to keep images in the data folder."
        )
    return bucket, f"{prefix}/" if prefix else ""


def record_image_store(settings: HubSettings, url: str) -> bool:
    """Record `url` as the hub's image store (init); True when it was not recorded yet.

    A data folder keeps the store it was set up with: another one is refused (its
    reads name images that the new one lacks)."""
    s3_location(url)
    path = settings.image_store_path
    try:
        recorded: str | None = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        recorded = None
    if recorded == url:
        return False
    if recorded is not None:
        raise KnownError(
            f"This hub keeps its images in {recorded}, not {url}; copy the images over "
            f"and edit {path} to move them, or run init on a new data folder."
        )
    path.write_text(url + "\n", encoding="utf-8")
    return True


def database_kind(url: str) -> str:
    """'sqlite' or 'postgresql'."""
    return "postgresql" if url.startswith("postgresql") else "sqlite"


def create_secret(path: Path) -> bool:
    """Write a new hub secret unless one exists; True when one was written."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(secrets.token_bytes(SECRET_LENGTH))
    return True


def load_secret(settings: HubSettings) -> bytes:
    """The hub secret; KnownError when `init` has not been run or the file is damaged."""
    path = settings.secret_path
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise KnownError(
            f"The hub secret {path} is missing; run platedesk-hub init first."
        ) from None
    if len(data) != SECRET_LENGTH:
        raise KnownError(
            f"The hub secret {path} is damaged (it must hold {SECRET_LENGTH} bytes); "
            "restore it from backup or run platedesk-hub init on a new data folder."
        )
    return data
