"""Derived (redacted) copies, the PDF report, the BagIt 1.0 writer, the hub checks."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bagit
import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.core.audit_chain import GENESIS_HASH, seal_event
from app.export.packet import (
    AuditExcerpt,
    Derived,
    DerivedCopy,
    HubCustody,
    Original,
    PacketInfo,
    write_packet,
)
from app.export.report import jpeg_info
from app.export.verify import HubRecord, verify_packet
from app.vision.enhance import decode_jpeg
from app.vision.redact import (
    DerivedSpec,
    RedactionError,
    Region,
    derive,
    load_spec_file,
    merge_specs,
    parse_redaction,
)
from tests.support.tools import need_tool
from tests.unit.export.test_packet import CROP_ONE, SCENE_ONE, SCENE_TWO, _read, jpeg

CASE = "2026-CR-0042"
DEVICE = "dev-1"
R1, R2 = "a" * 32, "b" * 32


def _decode_png(data: bytes) -> np.ndarray[Any, Any]:
    import cv2

    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return np.asarray(image)


def _hub_event(seq: int, prev: str, read_id: str) -> dict[str, Any]:
    return seal_event(
        {
            "event_id": f"h{seq}",
            "device_id": "hub",
            "username": "det",
            "session_id": "s",
            "seq": seq,
            "occurred_at": "2026-11-20T08:00:00.000Z",
            "action": "hold.propose",
            "object_refs": {"case_number": CASE, "hold_ids": ["x"]},
            "params": {"read_ids": [read_id], "note": ""},
            "outcome": "ok",
            "prev_hash": prev,
        }
    )


def _packet(
    out: Path,
    key: Ed25519PrivateKey,
    *,
    reads: int = 2,
    derived: dict[str, Derived] | None = None,
    hub: HubCustody | None = None,
) -> tuple[Path, str]:
    scenes = [SCENE_ONE, SCENE_TWO]
    records, originals = [], []
    for index in range(reads):
        read_id = f"{index:032x}" if reads > 2 else (R1, R2)[index]
        scene = scenes[index % 2]
        records.append(_read(read_id, scene, CROP_ONE))
        for kind, data in (("scene", scene), ("crop", CROP_ONE)):
            originals.append(
                Original(
                    name=f"{read_id}-{kind}.jpg",
                    sha256=hashlib.sha256(data).hexdigest(),
                    load=lambda data=data: data,  # type: ignore[misc]
                    read_id=read_id,
                    kind=kind,
                )
            )
    event = seal_event(
        {
            "event_id": "e1", "device_id": DEVICE, "username": "det", "session_id": "s",
            "seq": 1, "occurred_at": "2026-11-20T08:00:00.000Z", "action": "review.evidence",
            "object_refs": {"read_id": R1, "case_number": CASE}, "params": {},
            "outcome": "ok", "prev_hash": GENESIS_HASH,
        }
    )  # fmt: skip
    info = PacketInfo(
        packet_id="c" * 32,
        case_number=CASE,
        organization="Cheyenne Police Department",
        exporting_user="tech",
        device_id=DEVICE,
        software_version="Platedesk test",
        bagged_at=datetime(2026, 11, 21, 9, 30, tzinfo=UTC),
    )
    built = write_packet(
        info=info,
        reads=records,
        originals=originals,
        custody=[event],
        excerpt=AuditExcerpt(DEVICE, 1, GENESIS_HASH, [1], iter([event])),
        key=key,
        out_dir=out,
        derived=derived,
        hub_custody=hub,
    )
    return built.result.packet, built.manifest_sha256


def _deriver(spec: DerivedSpec) -> Derived:
    def make(original: bytes) -> DerivedCopy:
        image = derive(original, spec)
        return DerivedCopy(image.png, image.preview_jpeg, image.operations)

    return Derived(name=f"{R1}-scene.derived.png", make=make)


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def test_a_redacted_copy_differs_from_the_original_only_inside_the_regions() -> None:
    regions = (Region(20, 30, 80, 40), Region(200, 150, 100, 60))  # the second is clipped
    derived = derive(SCENE_ONE, DerivedSpec(regions=regions))
    original = decode_jpeg(SCENE_ONE)
    copy = _decode_png(derived.png)
    assert copy.shape == original.shape
    inside = np.zeros(original.shape[:2], dtype=bool)
    for region in regions:
        inside[region.y : region.y + region.h, region.x : region.x + region.w] = True
    assert np.array_equal(copy[~inside], original[~inside])
    for region in regions:
        patch = (slice(region.y, region.y + region.h), slice(region.x, region.x + region.w))
        changed = np.abs(copy[patch].astype(int) - original[patch].astype(int)).max(axis=2) > 0
        assert changed.mean() > 0.5  # most of each region is changed
        assert copy[patch].std() < original[patch].std()  # and smoothed
    assert [op["operation"] for op in derived.operations] == ["blur", "blur"]
    assert derived.operations[1]["region"] == [200, 150, 100, 50]  # clipped to the image
    assert jpeg_info(derived.preview_jpeg) is not None


def test_bad_redactions_are_named() -> None:
    with pytest.raises(RedactionError, match="lies outside the image"):
        derive(SCENE_ONE, DerivedSpec(regions=(Region(1000, 10, 5, 5),)))
    with pytest.raises(RedactionError, match="READ_ID:x,y,w,h"):
        parse_redaction("not-a-read:1,2,3,4")
    with pytest.raises(RedactionError, match="x,y,w,h in pixels"):
        parse_redaction(f"{R1}:1,2,3")
    with pytest.raises(RedactionError, match="is not a rectangle"):
        parse_redaction(f"{R1}:1,2,0,4")
    assert parse_redaction(f"{R1}:1,2,3,4") == (R1, Region(1, 2, 3, 4))


def test_a_spec_file_and_command_line_regions_merge(tmp_path: Path) -> None:
    spec = tmp_path / "redact.json"
    spec.write_text(
        json.dumps({R1: {"regions": [[1, 2, 3, 4]], "enhance": {"clahe": True}}}),
        encoding="utf-8",
    )
    merged = merge_specs(load_spec_file(spec), [(R1, Region(5, 6, 7, 8)), (R2, Region(0, 0, 9, 9))])
    assert merged[R1].regions == (Region(1, 2, 3, 4), Region(5, 6, 7, 8))
    assert merged[R1].enhancement.clahe
    assert merged[R2].regions == (Region(0, 0, 9, 9),)
    spec.write_text(json.dumps({R1: {"regions": [[1, 2, 3]]}}), encoding="utf-8")
    with pytest.raises(RedactionError, match=r"a region is \[x, y, w, h\]"):
        load_spec_file(spec)
    spec.write_text("{", encoding="utf-8")
    with pytest.raises(RedactionError, match="is not JSON"):
        load_spec_file(spec)
    # "^[0-9a-f]{32}$" with re.match let a trailing newline through
    spec.write_text(json.dumps({R1 + "\n": {"regions": [[1, 2, 3, 4]]}}), encoding="utf-8")
    with pytest.raises(RedactionError, match="is not a read id with its redactions"):
        load_spec_file(spec)


def test_a_packet_holds_derived_copies_with_sidecars_and_untouched_originals(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    spec = DerivedSpec(regions=(Region(10, 10, 60, 30),))
    packet, _ = _packet(tmp_path, key, derived={f"{R1}-scene.jpg": _deriver(spec)})
    assert verify_packet(packet).intact
    bagit.Bag(str(packet)).validate()
    original = packet / "data" / "originals" / f"{R1}-scene.jpg"
    assert original.read_bytes() == SCENE_ONE
    copy = packet / "data" / "derived" / f"{R1}-scene.derived.png"
    sidecar = json.loads(copy.with_name(copy.name + ".json").read_text(encoding="utf-8"))
    assert sidecar["original"] == f"data/originals/{R1}-scene.jpg"
    assert sidecar["original_sha256"] == hashlib.sha256(SCENE_ONE).hexdigest()
    assert sidecar["derived_sha256"] == hashlib.sha256(copy.read_bytes()).hexdigest()
    assert sidecar["operations"] == [
        {"operation": "blur", "region": [10, 10, 60, 30], "method": "gaussian, applied twice",
         "kernel": 15, "sigma": 7.5}
    ]  # fmt: skip
    assert sorted(p.name for p in (packet / "data" / "derived").iterdir()) == [
        copy.name,
        copy.name + ".json",
    ]


def _pdf_pages(pdf: Path) -> list[str]:
    text = subprocess.run(
        [need_tool("pdftotext"), "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return text.rstrip("\f").split("\f")


def test_the_report_has_a_summary_and_a_page_per_read_each_with_the_packet_id(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    packet, _ = _packet(tmp_path, key, reads=5)
    pdf = packet / "data" / "report.pdf"
    info = subprocess.run(
        [need_tool("pdfinfo"), str(pdf)], capture_output=True, text=True, check=True
    )
    assert re.search(r"^Pages:\s+6$", info.stdout, re.MULTILINE), info.stdout
    assert info.stderr == ""
    pages = _pdf_pages(pdf)
    assert len(pages) == 6
    assert "Evidence packet: case 2026-CR-0042" in pages[0]
    for number, page in enumerate(pages, start=1):
        assert "c" * 32 in page
        assert f"Page {number} of 6" in page
    assert "ABC123 (WY)" in pages[1]
    assert "Lincolnway (cam-1)" in pages[1]
    assert "0.93" in pages[1]
    assert "evidence by det" in pages[1]
    assert "leaving scene" in pages[1]
    for first_last in (1, 6):
        done = subprocess.run(
            ["pdftoppm", "-r", "40", "-png", "-f", str(first_last), "-l", str(first_last),
             str(pdf), str(tmp_path / "page")],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
    rendered = sorted(tmp_path.glob("page*.png"))
    assert len(rendered) == 2
    # The read pages show their images: far from a blank page.
    import cv2

    last = cv2.imread(str(rendered[-1]), cv2.IMREAD_GRAYSCALE)
    assert (last < 200).mean() > 0.05


def test_the_bag_is_bagit_1_0_and_writing_leaves_the_working_directory_alone(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    before = os.getcwd()
    results: list[Path] = []
    errors: list[BaseException] = []

    def export(index: int) -> None:
        try:
            results.append(_packet(tmp_path / f"out{index}", key)[0])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=export, args=(index,)) for index in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert os.getcwd() == before
    for packet in results:
        assert (packet / "bagit.txt").read_text(encoding="utf-8") == (
            "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
        )
        bag = bagit.Bag(str(packet))
        assert bag.version_info == (1, 0)
        bag.validate()
        assert verify_packet(packet).intact


def test_the_hubs_events_go_into_custody_and_are_checked(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    hub_event = _hub_event(7, "0" * 64, R1)
    hub = HubCustody(source="audit log of the hub at http://hub", included=True, events=[hub_event])
    packet, _ = _packet(tmp_path, key, hub=hub)
    custody = json.loads((packet / "data" / "custody.json").read_text(encoding="utf-8"))
    assert custody["hub"]["events"] == [hub_event]
    report = verify_packet(packet)
    assert report.intact, report.problems
    assert any("hub's events" in check for check in report.checked)

    offline, _ = _packet(
        tmp_path / "offline",
        key,
        hub=HubCustody(source="hub", included=False, note="not included: unreachable"),
    )
    custody = json.loads((offline / "data" / "custody.json").read_text(encoding="utf-8"))
    assert custody["hub"] == {
        "source": "hub", "included": False, "note": "not included: unreachable", "events": [],
    }  # fmt: skip


def test_the_hub_checks_name_a_missing_or_different_receipt_and_a_foreign_key(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    packet, manifest = _packet(tmp_path, key)
    from app.export.sign import public_key_b64

    own_key = public_key_b64(key)
    asked: list[tuple[str, str]] = []

    def hub(receipt: str | None, device_key: str | None, **extra: Any) -> Any:
        def lookup(packet_id: str, device_id: str) -> HubRecord:
            asked.append((packet_id, device_id))
            return HubRecord("http://hub", receipt, DEVICE, device_key, **extra)

        return lookup

    checked = verify_packet(packet, hub=hub(manifest, own_key))
    assert checked.valid
    assert checked.origin == f"signed by the key the hub at http://hub holds for device {DEVICE}"
    assert asked[-1] == ("c" * 32, DEVICE)
    problems = verify_packet(packet, hub=hub(None, own_key)).problems
    assert problems == [f"the hub at http://hub holds no receipt for packet {'c' * 32}"]
    problems = verify_packet(packet, hub=hub("0" * 64, own_key)).problems
    assert "its SHA-256 differs from the receipt's manifest hash" in problems[0]
    foreign = public_key_b64(Ed25519PrivateKey.generate())
    forged = verify_packet(packet, hub=hub(manifest, foreign))
    assert (forged.intact, forged.origin_verified, forged.valid) == (True, False, False)
    problems = forged.problems
    assert problems == [
        f"signature.ed25519 is not a valid signature by the key the hub at http://hub holds "
        f"for device {DEVICE}"
    ]
    problems = verify_packet(packet, hub=hub(None, None, unreachable="no answer")).problems
    assert problems == ["the hub at http://hub could not be asked: no answer"]


def test_a_jpeg_header_is_read_for_the_report() -> None:
    assert jpeg_info(jpeg(64, 48, 9)) is not None
    info = jpeg_info(jpeg(64, 48, 9))
    assert info is not None
    assert (info.width, info.height, info.components) == (64, 48, 3)
    assert jpeg_info(b"not a jpeg") is None
