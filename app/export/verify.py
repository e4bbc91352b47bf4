"""Verify a packet: bag completeness and hashes, signature, audit chain; and online,
the hub's receipt for the packet and the public key the hub holds for the device.

Offline it needs no profile, no keyring and no network. Online, `hub` is a lookup
(the caller owns the HTTP client: app.export does not import app.sync). Every check
runs (so the report says what was checked); problems are listed in the order
found, the first one first.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import bagit

from app.core.audit_chain import event_hash, verify_chain
from app.core.errors import KnownError
from app.export.packet import (
    PUBLIC_KEY_FILE,
    SIGNATURE_FILE,
    SIGNED_FILE,
    UNLISTED_TAG_FILES,
)
from app.export.sign import load_public_key, raw_public, signature_ok

REQUIRED_INFO = ("Case-Number", "Packet-Id", "Exporting-User", "Source-Organization")


@dataclass(frozen=True)
class HubRecord:
    """What the hub holds for a packet; `unreachable` says why the hub could not be asked."""

    hub_url: str
    receipt_manifest_sha256: str | None = None  # None: the hub has no receipt
    receipt_device_id: str | None = None
    device_public_key: str | None = None  # None: the hub holds no key for the device
    unreachable: str | None = None


HubLookup = Callable[[str, str], HubRecord]  # (packet id, device id) -> what the hub holds


@dataclass
class VerifyReport:
    valid: bool = True
    checked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        self.valid = False
        if text not in self.problems:
            self.problems.append(text)

    def as_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "checked": self.checked, "problems": self.problems}


def verify_packet(
    path: Path, *, public_key: str | None = None, hub: HubLookup | None = None
) -> VerifyReport:
    """Check a packet folder or its ZIP; `public_key` (base64 raw or PEM text), when given,
    must be the key in the packet and is the one the signature is checked with; `hub`,
    when given, is asked for the packet's receipt and the device's key."""
    if path.is_file() and zipfile.is_zipfile(path):
        with tempfile.TemporaryDirectory(prefix="platedesk-verify-") as scratch:
            report = VerifyReport()
            folder = _unzip(path, Path(scratch), report)
            if folder is None:
                return report
            return _verify_folder(folder, public_key=public_key, hub=hub, report=report)
    if not path.is_dir():
        report = VerifyReport()
        report.problem(f"{path} is neither a packet folder nor a packet ZIP")
        return report
    return _verify_folder(path, public_key=public_key, hub=hub, report=VerifyReport())


def _unzip(path: Path, scratch: Path, report: VerifyReport) -> Path | None:
    report.checked.append("ZIP archive: one packet folder, no path leaving it")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        tops = {PurePosixPath(name).parts[0] for name in names if name}
        unsafe = [
            name
            for name in names
            if PurePosixPath(name).is_absolute() or ".." in PurePosixPath(name).parts
        ]
        if unsafe or len(tops) != 1:
            report.problem(
                f"the ZIP does not hold exactly one packet folder ({unsafe[0] if unsafe else ', '.join(sorted(tops))})"
            )
            return None
        archive.extractall(scratch)
    return scratch / tops.pop()


def _verify_folder(
    folder: Path, *, public_key: str | None, hub: HubLookup | None, report: VerifyReport
) -> VerifyReport:
    bag = _check_bag(folder, report)
    _check_unlisted_files(folder, bag, report)
    _check_signature(folder, public_key, report)
    _check_audit(folder, report)
    if hub is not None:
        _check_hub(folder, bag, hub, report)
    return report


def _check_hub(folder: Path, bag: bagit.Bag | None, hub: HubLookup, report: VerifyReport) -> None:
    packet_id = str(bag.info.get("Packet-Id", "")) if bag is not None else ""
    device_id = str(bag.info.get("Exporting-Device", "")) if bag is not None else ""
    report.checked.append("the hub holds a receipt for the packet with the same manifest hash")
    report.checked.append("the signature checks with the public key the hub holds for the device")
    if not packet_id or not device_id:
        report.problem("bag-info.txt names no Packet-Id or Exporting-Device to ask the hub about")
        return
    record = hub(packet_id, device_id)
    where = f"the hub at {record.hub_url}"
    if record.unreachable is not None:
        report.problem(f"{where} could not be asked: {record.unreachable}")
        return
    try:
        signed = (folder / SIGNED_FILE).read_bytes()
        signature = (folder / SIGNATURE_FILE).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        report.problem(f"the packet cannot be checked against {where}: {exc}")
        return
    if record.receipt_manifest_sha256 is None:
        report.problem(f"{where} holds no receipt for packet {packet_id}")
    elif record.receipt_manifest_sha256 != hashlib.sha256(signed).hexdigest():
        report.problem(
            f"{SIGNED_FILE} is not the one {where} recorded for packet {packet_id} "
            "(its SHA-256 differs from the receipt's manifest hash)"
        )
    elif record.receipt_device_id not in (None, device_id):
        report.problem(
            f"{where} recorded packet {packet_id} from device {record.receipt_device_id}, "
            f"not {device_id} as bag-info.txt says"
        )
    if record.device_public_key is None:
        report.problem(f"{where} holds no public key for device {device_id}")
        return
    try:
        key = load_public_key(record.device_public_key)
    except KnownError as exc:
        report.problem(f"the key {where} holds for device {device_id} cannot be read: {exc}")
        return
    if not signature_ok(key, signature, signed):
        report.problem(
            f"{SIGNATURE_FILE} is not a valid signature by the key {where} holds for "
            f"device {device_id}"
        )


def _check_bag(folder: Path, report: VerifyReport) -> bagit.Bag | None:
    report.checked.append("BagIt structure (bagit.txt, bag-info.txt, manifests)")
    try:
        bag = bagit.Bag(str(folder))
    except bagit.BagError as exc:
        report.problem(f"not a valid bag: {exc}")
        return None
    report.checked.append("bag-info.txt names " + ", ".join(REQUIRED_INFO))
    for name in REQUIRED_INFO:
        if not bag.info.get(name):
            report.problem(f"bag-info.txt has no {name}")
    report.checked.append("completeness: every payload file listed, every listed file present")
    found_before = len(report.problems)
    only_in_manifests, only_on_disk = bag.compare_manifests_with_fs()
    for name in sorted(only_in_manifests):
        report.problem(f"{name} is missing (listed in the manifest)")
    for name in sorted(only_on_disk):
        report.problem(f"{name} was added (not in the manifest)")
    report.checked.append("every file's SHA-256 and SHA-512 against the (tag) manifests")
    for relative, expected in sorted(bag.entries.items()):
        path = folder / relative
        if not path.is_file():
            if not relative.startswith("data/"):
                report.problem(f"{relative} is missing (listed in the tag manifest)")
            continue
        for algorithm, digest in _hashes(path, expected).items():
            if digest != str(expected[algorithm]).lower():
                report.problem(
                    f"{relative} was altered: its {algorithm} does not match the manifest"
                )
                break
    report.checked.append("bagit: bagit.txt, Payload-Oxum (file count and bytes)")
    try:
        bag.validate(processes=1, fast=True)
    except bagit.BagError as exc:
        if len(report.problems) == found_before:
            report.problem(f"the bag does not validate: {getattr(exc, 'message', exc)}")
    return bag


def _hashes(path: Path, expected: dict[str, str]) -> dict[str, str]:
    """The file's digests in the manifests' algorithms, read once in blocks."""
    hashers = {name: hashlib.new(name) for name in expected if name in hashlib.algorithms_available}
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            for hasher in hashers.values():
                hasher.update(block)
    return {name: hasher.hexdigest() for name, hasher in hashers.items()}


def _check_unlisted_files(folder: Path, bag: bagit.Bag | None, report: VerifyReport) -> None:
    """Only the signature files may sit outside the manifests."""
    if bag is None:
        return
    report.checked.append(
        f"no file outside the payload but the tag files, {SIGNATURE_FILE} and {PUBLIC_KEY_FILE}"
    )
    listed = {name for name in bag.entries if not name.startswith("data/")}
    allowed = listed | set(UNLISTED_TAG_FILES)
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if relative == "data" or relative.startswith("data/") or path.is_dir():
            continue
        if relative.startswith("tagmanifest-") or relative.startswith("manifest-"):
            continue
        if relative not in allowed:
            report.problem(f"{relative} was added (no manifest lists it)")


def _check_signature(folder: Path, public_key: str | None, report: VerifyReport) -> None:
    report.checked.append(
        f"Ed25519 signature {SIGNATURE_FILE} over {SIGNED_FILE}"
        + (" with the given public key" if public_key else f" with {PUBLIC_KEY_FILE}")
    )
    try:
        packet_key_text = (folder / PUBLIC_KEY_FILE).read_text(encoding="ascii")
        signature = (folder / SIGNATURE_FILE).read_text(encoding="ascii")
        signed = (folder / SIGNED_FILE).read_bytes()
    except (OSError, UnicodeDecodeError) as exc:
        report.problem(f"the signature cannot be checked: {exc}")
        return
    try:
        packet_key = load_public_key(packet_key_text)
        key = load_public_key(public_key) if public_key else packet_key
    except KnownError as exc:
        report.problem(f"the signature cannot be checked: {exc}")
        return
    if raw_public(key) != raw_public(packet_key):
        report.problem(f"{PUBLIC_KEY_FILE} is not the public key given")
    if not signature_ok(key, signature, signed):
        report.problem(f"{SIGNATURE_FILE} is not a valid signature of {SIGNED_FILE} by the key")


def _check_audit(folder: Path, report: VerifyReport) -> None:
    report.checked.append("data/audit-excerpt.json: hash chain links up and each hash matches")
    try:
        excerpt = json.loads((folder / "data" / "audit-excerpt.json").read_text(encoding="utf-8"))
        custody = json.loads((folder / "data" / "custody.json").read_text(encoding="utf-8"))
        events = list(excerpt["events"])
        chain_problems = verify_chain(
            events, start_seq=int(excerpt["first_seq"]), start_hash=str(excerpt["start_hash"])
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        report.problem(f"the audit excerpt cannot be read: {exc!r}")
        return
    for chain_problem in chain_problems:
        report.problem(f"audit excerpt: {chain_problem}")
    by_seq = {int(event["seq"]): event for event in events}
    missing = [seq for seq in excerpt.get("case_seqs", []) if int(seq) not in by_seq]
    if missing:
        report.problem(f"audit excerpt: events {missing[:5]} of the case are not in it")
    report.checked.append("data/custody.json: each event's hash, and the same event as the excerpt")
    for event in custody.get("events", []):
        try:
            own = event_hash(event)
        except ValueError as exc:
            report.problem(f"custody: {exc}")
            continue
        seq = int(event["seq"])
        if own != event.get("hash"):
            report.problem(f"custody: event {seq}'s contents do not match its hash")
        elif seq in by_seq and by_seq[seq]["hash"] != own:
            report.problem(f"custody: event {seq} differs from the audit excerpt")
    hub = custody.get("hub")
    if isinstance(hub, dict) and hub.get("events"):
        report.checked.append("data/custody.json: each of the hub's events matches its hash")
        for event in hub["events"]:
            try:
                own = event_hash(event)
            except (ValueError, TypeError) as exc:
                report.problem(f"custody: a hub event cannot be checked: {exc}")
                continue
            if own != event.get("hash"):
                report.problem(
                    f"custody: hub event {event.get('seq')}'s contents do not match its hash"
                )
