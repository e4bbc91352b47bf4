"""`platedesk-hub user|camera|case|hotlist` administration, run in-process over the
seeded hub (SQLite and PostgreSQL): each change is what the API and the audit log
then show, and bad input is one line on stderr, exit code 1, nothing changed."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from hub import cli
from hub.core.config import create_secret
from hub.core.db import Database, migrate
from hub.core.security import PasswordService
from hub.db.tables import audit_events, cases
from hub.main import create_app
from tests.hub.hub_support import (
    CASE,
    OTHER_CASE,
    PASSWORD,
    FakeClock,
    HubFixture,
    fast_settings,
    seed_small,
)


@pytest.fixture
def hub(hub_db: str | None, tmp_path: Path) -> Iterator[HubFixture]:
    """The seeded hub of tests/hub/conftest.py with a handful of reads: these commands
    administer users, cameras and cases, not reads."""
    settings = fast_settings(tmp_path / "data", hub_db)
    settings.data_dir.mkdir()
    create_secret(settings.secret_path)
    database = Database(settings.sqlalchemy_url)
    migrate(database)
    clock = FakeClock()
    with TestClient(create_app(settings, database=database, clock=clock)) as client:
        fixture = HubFixture(settings, database, client, clock, totp={})
        seed_small(fixture, PasswordService(settings), count=4)
        yield fixture
    database.dispose()


class Cli:
    """`platedesk-hub ARGS --data D [--db URL] --json` in this process."""

    def __init__(self, hub: HubFixture, capsys: pytest.CaptureFixture[str]) -> None:
        self.hub = hub
        self.capsys = capsys
        self.common = ["--data", str(hub.settings.data_dir), "--json"]
        if hub.settings.database_url:
            self.common += ["--db", hub.settings.database_url]

    def run(self, *args: str) -> tuple[int, str, str]:
        code = cli.main([*args, *self.common])
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def sentence(self, *args: str) -> str:
        """What a person at a terminal reads (no --json, standard output a terminal)."""
        common = [arg for arg in self.common if arg != "--json"]
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("sys.stdout.isatty", lambda: True)
            code = cli.main([*args, *common])
        captured = self.capsys.readouterr()
        assert code == 0, captured.err
        return captured.out

    def ok(self, *args: str) -> Any:
        code, out, err = self.run(*args)
        assert code == 0, err
        return json.loads(out)

    def refused(self, *args: str) -> str:
        """The one line on stderr of a refused command."""
        code, out, err = self.run(*args)
        assert (code, out) == (1, ""), err
        assert err.count("\n") == 1
        assert err.startswith("platedesk-hub: ")
        assert "Traceback" not in err
        return err

    def audit(self, prefix: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
        """(action, object refs, params) of the hub's events of these actions, in order."""
        with self.hub.database.read() as connection:
            rows = connection.execute(
                sa.select(audit_events.c.action, audit_events.c.object_refs,
                          audit_events.c.params, audit_events.c.username)
                .where(audit_events.c.action.startswith(prefix))
                .order_by(audit_events.c.row_id)
            ).all()  # fmt: skip
        assert {row.username for row in rows} <= {cli.HUB_CLI}
        return [(row.action, json.loads(row.object_refs), json.loads(row.params)) for row in rows]


