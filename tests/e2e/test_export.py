"""Evidence export end to end: mark reads, export a packet from a real hub's data, verify it."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import bagit
import pytest

from app.core.records import SearchQuery
from app.export.packet import PUBLIC_KEY_FILE, ExportCancelled
from app.workstation import Workstation
from tests.support.live_hub import cli_json, run_cli

pytestmark = pytest.mark.e2e


def test_a_case_packet_holds_the_hubs_images_and_verifies_offline(
    synced_workstation: tuple[Workstation, str], tmp_path: Path
) -> None:
    workstation, case = synced_workstation
    profile = str(workstation.profile_dir)
    rows = workstation.search(
        SearchQuery(case_number=case, purpose="robbery", pattern=None), limit=2
    ).rows
    assert len(rows) == 2
    read_ids = [row.read_id for row in rows]

    marked = cli_json("--profile", profile, "evidence", "add", "--case", case, *read_ids)
    assert marked["marked"] == read_ids
    out = tmp_path / "exports"
    exported = cli_json("--profile", profile, "export", "--case", case, "--out", str(out))
    packet = Path(exported["packet"])
    assert exported["reads"] == 2
    assert exported["files"] == 2 * 2 + 4
    assert [p.name for p in out.iterdir()] == [packet.name]  # no partial folder left

    bagit.Bag(str(packet)).validate()
    done = run_cli("verify", str(packet), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["valid"] is True
    assert report["problems"] == []

    # The originals are the hub's bytes: same SHA-256 as the hub's records, same bytes as served.
    for read_id in read_ids:
        record = workstation.read(read_id)
        for kind, sha in (("scene", record.image_sha256), ("crop", record.crop_sha256)):
            data = (packet / "data" / "originals" / f"{read_id}-{kind}.jpg").read_bytes()
            assert hashlib.sha256(data).hexdigest() == sha
            assert data == workstation.client.image(sha)

    info = bagit.Bag(str(packet)).info
    assert info["Case-Number"] == case
    assert info["Packet-Id"] == exported["packet_id"]
    key_text = (packet / PUBLIC_KEY_FILE).read_text(encoding="ascii").strip()
    assert key_text == workstation.device_public_key()
    key_file = tmp_path / "device.pub"
    key_file.write_text(key_text, encoding="ascii")
    assert run_cli("verify", str(packet), "--public-key", str(key_file)).returncode == 0

    custody = json.loads((packet / "data" / "custody.json").read_text(encoding="utf-8"))
    actions = [event["action"] for event in custody["events"]]
    assert actions.count("review.evidence") == 2
    assert "image.view" in actions  # the images were fetched from the hub for the export
    assert actions[-1] == "export.start"

    events = workstation._journal().events()
    finished = [e for e in events if e["action"] == "export.packet"]
    assert len(finished) == 1
    assert finished[0]["outcome"] == "ok"
    assert finished[0]["params"]["packet_id"] == exported["packet_id"]
    assert finished[0]["params"]["reads"] == 2
    signed = (packet / "tagmanifest-sha256.txt").read_bytes()
    assert finished[0]["params"]["manifest_sha256"] == hashlib.sha256(signed).hexdigest()
    assert workstation.journal_status(full=True).chain_ok

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
    last = workstation._journal().events()[-1]
    assert (last["action"], last["outcome"]) == ("export.packet", "cancelled")
