"""The case's evidence, shared by every desk (issue 22), end to end on both databases:
a detective marks three reads with notes; a technician on another profile, with an
empty cache, lists them, confirms them and exports; the packet validates with bagit and
`platedesk verify` and names the detective; a supervisor releases one hold and the
next purge takes that read. Bad input: a refused hold, a detective's export before
any confirmation, a hub that drops mid-export (no partial packet)."""

from __future__ import annotations

import csv
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import bagit
import httpx
import pytest

from app.core.errors import KnownError
from app.core.records import SearchQuery
from app.demo import totp_now
from app.workstation import ExportInterrupted, Workstation
from hub.core.config import normalize_database_url
from hub.core.db import Database
from hub.db.tables import cases
from tests.support.live_hub import SeededHub, cli_json, run_cli
from tests.support.tools import need_tool

pytestmark = pytest.mark.e2e


def _sign_in(seeded_hub: SeededHub, role: str, profile: Path) -> Workstation:
    user = seeded_hub.user(role)
    workstation = Workstation.open(profile_dir=profile, hub_url=seeded_hub.url)
    workstation.login(
        username=user["username"], password=user["password"], totp=totp_now(user["totp_secret"])
    )
    return workstation


class DropEvidenceImages(httpx.BaseTransport):
    """The network edge: the hub answers until the export, having fetched the reads,
    asks for their images; then the connection drops (a cable pulled mid-export)."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self.images = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/evidence/images"):
            self.images += 1
            raise httpx.ConnectError("connection reset by peer", request=request)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


@pytest.fixture
def marked(synced_workstation: tuple[Workstation, str]) -> tuple[Workstation, str, list[str]]:
    """The detective's three evidence reads with notes, and a fourth (on the command line)."""
    detective, case = synced_workstation
    rows = detective.search.run(
        SearchQuery(case_number=case, purpose="robbery", pattern=None), limit=4
    ).rows
    read_ids = [row.read_id for row in rows]
    for read_id, note in zip(read_ids[:3], NOTES, strict=True):
        detective.mark_evidence(read_id=read_id, case_number=case, note=note,
                                legal_basis="search_warrant", legal_basis_text="Warrant 26-114")  # fmt: skip
    added = cli_json("--profile", str(detective.profile_dir), "evidence", "add", "--case", case,
                     read_ids[3], "--note", "probably unrelated",
                     "--review-date", "2027-06-01")  # fmt: skip
    assert added["holds"][0]["status"] == "proposed"
    return detective, case, read_ids


NOTES = ("grey sedan leaving", "same sedan, north", "parked")