@pytest.fixture
def run(hub: HubFixture, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(hub, capsys)


def _login_status(hub: HubFixture, username: str) -> int:
    reply = hub.client.post(
        "/api/v1/auth/login",
        json={"username": username, "password": PASSWORD, "totp": hub.code(username)},
    )
    return reply.status_code


def test_user_commands(run: Cli, hub: HubFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("violet-harbor-kettle\n"))
    added = run.ok(
        "user", "add", "--username", "kim", "--role", "Detective", "--display-name", "Pat Kim",
        "--unit", "Patrol East",
    )  # fmt: skip
    assert (added["username"], added["role"], added["unit"]) == ("kim", "detective", "Patrol East")
    pyotp.TOTP(added["totp_secret"]).now()

    assert run.ok("user", "lock", "--username", "detective")["locked"] is True
    assert _login_status(hub, "detective") == 423
    assert run.ok("user", "unlock", "--username", "detective") == {
        "username": "detective",
        "locked": False,
    }
    assert _login_status(hub, "detective") == 200

    old_secret = hub.totp["detective"]
    reset = run.ok("user", "reset-totp", "--username", "detective")
    assert reset["totp_secret"] != old_secret
    assert reset["provisioning_uri"].startswith("otpauth://totp/")
    assert _login_status(hub, "detective") == 401  # the old authenticator's codes fail
    hub.totp["detective"] = reset["totp_secret"]
    hub.last_steps.pop("detective", None)
    assert _login_status(hub, "detective") == 200

    until = (datetime.now(UTC).date() + timedelta(days=200)).isoformat()
    trained = run.ok("user", "set-training", "--username", "kim", "--until", until)
    assert trained["training_valid_until"] == until
    assert run.ok("user", "set-unit", "--username", "kim", "--unit", "none")["unit"] is None
    promoted = run.ok("user", "set-role", "--username", "kim", "--role", "supervisor")
    assert promoted["role"] == "supervisor"

    assert "'chief' is not a role" in run.refused(
        "user", "set-role", "--username", "kim", "--role", "chief"
    )
    for verb in ("lock", "unlock", "reset-totp"):
        assert "No user named nobody" in run.refused("user", verb, "--username", "nobody")
    assert "No user named nobody" in run.refused(
        "user", "set-role", "--username", "nobody", "--role", "detective"
    )
    assert "must be a date" in run.refused(
        "user", "set-training", "--username", "kim", "--until", "next week"
    )
    # The only administrator with current training keeps the role.
    assert "no administrator able to sign in" in run.refused(
        "user", "set-role", "--username", "admin", "--role", "detective"
    )
    assert [action for action, _, _ in run.audit("admin.")] == [
        "admin.user_create",
        "admin.totp_reset",
        "admin.training_set",
        "admin.unit_set",
        "admin.role_set",
    ]
    assert [action for action, _, _ in run.audit("auth.lock")] == ["auth.lock"]
    role_set = run.audit("admin.role_set")[0]
    assert role_set[1:] == ({"username": "kim"}, {"old": "detective", "new": "supervisor",
                                                   "sessions_ended": 0})  # fmt: skip


def test_camera_commands(run: Cli, hub: HubFixture) -> None:
    added = run.ok(
        "camera", "add", "--camera-id", "CAM-900", "--name", "Lincolnway & 5th",
        "--agency", "Cheyenne PD", "--latitude", "41.1351", "--longitude", "-104.8153",
        "--direction", "EB",
    )  # fmt: skip
    assert added == {
        "camera_id": "CAM-900", "name": "Lincolnway & 5th", "agency": "Cheyenne PD",
        "latitude": 41.1351, "longitude": -104.8153, "direction": "EB", "active": True,
    }  # fmt: skip
    moved = run.ok(
        "camera", "move", "--camera-id", "CAM-900", "--latitude", "41.14", "--longitude",
        "-104.82", "--direction", "WB", "--agency", "Laramie County SO",
    )  # fmt: skip
    assert (moved["latitude"], moved["direction"], moved["agency"]) == (
        41.14,
        "WB",
        "Laramie County SO",
    )
    assert run.ok("camera", "disable", "--camera-id", "CAM-900")["active"] is False
    listed = hub.client.get("/api/v1/cameras", headers=hub.headers("detective")).json()
    shown = next(camera for camera in listed if camera["camera_id"] == "CAM-900")
    assert (shown["latitude"], shown["active"]) == (41.14, False)

    assert "No camera CAM-404" in run.refused("camera", "disable", "--camera-id", "CAM-404")
    with pytest.raises(SystemExit) as bad_number:
        cli.main(["camera", "move", "--camera-id", "CAM-900", "--latitude", "north",
                  "--longitude", "0", *run.common])  # fmt: skip
    assert bad_number.value.code == 2
    assert run.capsys.readouterr().err == (
        "platedesk-hub camera move: argument --latitude: invalid float value: 'north'; "
        "see platedesk-hub camera move --help\n"
    )
    assert "Latitude 95.0 is off the globe" in run.refused(
        "camera", "move", "--camera-id", "CAM-900", "--latitude", "95", "--longitude", "0"
    )
    assert "already registered" in run.refused(
        "camera", "add", "--camera-id", "CAM-900", "--name", "x", "--agency", "x",
        "--latitude", "0", "--longitude", "0", "--direction", "N",
    )  # fmt: skip
    audited = run.audit("admin.camera")
    assert [action for action, _, _ in audited] == [
        "admin.camera_add",
        "admin.camera_move",
        "admin.camera_disable",
    ]
    assert audited[1][2]["old"]["direction"] == "EB"


def test_case_commands(run: Cli, hub: HubFixture) -> None:
    number = "2026-007001"
    added = run.ok(
        "case", "add", "--number", number, "--title", "Hit and run, Pershing Blvd",
        "--offense", "hit_and_run", "--unit", "Traffic", "--assign", "detective",
    )  # fmt: skip
    assert (added["assigned"], added["unit"], added["status"]) == (["detective"], "Traffic", "open")
    assert run.ok("case", "assign", "--number", number, "--username", "detective2")["assigned"] == [
        "detective",
        "detective2",
    ]
    assert run.ok("case", "unassign", "--number", number, "--username", "detective")[
        "assigned"
    ] == ["detective2"]
    mine = hub.client.get("/api/v1/cases", headers=hub.headers("detective2")).json()
    assert number in [case["case_number"] for case in mine]
    assert run.sentence("case", "close", "--number", number) == (
        f"Case {number} (closed): Hit and run, Pershing Blvd; assigned to detective2.\n"
    )
    refused = hub.client.post(
        "/api/v1/slices", json=hub.slice_body(case_number=number), headers=hub.headers("detective2")
    )
    assert refused.status_code == 409

    assert "No case 2026-009999" in run.refused("case", "close", "--number", "2026-009999")
    assert "not a case number of this agency" in run.refused("case", "close", "--number", "42")
    assert "No user named ghost" in run.refused(
        "case", "assign", "--number", CASE, "--username", "ghost"
    )
    assert "already on record" in run.refused(
        "case", "add", "--number", number, "--title", "t", "--offense", "fraud"
    )
    assert [action for action, _, _ in run.audit("admin.case")] == [
        "admin.case_add",
        "admin.case_assign",
        "admin.case_unassign",
        "admin.case_close",
    ]


RMS_HEADER = "Case Number,Title,Offense,Unit,Assigned Users\n"


def test_case_import_is_all_or_nothing(run: Cli, hub: HubFixture, tmp_path: Path) -> None:
    bad = tmp_path / "rms-bad.csv"
    bad.write_text(
        RMS_HEADER
        + "2026-008001,Burglary on 17th,burglary,East,detective;detective2\n"
        + "2026-8002,Bad number,fraud,,\n"
        + f"{CASE},Already here,robbery,,\n"
        + "2026-008004,Unknown user,robbery,,detective|ghost\n"
        + "2026-008001,Twice,robbery,,\n",
        encoding="utf-8",
    )
    err = run.refused("case", "import", str(bad))
    assert "Nothing was imported" in err
    assert "line 3: '2026-8002' is not a case number" in err
    assert f"line 4: case {CASE} is already on record" in err
    assert "line 5: No user named ghost" in err
    assert "line 6: case 2026-008001 is on line 2 already" in err
    with hub.database.read() as connection:
        assert (
            connection.execute(
                sa.select(sa.func.count())
                .select_from(cases)
                .where(cases.c.case_number > "2026-008")
            ).scalar_one()
            == 0
        )

    good = tmp_path / "rms.csv"
    good.write_text(
        "\ufeff" + RMS_HEADER
        + "2026-008001,Burglary on 17th,burglary,East,detective;detective2\n"
        + '2026-008002,"Fraud, elder victim",fraud,,\n',
        encoding="utf-8",
    )  # fmt: skip
    report = run.ok("case", "import", str(good))
    assert report == {"imported": 2, "cases": ["2026-008001", "2026-008002"], "assignments": 2}
    listed = {
        case["case_number"]: case
        for case in hub.client.get("/api/v1/cases", headers=hub.headers("admin")).json()
    }
    assert listed["2026-008002"]["title"] == "Fraud, elder victim"
    assert listed["2026-008001"]["assigned"] == ["detective", "detective2"]
    ((_, refs, params),) = run.audit("admin.case_import")
    assert refs == {"case_numbers": ["2026-008001", "2026-008002"]}
    assert params == {"count": 2, "assignments": 2, "origin": "cli:rms.csv"}

    no_header = tmp_path / "no-header.csv"
    no_header.write_text("number,title\n2026-008003,x\n", encoding="utf-8")
    assert "the header lacks offense, unit, assigned" in run.refused(
        "case", "import", str(no_header)
    )
    assert "Cannot read" in run.refused("case", "import", str(tmp_path / "missing.csv"))


def test_hotlist_import_as_an_administrator(run: Cli, hub: HubFixture, tmp_path: Path) -> None:
    expires = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    path = tmp_path / "ncic.csv"
    path.write_text(
        "plate,state,reason,source,case_number,expires_at\n"
        f"7K2LMV,CO,Stolen pickup,NCIC stolen vehicle,{OTHER_CASE},{expires}\n",
        encoding="utf-8",
    )
    assert run.ok("hotlist", "import", str(path), "--as", "admin")["imported"] == 1
    listed = hub.client.get("/api/v1/hotlists", headers=hub.headers("admin")).json()
    assert [entry["created_by"] for entry in listed] == ["admin"]
    with hub.database.read() as connection:
        author = connection.execute(
            sa.select(audit_events.c.username).where(audit_events.c.action == "hotlist.import")
        ).scalar_one()
    assert author == "admin"
    assert "only they manage hotlists" in run.refused(
        "hotlist", "import", str(path), "--as", "detective"
    )
    assert "No user named ghost" in run.refused("hotlist", "import", str(path), "--as", "ghost")
