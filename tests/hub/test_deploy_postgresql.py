"""docs/deploy/postgresql-*.sql on the local PostgreSQL: the hub, connected as the role
they make, initializes, writes reads and audit events and verifies its log; the same
role cannot UPDATE, DELETE, TRUNCATE, ALTER or DROP the audit table, nor rewrite its
append-only trigger."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from hub import cli
from tests.hub.hub_support import PG_ADMIN, pg_reachable

pytestmark = pytest.mark.postgres

DOCS = Path(__file__).resolve().parents[2] / "docs" / "deploy"
REFUSALS = (
    "UPDATE audit_events SET outcome = 'edited'",
    "DELETE FROM audit_events",
    "TRUNCATE audit_events",
    "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
    "DROP TABLE audit_events",
    "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS "
    "$$ BEGIN RETURN NEW; END; $$ LANGUAGE plpgsql",
)


def _psql(script: str, names: dict[str, str]) -> None:
    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("psql is not installed here (postgresql-client)")
    variables = [arg for key, value in names.items() for arg in ("-v", f"{key}={value}")]
    done = subprocess.run(
        [psql, PG_ADMIN, "-X", "-q", "-v", "ON_ERROR_STOP=1", *variables, "-f", str(DOCS / script)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture
def names() -> Iterator[dict[str, str]]:
    if not pg_reachable():
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    suffix = uuid.uuid4().hex[:8]
    made = {
        "database": f"platedesk_deploy_{suffix}",
        "hub_role": f"platedesk_{suffix}",
        "admin_role": f"platedesk_admin_{suffix}",
        "hub_password": f"pw-{suffix}",
    }
    yield made
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        for database in (made["database"], made["database"] + "_restored"):
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        for role in (made["hub_role"], made["admin_role"]):
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_the_hub_role_cannot_rewrite_the_audit_log(
    names: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _psql("postgresql-setup.sql", names)
    url = (
        f"postgresql://{names['hub_role']}:{names['hub_password']}@127.0.0.1:5432/"
        f"{names['database']}"
    )
    common = ["--data", str(tmp_path / "hub"), "--db", url, "--json"]
    assert cli.main(["init", *common]) == 0
    _psql("postgresql-audit-owner.sql", names)

    # The hub at work as that role: reads in day partitions, audit events, checks.
    bulk = ["--cameras", "1", "--days", "2", "--reads-per-day", "5", "--bulk"]
    assert cli.main(["simulate", *common, *bulk]) == 0
    assert cli.main(["feed", "add", "--name", "gate", *common]) == 0
    camera = ["--camera-id", "CAM-77", "--name", "Gate", "--agency", "PD", "--direction", "N"]
    assert (
        cli.main(["camera", "add", *camera, "--latitude", "41", "--longitude", "-104", *common])
        == 0
    )
    assert cli.main(["audit-checkpoint", *common]) == 0
    capsys.readouterr()
    assert cli.main(["audit-verify", *common]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["chains_ok"] is True
    assert report["events"] >= 2

    with psycopg.connect(url, autocommit=True) as hub_role:
        for statement in REFUSALS:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                hub_role.execute(statement)
        count = hub_role.execute("SELECT count(*) FROM audit_events").fetchone()
    assert count is not None
    assert count[0] == report["events"]

    # A backup the hub role takes (pg_dump) restores, as that role, into a new database
    # made by the same steps, and verifies there.
    assert cli.main(["backup", str(tmp_path / "backup"), *common]) == 0
    assert json.loads(capsys.readouterr().out)["method"] == "pg_dump"
    second = {**names, "database": names["database"] + "_restored"}
    _psql("postgresql-setup.sql", second)
    restored = ["--data", str(tmp_path / "restored"), "--db", url + "_restored", "--json"]
    assert cli.main(["restore", str(tmp_path / "backup"), *restored]) == 0, capsys.readouterr()
    _psql("postgresql-audit-owner.sql", second)
    capsys.readouterr()
    assert cli.main(["audit-verify", *restored]) == 0
    assert json.loads(capsys.readouterr().out)["events"] == report["events"] + 1  # restore
    with (
        psycopg.connect(url + "_restored", autocommit=True) as hub_role,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        hub_role.execute("DELETE FROM audit_events")