def test_a_technician_exports_the_detectives_evidence_and_a_release_lets_the_purge_take_it(
    marked: tuple[Workstation, str, list[str]], seeded_hub: SeededHub, tmp_path: Path
) -> None:
    detective, case, read_ids = marked
    three, extra = read_ids[:3], read_ids[3]

    # A detective's export before any confirmation says what to do, and writes nothing.
    with pytest.raises(KnownError, match=r"No read of case .* evidence confirm"):
        detective.export_packet(case_number=case, out_dir=tmp_path / "early")
    assert not (tmp_path / "early").exists()

    technician_profile = tmp_path / "technician"
    technician = _sign_in(seeded_hub, "evidence_technician", technician_profile)
    tech = ("--profile", str(technician_profile))
    listed = cli_json(*tech, "evidence", "list", "--case", case)
    by_read = {entry["read_id"]: entry for entry in listed["evidence"]}
    assert [by_read[read_id]["note"] for read_id in read_ids] == [*NOTES, "probably unrelated"]
    detective_name = detective.session.username  # type: ignore[union-attr]
    assert {by_read[r]["marked_by"] for r in read_ids} == {detective_name}
    assert {by_read[r]["hold"] for r in read_ids} == {"proposed"}
    assert by_read[extra]["review_date"] == "2027-06-01"
    assert (by_read[three[0]]["legal_basis"], by_read[three[0]]["legal_basis_text"]) == (
        "search_warrant", "Warrant 26-114",
    )  # fmt: skip

    (refused,) = technician.evidence.refuse(case_number=case, read_ids=[extra], note="no link")
    assert refused.status == "refused"
    # Refused: nothing more to decide on it, said with the read's id; nothing changes.
    with pytest.raises(KnownError, match=f"The hold on read {extra} is refused"):
        technician.evidence.confirm(case_number=case, read_ids=[three[0], extra])
    confirmed = cli_json(*tech, "evidence", "confirm", "--case", case, *three)
    assert [entry["hold"] for entry in confirmed["confirmed"]] == ["confirmed"] * 3
    assert {entry["confirmed_by"] for entry in confirmed["confirmed"]} == {
        technician.session.username  # type: ignore[union-attr]
    }
    # The detective's desk sees where each hold stands.
    holds = {h.read_id: h.status for h in detective.evidence_holds(case_number=case, refresh=True)}
    assert holds == {**dict.fromkeys(three, "confirmed"), extra: "refused"}
    technician.close()

    # The hub drops mid-export: a message naming the case and what to do, no packet.
    dropping = DropEvidenceImages()
    interrupted = Workstation.open(profile_dir=technician_profile, transport=dropping)
    try:
        with pytest.raises(ExportInterrupted) as caught:
            interrupted.export_packet(case_number=case, out_dir=tmp_path / "dropped")
        assert dropping.images == 1  # the reads came, their images did not
        assert "The hub stopped answering" in str(caught.value)
        assert case in str(caught.value)
    finally:
        interrupted.close()
    assert not (tmp_path / "dropped").exists()

    out = tmp_path / "packets"
    exported = cli_json(*tech, "export", "--case", case, "--out", str(out))
    packet = Path(exported["packet"])
    assert exported["reads"] == 3
    assert [p.name for p in out.iterdir()] == [packet.name]
    bagit.Bag(str(packet)).validate()
    verified = run_cli("verify", str(packet), "--hub", seeded_hub.url, "--json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert json.loads(verified.stdout)["problems"] == []

    with (packet / "data" / "reads.csv").open(encoding="utf-8") as handle:
        rows = {row["read_id"]: row for row in csv.DictReader(handle)}
    assert set(rows) == set(three)
    tech_name = seeded_hub.user("evidence_technician")["username"]
    assert {(row["marked_by"], row["confirmed_by"], row["hold"]) for row in rows.values()} == {
        (detective_name, tech_name, "confirmed")
    }
    custody = json.loads((packet / "data" / "custody.json").read_text(encoding="utf-8"))
    assert {entry["marked_by"] for entry in custody["evidence"]} == {detective_name}
    actions = [event["action"] for event in custody["events"]]
    assert "evidence.grant_images" in actions  # fetched under the grant, journaled as such
    text = subprocess.run([need_tool("pdftotext"), "-layout", str(packet / "data" / "report.pdf"),
                           "-"], capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert f"by {detective_name}" in text
    assert f"confirmed by {tech_name}" in text

    # A supervisor releases one hold with a reason; the next purge takes that read only.
    supervisor_profile = tmp_path / "supervisor"
    supervisor = _sign_in(seeded_hub, "supervisor", supervisor_profile)
    try:
        with pytest.raises(KnownError, match="reason"):
            supervisor.evidence.release(case_number=case, read_ids=[three[0]], reason="")
    finally:
        supervisor.close()
    released = cli_json("--profile", str(supervisor_profile), "evidence", "release", "--case",
                        case, three[0], "--reason", "plate ruled out by the registry")  # fmt: skip
    assert released["released"][0]["hold"] == "released"
    later = (datetime.now(UTC) + timedelta(days=31)).isoformat()
    purge = seeded_hub.hub_cli("purge", "--now", later)
    assert purge.returncode == 0, purge.stderr
    assert json.loads(purge.stdout)["kept_on_hold"] == 2
    again = Workstation.open(profile_dir=technician_profile)
    try:
        after = {h.read_id: h for h in again.evidence.case_evidence(case_number=case)}
    finally:
        again.close()
    assert after[three[0]].read_present is False
    assert after[three[0]].release_reason == "plate ruled out by the registry"
    assert [after[r].read_present for r in three[1:]] == [True, True]

    # The case closed meanwhile: a new mark's hold is refused with the hub's reason,
    # shown against the read; the mark itself stays in the detective's cache.
    hub_database = Database(normalize_database_url(seeded_hub.db, seeded_hub.data))
    try:
        with hub_database.write() as connection:
            connection.execute(
                cases.update().where(cases.c.case_number == case).values(status="closed")
            )
    finally:
        hub_database.dispose()
    late = (
        detective.search.run(
            SearchQuery(case_number=case, purpose="robbery", pattern=None), limit=5
        )
        .rows[4]
        .read_id
    )
    detective.mark_evidence(read_id=late, case_number=case, note="seen again")
    (hold,) = [h for h in detective.evidence_holds(case_number=case) if h.read_id == late]
    assert hold.status == "refused"
    assert f"Case {case} is closed" in hold.detail
