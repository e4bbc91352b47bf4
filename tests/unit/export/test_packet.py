"""Packets built from plain records: they verify, and every kind of tampering is named."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import struct
import threading
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bagit
import numpy as np
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.cli.commands import EXIT_ERROR, EXIT_ORIGIN_NOT_CHECKED, run
from app.core.audit_chain import GENESIS_HASH, seal_event
from app.export.packet import (
    PUBLIC_KEY_FILE,
    SIGNATURE_FILE,
    AuditExcerpt,
    ExportCancelled,
    ExportFailed,
    ExportProgress,
    Original,
    PacketInfo,
    PacketResult,
    write_packet,
)
from app.export.sign import KeyFormatError, public_key_b64, sign_b64
from app.export.verify import ZipLimits, load_trusted_keys, verify_packet

CASE = "2026-CR-0042"
DEVICE = "dev-1"


def jpeg(width: int, height: int, seed: int) -> bytes:
    """A real JPEG with structure (gradients and a bright box), as a camera would send."""
    import cv2

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    image = np.dstack([(x * 255 // width), (y * 255 // height), ((x + y) % 256)]).astype(np.uint8)
    image[height // 3 : height // 2, width // 3 : width // 2] = 255
    image = cv2.add(image, rng.integers(0, 20, image.shape, dtype=np.uint8))
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return bytes(data.tobytes())


SCENE_ONE, CROP_ONE = jpeg(320, 200, 1), jpeg(120, 40, 2)
SCENE_TWO, CROP_TWO = jpeg(400, 240, 3), jpeg(100, 36, 4)


def _chain(count: int) -> list[dict[str, Any]]:
    events, prev = [], GENESIS_HASH
    for seq in range(1, count + 1):
        refs: dict[str, Any] = (
            {"read_id": "r1", "case_number": CASE} if seq % 2 else {"case_number": "OTHER"}
        )
        event = seal_event(
            {
                "event_id": f"e{seq}",
                "device_id": DEVICE,
                "username": "det",
                "session_id": "s",
                "seq": seq,
                "occurred_at": f"2026-11-20T08:00:{seq:02d}Z",
                "action": "review.evidence" if seq % 2 else "search",
                "object_refs": refs,
                "params": {},
                "outcome": "ok",
                "prev_hash": prev,
            }
        )
        events.append(event)
        prev = event["hash"]
    return events


def _read(read_id: str, scene: bytes, crop: bytes) -> dict[str, Any]:
    return {
        "read_id": read_id,
        "plate": "ABC123",
        "state": "WY",
        "confidence": 0.93,
        "captured_at": "2026-11-20T08:00:00Z",
        "camera_id": "cam-1",
        "camera_name": "Lincolnway",
        "latitude": 41.13,
        "longitude": -104.82,
        "direction": "N",
        "make": "Ford",
        "model": "F-150",
        "color": "red",
        "body_type": "pickup",
        "features": ["roof rack"],
        "image_sha256": hashlib.sha256(scene).hexdigest(),
        "crop_sha256": hashlib.sha256(crop).hexdigest(),
        "review_marks": [{"kind": "evidence", "marked_by": "det", "note": "leaving scene"}],
    }


def _build(
    out: Path,
    key: Ed25519PrivateKey,
    *,
    zip: bool = False,
    cancel: threading.Event | None = None,
    progress: Callable[[ExportProgress], None] | None = None,
) -> PacketResult:
    images = {"r1": (SCENE_ONE, CROP_ONE), "r2": (SCENE_TWO, CROP_TWO)}
    reads = [_read(read_id, *pair) for read_id, pair in images.items()]
    originals = [
        Original(name=f"{read_id}-{kind}.jpg", sha256=hashlib.sha256(data).hexdigest(),
                 load=lambda data=data: data, read_id=read_id, kind=kind)
        for read_id, (scene, crop) in images.items()
        for kind, data in (("scene", scene), ("crop", crop))
    ]  # fmt: skip
    events = _chain(6)
    excerpt = AuditExcerpt(
        device_id=DEVICE,
        first_seq=1,
        start_hash=GENESIS_HASH,
        case_seqs=[1, 3, 5],
        events=iter(events),
    )
    info = PacketInfo(
        packet_id="p" * 32,
        case_number=CASE,
        organization="Cheyenne Police Department",
        exporting_user="tech",
        device_id=DEVICE,
        software_version="Platedesk test",
        bagged_at=datetime(2026, 11, 21, 9, 30, tzinfo=UTC),
    )
    return write_packet(
        info=info,
        reads=reads,
        originals=originals,
        custody=[e for e in events if e["object_refs"].get("read_id") == "r1"],
        excerpt=excerpt,
        key=key,
        out_dir=out,
        zip=zip,
        cancel=cancel,
        progress=progress,
    ).result


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, key: Ed25519PrivateKey) -> Path:
    return _build(tmp_path_factory.mktemp("pristine"), key).packet


@pytest.fixture
def packet(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / pristine.name
    shutil.copytree(pristine, copy)
    return copy


def _problems(path: Path, **kwargs: Any) -> list[str]:
    report = verify_packet(path, **kwargs)
    if report.problems:
        assert not report.valid
    assert report.intact is (not set(report.problems) - set(report.origin_problems))
    return report.problems


def test_a_fresh_packet_is_a_valid_bag_and_verifies(packet: Path, key: Ed25519PrivateKey) -> None:
    bagit.Bag(str(packet)).validate()
    report = verify_packet(packet)
    assert report.intact, report.problems
    assert (report.origin_verified, report.valid) == (False, False)  # no key given, no hub
    assert any("signature" in check for check in report.checked)
    assert any("audit-excerpt" in check for check in report.checked)
    pinned = verify_packet(packet, public_key=public_key_b64(key))
    assert (pinned.intact, pinned.origin_verified, pinned.valid) == (True, True, True)
    assert pinned.origin.startswith("signed by the key given (key SHA-256 ")
    names = sorted(p.name for p in (packet / "data" / "originals").iterdir())
    assert names == ["r1-crop.jpg", "r1-scene.jpg", "r2-crop.jpg", "r2-scene.jpg"]
    info = bagit.Bag(str(packet)).info
    assert info["Case-Number"] == CASE
    assert info["Packet-Id"] == "p" * 32
    reads = json.loads((packet / "data" / "reads.json").read_text(encoding="utf-8"))["reads"]
    assert [r["read_id"] for r in reads] == ["r1", "r2"]
    assert "review_marks" in (packet / "data" / "reads.csv").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "relative",
    [
        "data/originals/r1-scene.jpg",
        "data/originals/r2-crop.jpg",
        "data/reads.csv",
        "data/reads.json",
        "data/custody.json",
        "data/audit-excerpt.json",
    ],
)
def test_flipping_one_byte_of_a_payload_file_is_named(packet: Path, relative: str) -> None:
    target = packet / relative
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    problems = _problems(packet)
    assert problems
    assert relative in problems[0]
    assert "altered" in problems[0]


def test_a_truncated_payload_file_is_named(packet: Path) -> None:
    target = packet / "data" / "reads.csv"
    target.write_bytes(target.read_bytes()[:-20])
    problems = _problems(packet)
    assert problems[0].startswith("data/reads.csv was altered")


def test_a_deleted_payload_file_is_named(packet: Path) -> None:
    (packet / "data" / "originals" / "r2-scene.jpg").unlink()
    problems = _problems(packet)
    assert problems[0] == "data/originals/r2-scene.jpg is missing (listed in the manifest)"


def test_an_added_payload_file_is_named(packet: Path) -> None:
    (packet / "data" / "originals" / "r3-scene.jpg").write_bytes(b"\xff\xd8planted")
    problems = _problems(packet)
    assert problems[0] == "data/originals/r3-scene.jpg was added (not in the manifest)"


def test_a_file_added_beside_the_payload_is_named(packet: Path) -> None:
    (packet / "notes.txt").write_text("planted", encoding="utf-8")
    assert _problems(packet)[0] == "notes.txt was added (no manifest lists it)"


def test_an_edited_bag_info_is_named(packet: Path) -> None:
    info = packet / "bag-info.txt"
    info.write_text(
        info.read_text(encoding="utf-8").replace(CASE, "2026-CR-0043"), encoding="utf-8"
    )
    problems = _problems(packet)
    assert "bag-info.txt" in problems[0]


def test_a_packet_re_signed_by_another_key_fails(packet: Path, key: Ed25519PrivateKey) -> None:
    other = Ed25519PrivateKey.generate()
    signed = (packet / "tagmanifest-sha256.txt").read_bytes()
    (packet / SIGNATURE_FILE).write_text(sign_b64(other, signed), encoding="ascii")
    problems = _problems(packet)
    assert problems == [
        f"{SIGNATURE_FILE} is not a valid signature of tagmanifest-sha256.txt by the key"
    ]

    # ...and swapping in the other key too is caught when the device's key is given
    (packet / PUBLIC_KEY_FILE).write_text(public_key_b64(other), encoding="ascii")
    assert not _problems(packet)
    assert not verify_packet(packet).valid  # whole, but nothing says who signed it
    problems = _problems(packet, public_key=public_key_b64(key))
    assert problems[0] == f"{PUBLIC_KEY_FILE} is not the public key given"


def test_a_broken_audit_chain_is_named(packet: Path) -> None:
    """Re-hashed in the manifests and re-signed: only the chain check can see it."""
    path = packet / "data" / "audit-excerpt.json"
    excerpt = json.loads(path.read_text(encoding="utf-8"))
    excerpt["events"][2]["username"] = "someone-else"
    path.write_text(json.dumps(excerpt), encoding="utf-8")
    (packet / SIGNATURE_FILE).unlink()
    (packet / PUBLIC_KEY_FILE).unlink()
    bag = bagit.Bag(str(packet))
    bag.save(manifests=True)
    key = Ed25519PrivateKey.generate()
    signed = (packet / "tagmanifest-sha256.txt").read_bytes()
    (packet / SIGNATURE_FILE).write_text(sign_b64(key, signed), encoding="ascii")
    (packet / PUBLIC_KEY_FILE).write_text(public_key_b64(key), encoding="ascii")
    problems = _problems(packet)
    assert problems[0] == "audit excerpt: device dev-1 event 3: its contents do not match its hash"


def test_the_excerpt_withholds_other_cases_events_but_still_links(packet: Path) -> None:
    excerpt = json.loads((packet / "data" / "audit-excerpt.json").read_text(encoding="utf-8"))
    shown = {event["seq"]: event for event in excerpt["events"]}
    assert sorted(shown) == [1, 2, 3, 4, 5, 6]  # the run of the chain the excerpt was given
    for seq in (2, 4, 6):  # not the case's: place, links and hash only
        assert shown[seq] == {
            "device_id": DEVICE, "seq": seq, "prev_hash": shown[seq]["prev_hash"],
            "hash": shown[seq]["hash"], "withheld": True,
        }  # fmt: skip
    assert "params" in shown[3]
    assert verify_packet(packet).intact


def test_a_zip_packet_verifies_and_its_tampering_is_caught(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    result = _build(tmp_path / "out", key, zip=True)
    assert result.packet.suffix == ".zip"
    assert [p.name for p in (tmp_path / "out").iterdir()] == [result.packet.name]
    assert verify_packet(result.packet, public_key=public_key_b64(key)).valid
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(result.packet) as source, zipfile.ZipFile(tampered, "w") as sink:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.endswith("r1-crop.jpg"):
                data = data[:-1] + bytes([data[-1] ^ 1])
            sink.writestr(item, data)
    assert "data/originals/r1-crop.jpg" in _problems(tampered)[0]


def test_a_cancelled_export_leaves_no_packet(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    cancel = threading.Event()
    seen: list[ExportProgress] = []

    def progress(step: ExportProgress) -> None:
        seen.append(step)
        if step.done == 2:
            cancel.set()

    out = tmp_path / "out"
    with pytest.raises(ExportCancelled):
        _build(out, key, cancel=cancel, progress=progress)
    assert list(out.iterdir()) == []
    assert seen
    assert seen[-1].done == 2


def test_an_image_that_does_not_match_its_hash_fails_and_leaves_nothing(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    info = PacketInfo("p" * 32, CASE, "org", "tech", DEVICE, "test", datetime.now(UTC))
    bad = Original(name="r1-scene.jpg", sha256="0" * 64, load=lambda: b"not it")
    excerpt = AuditExcerpt(DEVICE, 1, GENESIS_HASH, [], iter(()))
    with pytest.raises(ExportFailed, match="does not match its recorded SHA-256"):
        write_packet(info=info, reads=[], originals=[bad], custody=[], excerpt=excerpt,
                     key=key, out_dir=tmp_path)  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_the_public_key_file_is_base64_of_the_raw_key(packet: Path, key: Ed25519PrivateKey) -> None:
    text = (packet / PUBLIC_KEY_FILE).read_text(encoding="ascii").strip()
    assert len(base64.b64decode(text)) == 32
    assert text == public_key_b64(key)


def _forge(packet: Path) -> Ed25519PrivateKey:
    """Swap one original, recompute every manifest and re-sign with a fresh key, as
    anyone holding the packet can: what only a trusted key or the hub can catch."""
    original = packet / "data" / "originals" / "r1-scene.jpg"
    original.write_bytes(SCENE_TWO)
    (packet / SIGNATURE_FILE).unlink()
    (packet / PUBLIC_KEY_FILE).unlink()
    bagit.Bag(str(packet)).save(manifests=True)
    forger = Ed25519PrivateKey.generate()
    signed = (packet / "tagmanifest-sha256.txt").read_bytes()
    (packet / SIGNATURE_FILE).write_text(sign_b64(forger, signed), encoding="ascii")
    (packet / PUBLIC_KEY_FILE).write_text(public_key_b64(forger), encoding="ascii")
    return forger


def test_a_forged_packet_is_intact_but_its_origin_is_not_checked_offline(
    packet: Path, key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    _forge(packet)
    report = verify_packet(packet)
    assert report.problems == []
    assert (report.intact, report.origin_verified, report.valid) == (True, False, False)
    shown = report.as_dict()
    assert (shown["valid"], shown["intact"], shown["origin_verified"]) == (False, True, False)
    assert shown["origin"].startswith("not checked: no trusted key was given and no hub")

    trusted = tmp_path / "agency.keys"
    other = Ed25519PrivateKey.generate()
    trusted.write_text(
        f"# Cheyenne PD device keys\n{public_key_b64(key)}  workstation 4\n"
        f"{public_key_b64(other)}\n",
        encoding="utf-8",
    )
    keys = load_trusted_keys(trusted.read_text(encoding="utf-8"), source="agency.keys")
    assert [k.label for k in keys] == ["workstation 4", "line 3 of agency.keys"]
    caught = verify_packet(packet, trusted_keys=keys)
    assert (caught.intact, caught.origin_verified, caught.valid) == (True, False, False)
    assert caught.problems[0].startswith(f"{PUBLIC_KEY_FILE} (key SHA-256 ")
    assert caught.problems[0].endswith("is none of the 2 trusted keys given")
    assert caught.origin == "not verified: " + caught.problems[0]


def test_a_packet_signed_by_a_trusted_key_is_valid(packet: Path, key: Ed25519PrivateKey) -> None:
    other = Ed25519PrivateKey.generate()
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    keys = load_trusted_keys(f"{public_key_b64(other)} spare\n{pem}", source="keys.txt")
    report = verify_packet(packet, trusted_keys=keys)
    assert report.valid, report.problems
    assert report.origin.startswith("signed by PEM key 1 of keys.txt (key SHA-256 ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "keys.txt holds no public key"),
        ("# only a comment\n", "keys.txt holds no public key"),
        ("bm90IGEga2V5 name\n", "keys.txt, line 1: the public key is not base64"),
    ],
)
def test_a_trusted_keys_file_that_cannot_be_read_says_why(text: str, message: str) -> None:
    with pytest.raises(KeyFormatError, match=message):
        load_trusted_keys(text, source="keys.txt")


def test_the_verify_command_says_intact_apart_from_origin(
    packet: Path, key: Ed25519PrivateKey, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trusted = tmp_path / "agency.keys"
    trusted.write_text(f"{public_key_b64(key)} workstation 4\n", encoding="utf-8")
    assert run(["verify", str(packet), "--trusted-keys", str(trusted), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["valid"], shown["intact"], shown["origin_verified"]) == (True, True, True)
    assert shown["origin"].startswith("signed by workstation 4 (key SHA-256 ")

    _forge(packet)
    assert run(["verify", str(packet), "--json"]) == EXIT_ORIGIN_NOT_CHECKED
    shown = json.loads(capsys.readouterr().out)
    assert (shown["valid"], shown["intact"], shown["origin_verified"]) == (False, True, False)
    assert run(["verify", str(packet)]) == EXIT_ORIGIN_NOT_CHECKED
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith(f"INTACT, ORIGIN NOT CHECKED: {packet} is consistent with itself")
    device_key = tmp_path / "device.pub"
    device_key.write_text(public_key_b64(key), encoding="ascii")
    assert run(["verify", str(packet), "--key", str(device_key)]) == EXIT_ERROR
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"INTACT, ORIGIN NOT VERIFIED: {PUBLIC_KEY_FILE} is not the public key given"
    )
    trusted.write_text("not a key\n", encoding="utf-8")
    assert run(["verify", str(packet), "--trusted-keys", str(trusted)]) == EXIT_ERROR
    assert "agency.keys, line 1: the public key is not base64" in capsys.readouterr().err


def _zip_of(packet: Path, out: Path, extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(packet.rglob("*")):
            if path.is_file():
                archive.write(path, f"{packet.name}/{path.relative_to(packet).as_posix()}")
        for name, data in (extra or {}).items():
            archive.writestr(f"{packet.name}/{name}", data)
    return out


def test_a_zip_with_a_damaged_member_is_named_not_a_traceback(packet: Path, tmp_path: Path) -> None:
    archive = _zip_of(packet, tmp_path / "packet.zip")
    with zipfile.ZipFile(archive) as reader:
        info = max(reader.infolist(), key=lambda item: item.compress_size)
    raw = bytearray(archive.read_bytes())
    name_length, extra_length = struct.unpack_from("<HH", raw, info.header_offset + 26)
    raw[info.header_offset + 30 + name_length + extra_length + info.compress_size // 2] ^= 0xFF
    archive.write_bytes(bytes(raw))
    report = verify_packet(archive)
    assert not report.intact
    assert report.problems[0].startswith(
        f"the ZIP is damaged: its member {info.filename} cannot be read ("
    )
    cut = tmp_path / "cut.zip"
    cut.write_bytes(raw[: len(raw) // 2])
    assert verify_packet(cut).problems == [
        f"{cut} is not a readable ZIP: its directory is missing or damaged (cut short in a copy?)"
    ]


def test_a_zip_member_over_the_limit_is_refused_before_anything_is_extracted(
    packet: Path, tmp_path: Path
) -> None:
    archive = _zip_of(packet, tmp_path / "big.zip", {"data/big.bin": os.urandom(3 << 20)})
    report = verify_packet(archive, limits=ZipLimits(member_bytes=2 << 20))
    assert report.problems == [
        f"the ZIP member {packet.name}/data/big.bin is 3 MiB uncompressed, more than the "
        "limit of 2 MiB for one file; it was not extracted"
    ]
    assert len(report.checked) == 1  # nothing else ran: nothing was written out
    report = verify_packet(archive, limits=ZipLimits(total_bytes=2 << 20))
    assert report.problems[0].startswith("the ZIP's members are 3 MiB uncompressed, more than")
    # within the limits it is extracted and checked (and the planted file named)
    assert verify_packet(archive).problems == ["data/big.bin was added (not in the manifest)"]


def test_a_zip_bomb_is_refused_by_its_compression_ratio(packet: Path, tmp_path: Path) -> None:
    archive = _zip_of(packet, tmp_path / "bomb.zip", {"data/zeros.bin": bytes(16 << 20)})
    problems = verify_packet(archive).problems
    assert len(problems) == 1
    assert problems[0].startswith(f"the ZIP member {packet.name}/data/zeros.bin would expand ")
    assert "a ZIP bomb, not a packet" in problems[0]
