"""Evidence export end to end: mark reads, export a packet from a real hub's data, verify it."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import bagit
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.core.records import SearchQuery
from app.demo import totp_now
from app.export.packet import PUBLIC_KEY_FILE, SIGNATURE_FILE, ExportCancelled
from app.export.sign import public_key_b64, sign_b64
from app.export.verify import verify_packet
from app.vision.redact import DerivedSpec, Region
from app.workstation import Workstation
from tests.support.flaky_proxy import FlakyProxy
from tests.support.live_hub import JUSTIFICATION, SeededHub, cli_json, confirm_holds, run_cli
from tests.support.tools import need_tool

pytestmark = pytest.mark.e2e


def test_a_case_packet_holds_the_hubs_images_and_verifies_offline(
    synced_workstation: tuple[Workstation, str], seeded_hub: SeededHub, tmp_path: Path
) -> None:
    workstation, case = synced_workstation
    profile = str(workstation.profile_dir)
    rows = workstation.search.run(
        SearchQuery(case_number=case, purpose="robbery", pattern=None), limit=2
    ).rows
    assert len(rows) == 2
    read_ids = [row.read_id for row in rows]

    marked = cli_json("--profile", profile, "evidence", "add", "--case", case, *read_ids)
    assert marked["marked"] == read_ids
    # A detective's mark proposes a hold at the hub (a technician confirms it).
    assert {h["read_id"]: h["status"] for h in marked["holds"]} == dict.fromkeys(
        read_ids, "proposed"
    )
    listed = cli_json("--profile", profile, "evidence", "holds", "--case", case)
    assert {h["read_id"]: h["status"] for h in listed["holds"]} == dict.fromkeys(
        read_ids, "proposed"
    )
    at_hub = {h.read_id: h.status for h in workstation.core.client.holds(case_number=case)}
    assert {read_id: at_hub[read_id] for read_id in read_ids} == dict.fromkeys(read_ids, "proposed")
    confirm_holds(seeded_hub, tmp_path / "technician", case, read_ids)
    out = tmp_path / "exports"
    exported = cli_json("--profile", profile, "export", "--case", case, "--out", str(out))
    packet = Path(exported["packet"])
    assert exported["reads"] == 2
    assert exported["files"] == 2 * 2 + 5  # originals, reads.csv/json, custody, excerpt, report
    assert exported["receipt"] == "delivered"
    assert [p.name for p in out.iterdir()] == [packet.name]  # no partial folder left

    bagit.Bag(str(packet)).validate()
    assert (packet / "bagit.txt").read_text(encoding="utf-8").startswith("BagIt-Version: 1.0\n")
    validated = subprocess.run(
        [str(Path(sys.executable).parent / "bagit.py"), "--validate", str(packet)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert validated.returncode == 0, validated.stderr
    done = run_cli("verify", str(packet), "--json")
    assert done.returncode == 3, done.stdout + done.stderr  # intact; offline, origin unchecked
    report = json.loads(done.stdout)
    assert (report["valid"], report["intact"], report["origin_verified"]) == (False, True, False)
    assert report["problems"] == []

    # The originals are the hub's bytes: same SHA-256 as the hub's records, same bytes as served.
    for read_id in read_ids:
        record = workstation.review.read(read_id)
        for kind, sha in (("scene", record.image_sha256), ("crop", record.crop_sha256)):
            data = (packet / "data" / "originals" / f"{read_id}-{kind}.jpg").read_bytes()
            assert hashlib.sha256(data).hexdigest() == sha
            assert data == workstation.core.client.image(sha)

    info = bagit.Bag(str(packet)).info
    assert info["Case-Number"] == case
    assert info["Packet-Id"] == exported["packet_id"]
    key_text = (packet / PUBLIC_KEY_FILE).read_text(encoding="ascii").strip()
    assert key_text == workstation.evidence.device_public_key()
    key_file = tmp_path / "device.pub"
    key_file.write_text(key_text, encoding="ascii")
    assert run_cli("verify", str(packet), "--public-key", str(key_file)).returncode == 0

    custody = json.loads((packet / "data" / "custody.json").read_text(encoding="utf-8"))
    actions = [event["action"] for event in custody["events"]]
    assert actions.count("review.evidence") == 2
    assert "image.view" in actions  # the images were fetched from the hub for the export
    assert actions[-1] == "export.start"
    # ...and the hub's own log: the holds proposed for these reads.
    assert custody["hub"]["included"] is True
    proposed = [e for e in custody["hub"]["events"] if e["action"] == "hold.propose"]
    assert {read_id for e in proposed for read_id in e["params"]["read_ids"]} == set(read_ids)
    assert all(e["username"] == workstation.session.username for e in proposed)  # type: ignore[union-attr]

    # The report: a summary page and one page per read, the packet id and case on each.
    pdf = packet / "data" / "report.pdf"
    text = subprocess.run(
        [need_tool("pdftotext"), "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pages = text.rstrip("\f").split("\f")
    assert len(pages) == 3
    for number, page in enumerate(pages, start=1):
        assert exported["packet_id"] in page
        assert f"Page {number} of 3" in page
        assert case in page
    for read_id in read_ids:
        assert read_id in text
    assert "Review and markings" in pages[1]
    for first_last in ("1", "3"):
        rendered = subprocess.run(
            ["pdftoppm", "-r", "30", "-png", "-f", first_last, "-l", first_last, str(pdf),
             str(tmp_path / f"page{first_last}")],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert rendered.returncode == 0, rendered.stderr
        assert rendered.stderr == ""
    assert len(list(tmp_path.glob("page*.png"))) == 2

    # Online: the hub has the receipt with this manifest hash, and the device's key.
    receipt = workstation.core.client.receipt(exported["packet_id"])
    signed_bytes = (packet / "tagmanifest-sha256.txt").read_bytes()
    assert receipt.manifest_sha256 == hashlib.sha256(signed_bytes).hexdigest()
    assert receipt.device_public_key == workstation.evidence.device_public_key()
    hub_url = workstation.hub_url or ""
    online = run_cli("verify", str(packet), "--hub", hub_url, "--json")
    assert online.returncode == 0, online.stdout + online.stderr
    assert any("receipt" in check for check in json.loads(online.stdout)["checked"])
    assert run_cli("--profile", profile, "verify", str(packet)).returncode == 0

    # Re-signed by another key with that key put in the packet: offline it still looks
    # whole, but the hub's key for the device says otherwise.
    forged = tmp_path / "forged"
    shutil.copytree(packet, forged)
    other = Ed25519PrivateKey.generate()
    (forged / SIGNATURE_FILE).write_text(sign_b64(other, signed_bytes), encoding="ascii")
    (forged / PUBLIC_KEY_FILE).write_text(public_key_b64(other), encoding="ascii")
    assert run_cli("verify", str(forged)).returncode == 3  # intact, origin not checked
    caught = run_cli("verify", str(forged), "--hub", hub_url)
    assert caught.returncode == 1
    assert "not a valid signature by the key the hub at" in caught.stdout

    events = workstation.journal().events()
    finished = [e for e in events if e["action"] == "export.packet"]
    assert len(finished) == 1
    assert finished[0]["outcome"] == "ok"
    assert finished[0]["params"]["packet_id"] == exported["packet_id"]
    assert finished[0]["params"]["reads"] == 2
    signed = (packet / "tagmanifest-sha256.txt").read_bytes()
    assert finished[0]["params"]["manifest_sha256"] == hashlib.sha256(signed).hexdigest()
    assert workstation.audit.status(full=True).chain_ok

    # A flipped byte in an original is caught and named by the command.
    original = packet / "data" / "originals" / f"{read_ids[0]}-crop.jpg"
    data = bytearray(original.read_bytes())
    data[-10] ^= 0xFF
    original.write_bytes(bytes(data))
    done = run_cli("verify", str(packet))
    assert done.returncode == 1
    assert f"data/originals/{read_ids[0]}-crop.jpg was altered" in done.stdout

    # A cancelled export leaves nothing that looks like a packet, and is journaled.
    cancel = threading.Event()
    cancel.set()
    cancelled_out = tmp_path / "cancelled"
    with pytest.raises(ExportCancelled):
        workstation.export_packet(case_number=case, out_dir=cancelled_out, cancel=cancel)
    assert list(cancelled_out.iterdir()) == []
    last = workstation.journal().events()[-1]
    assert (last["action"], last["outcome"]) == ("export.packet", "cancelled")


def test_offline_marks_and_exports_reach_the_hub_at_the_next_contact(
    seeded_hub: SeededHub, tmp_path: Path
) -> None:
    """Hub unreachable: the holds and the receipt wait in the cache, nothing is lost;
    the next contact delivers both. Redaction on the command line makes derived copies."""
    proxy = FlakyProxy(upstream_port=int(urlparse(seeded_hub.url).port or 0), schedule=("drop",))
    url = proxy.start()
    user = seeded_hub.user("detective")
    workstation = Workstation.open(profile_dir=tmp_path / "profile", hub_url=url)
    try:
        workstation.login(
            username=user["username"], password=user["password"], totp=totp_now(user["totp_secret"])
        )
        case = seeded_hub.case_for(user["username"])
        now = datetime.now(UTC)
        created = workstation.slices.request(
            case_number=case, purpose="robbery", justification=JUSTIFICATION,
            time_from=now - timedelta(days=5), time_to=now,
        )  # fmt: skip
        workstation.sync(slice_id=created.slice_id, images=True)
        rows = workstation.search.run(
            SearchQuery(case_number=case, purpose="robbery", pattern=None), limit=5
        ).rows
        read_ids = [row.read_id for row in rows[3:5]]

        proxy.enabled = True  # the hub is out of reach from here on
        for read_id in read_ids:
            workstation.mark_evidence(read_id=read_id, case_number=case, note="offline")
        holds = workstation.evidence_holds(case_number=case, refresh=True)
        assert {h.read_id: h.status for h in holds} == dict.fromkeys(read_ids, "pending")
        result = workstation.export_packet(
            case_number=case,
            out_dir=tmp_path / "out",
            redactions={read_ids[0]: DerivedSpec(regions=(Region(0, 0, 40, 20),))},
        )
        assert result.receipt == "pending"
        custody = json.loads((result.packet / "data" / "custody.json").read_text("utf-8"))
        assert custody["hub"]["included"] is False
        assert "not included" in custody["hub"]["note"]
        derived = result.packet / "data" / "derived" / f"{read_ids[0]}-scene.derived.png"
        assert derived.exists()
        assert derived.with_name(derived.name + ".json").exists()
        assert verify_packet(result.packet).intact

        # Back online: the next contact (here the journal upload) delivers what waited.
        proxy.enabled = False
        workstation.audit.upload()
        holds = workstation.evidence_holds(case_number=case)
        assert {h.read_id: h.status for h in holds} == dict.fromkeys(read_ids, "proposed")
        receipt = workstation.core.client.receipt(result.packet_id)
        signed = (result.packet / "tagmanifest-sha256.txt").read_bytes()
        assert receipt.manifest_sha256 == hashlib.sha256(signed).hexdigest()
        done = run_cli("verify", str(result.packet), "--hub", seeded_hub.url, "--json")
        assert done.returncode == 0, done.stdout + done.stderr
        actions = [e["action"] for e in workstation.journal().events()]
        assert actions.count("evidence.hold") == 1
        assert actions.count("export.receipt") == 1
    finally:
        proxy.enabled = False
        workstation.close()


def test_export_redacts_from_the_command_line_and_refuses_bad_regions(
    synced_workstation: tuple[Workstation, str], seeded_hub: SeededHub, tmp_path: Path
) -> None:
    workstation, case = synced_workstation
    profile = str(workstation.profile_dir)
    rows = workstation.search.run(
        SearchQuery(case_number=case, purpose="robbery", pattern=None), limit=8
    ).rows
    read_id = rows[7].read_id
    cli_json("--profile", profile, "evidence", "add", "--case", case, read_id)
    confirm_holds(seeded_hub, tmp_path / "technician", case, [read_id])

    # A case the hub does not know: the mark stays, the hub refuses the hold, and the
    # refusal is shown with the hub's reason (and not sent again).
    refused = cli_json("--profile", profile, "evidence", "add", "--case", "2026-999999", read_id)
    (hold,) = refused["holds"]
    assert hold["status"] == "refused"
    assert "No case 2026-999999" in hold["detail"]
    assert workstation.evidence.deliver() == {"holds": 0, "refused": 0, "receipts": 0}
    bad = run_cli("--profile", profile, "export", "--case", case, "--out", str(tmp_path / "x"),
                  "--redact", f"{read_id}:1,2,3")  # fmt: skip
    assert bad.returncode == 1
    assert "x,y,w,h" in bad.stderr
    assert "Traceback" not in bad.stderr
    outside = run_cli("--profile", profile, "export", "--case", case, "--out",
                      str(tmp_path / "y"), "--redact", f"{'f' * 32}:1,2,3,4")  # fmt: skip
    assert outside.returncode == 1
    assert "not marked as evidence" in outside.stderr
    exported = cli_json("--profile", profile, "export", "--case", case, "--out",
                        str(tmp_path / "ok"), "--redact", f"{read_id}:10,10,50,20")  # fmt: skip
    packet = Path(exported["packet"])
    sidecar = json.loads(
        (packet / "data" / "derived" / f"{read_id}-scene.derived.png.json").read_text("utf-8")
    )
    assert sidecar["operations"][0]["region"] == [10, 10, 50, 20]
    assert sidecar["original_sha256"] == workstation.review.read(read_id).image_sha256
    assert run_cli("verify", str(packet)).returncode == 3  # intact, origin not checked


def test_a_technicians_export_confirms_the_detectives_proposed_holds(
    synced_workstation: tuple[Workstation, str], seeded_hub: SeededHub, tmp_path: Path
) -> None:
    detective, case = synced_workstation
    rows = detective.search.run(
        SearchQuery(case_number=case, purpose="robbery", pattern=None), limit=12
    ).rows
    read_id = rows[11].read_id
    detective.mark_evidence(read_id=read_id, case_number=case, note="proposed by the detective")
    (proposed,) = [h for h in detective.evidence_holds(case_number=case) if h.read_id == read_id]
    assert proposed.status == "proposed"

    user = seeded_hub.user("evidence_technician")
    technician = Workstation.open(profile_dir=tmp_path / "technician", hub_url=seeded_hub.url)
    try:
        technician.login(
            username=user["username"], password=user["password"], totp=totp_now(user["totp_secret"])
        )
        now = datetime.now(UTC)
        created = technician.slices.request(
            case_number=case, purpose="robbery", justification=JUSTIFICATION,
            time_from=now - timedelta(days=5), time_to=now,
        )  # fmt: skip
        technician.sync(slice_id=created.slice_id)
        technician.mark_evidence(read_id=read_id, case_number=case, note="for court")
        # The hub already held the read (proposed): adopted, not placed twice.
        (mine,) = technician.evidence_holds(case_number=case)
        assert (mine.status, mine.hold_id) == ("proposed", proposed.hold_id)
        result = technician.export_packet(case_number=case, out_dir=tmp_path / "out")
        assert result.receipt == "delivered"
        (mine,) = technician.evidence_holds(case_number=case)
        assert mine.status == "confirmed"
        at_hub = {h.read_id: h for h in technician.core.client.holds(case_number=case)}
        assert at_hub[read_id].status == "confirmed"
        assert at_hub[read_id].confirmed_by == user["username"]
        actions = [e["action"] for e in technician.journal().events()]
        assert "evidence.hold_confirm" in actions
        assert verify_packet(result.packet).intact
    finally:
        technician.close()
    assert {h.read_id: h.status for h in detective.evidence_holds(case_number=case, refresh=True)}[
        read_id
    ] == "confirmed"
