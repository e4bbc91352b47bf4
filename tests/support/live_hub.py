"""A real hub process on loopback (SQLite or PostgreSQL), seeded, for end-to-end tests."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.demo import HubProcess, running_hub, seed_hub, totp_now
from app.workstation import Workstation

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
SEED_ARGS = ["--cameras", "3", "--days", "2", "--reads-per-day", "120", "--seed", "11"]


@dataclass
class SeededHub:
    url: str
    data: Path
    db: str | None
    seeded: dict[str, Any]
    process: HubProcess

    def user(self, role: str) -> dict[str, Any]:
        return next(u for u in self.seeded["users"] if u["role"] == role)

    def case_for(self, username: str) -> str:
        return str(
            next(c["case_number"] for c in self.seeded["cases"] if username in c["assigned"])
        )

    def hub_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "hub.cli", *args, "--data", str(self.data)]
        if self.db:
            command += ["--db", self.db]
        return subprocess.run(command, capture_output=True, text=True, check=False)


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def hub_db(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None for the embedded SQLite default, or the URL of a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield None
        return
    psycopg = pytest.importorskip("psycopg")
    name = f"platedesk_e2e_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable on 127.0.0.1:5432: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def seeded_hub(hub_db: str | None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededHub]:
    data = tmp_path_factory.mktemp("hub")
    seeded = seed_hub(data, db=hub_db, extra=SEED_ARGS)
    with running_hub(data, db=hub_db) as process:
        yield SeededHub(process.url, data, hub_db, seeded, process)


def run_cli(
    *args: str, stdin: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`platedesk ARGS` as a user runs it, in its own process."""
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def cli_json(*args: str, stdin: str | None = None) -> Any:
    done = run_cli(*args, "--json", stdin=stdin)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


JUSTIFICATION = "Vehicle seen leaving the pharmacy robbery on Lincolnway, find its route"


def signed_in(seeded_hub: SeededHub, role: str, profile: Path) -> Workstation:
    """The seeded user of `role` signed in at the hub on the profile folder given; the
    caller closes the workstation."""
    user = seeded_hub.user(role)
    workstation = Workstation.open(profile_dir=profile, hub_url=seeded_hub.url)
    workstation.login(
        username=user["username"], password=user["password"], totp=totp_now(user["totp_secret"])
    )
    return workstation


@pytest.fixture
def synced_workstation(seeded_hub: SeededHub, tmp_path: Path) -> Iterator[tuple[Workstation, str]]:
    """The demo detective signed in, with a slice of their case synced; (workstation, case)."""
    workstation = signed_in(seeded_hub, "detective", tmp_path / "profile")
    case = seeded_hub.case_for(seeded_hub.user("detective")["username"])
    now = datetime.now(UTC)
    created = workstation.slices.request(
        case_number=case,
        purpose="robbery",
        justification=JUSTIFICATION,
        time_from=now - timedelta(days=5),
        time_to=now,
    )
    workstation.sync(slice_id=created.slice_id)
    yield workstation, case
    workstation.close()


def confirm_holds(seeded_hub: SeededHub, profile: Path, case: str, read_ids: list[str]) -> None:
    """The case's evidence technician, on a profile of their own, confirms the proposed
    holds on these reads (a packet holds the case's confirmed evidence: issue 22)."""
    technician = signed_in(seeded_hub, "evidence_technician", profile)
    try:
        technician.evidence.confirm(case_number=case, read_ids=read_ids)
    finally:
        technician.close()
