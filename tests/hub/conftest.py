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


@pytest.fixture
def hub(hub_db: str | None, tmp_path: Path) -> Iterator[HubFixture]:
    """A migrated, seeded hub app on a temp data folder, with a controllable clock."""
    settings = fast_settings(tmp_path / "data", hub_db)
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
