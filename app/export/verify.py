"""Verify a packet: bag completeness and hashes, signature, audit chain; and online,
the hub's receipt for the packet and the public key the hub holds for the device.

Two questions, answered apart:
- intact: the hashes, the manifests, the signature (by the key inside the packet) and
  the audit chain agree. Anyone who edits a packet can recompute its manifests and
  re-sign it with a fresh key, so this alone says nothing about who made it;
- origin: the packet was signed by a key the checker trusts: one given (`public_key`,
  `trusted_keys`, e.g. the agency's published device keys) or the one the hub holds
  for the exporting device (online). Without either, the origin is "not checked" and
  the report is not `valid`.

Offline it needs no profile, no keyring and no network. Online, `hub` is a lookup
(the caller owns the HTTP client: app.export does not import app.sync). Every check
runs (so the report says what was checked); problems are listed in the order
found, the first one first. A ZIP is checked before anything is written (member
count, sizes and compression ratios against `ZipLimits`), then each member is
streamed out under those caps and hashed as it streams.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Sequence
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
from app.export.sign import KeyFormatError, load_public_key, raw_public, signature_ok

REQUIRED_INFO = ("Case-Number", "Packet-Id", "Exporting-User", "Source-Organization")
_PEM = re.compile(r"-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----", re.DOTALL)


@dataclass(frozen=True)
class ZipLimits:
    """What a packet ZIP may hold before anything of it is written out."""

    member_bytes: int = 256 << 20  # one member, uncompressed (an original, the report)
    total_bytes: int = 4 << 30  # all members, uncompressed
    members: int = 100_000
    ratio: int = 100  # uncompressed / compressed, for members over ratio_floor bytes
    ratio_floor: int = 1 << 20


@dataclass(frozen=True)
class TrustedKey:
    """A public key the checker trusts (an agency's device key), with a name for it."""

    raw: bytes  # the 32 raw Ed25519 bytes
    label: str

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()[:16]


def load_trusted_keys(text: str, *, source: str = "the trusted keys") -> list[TrustedKey]:
    """Keys from a file: PEM blocks, and lines `BASE64_KEY [label]` ('#' starts a comment)."""
    keys: list[TrustedKey] = []
    for number, block in enumerate(_PEM.findall(text), start=1):
        try:
            key = load_public_key(block)
        except KeyFormatError as exc:
            raise KeyFormatError(f"{source}: PEM key {number}: {exc}") from exc
        keys.append(TrustedKey(raw_public(key), f"PEM key {number} of {source}"))
    for number, line in enumerate(_PEM.sub("", text).splitlines(), start=1):
        words = line.split("#", 1)[0].split(maxsplit=1)
        if not words:
            continue
        try:
            key = load_public_key(words[0])
        except KeyFormatError as exc:
            raise KeyFormatError(
                f"{source}, line {number}: {exc}; write one key a line, as base64 of its "
                "32 raw bytes, optionally followed by a name"
            ) from exc
        label = words[1].strip() if len(words) > 1 else f"line {number} of {source}"
        keys.append(TrustedKey(raw_public(key), label))
    if not keys:
        raise KeyFormatError(f"{source} holds no public key")
    return keys


@dataclass(frozen=True)
class HubRecord:
    """What the hub holds for a packet; `unreachable` says why the hub could not be asked."""

    hub_url: str
    receipt_manifest_sha256: str | None = None  # None: the hub has no receipt
    receipt_device_id: str | None = None
    device_public_key: str | None = None  # None: the hub holds no key for the device
    unreachable: str | None = None


HubLookup = Callable[[str, str], HubRecord]  # (packet id, device id) -> what the hub holds


class ProblemKind(enum.Enum):
    INTEGRITY = "integrity"  # the packet is not whole: hashes, manifests, signature, chain
    ORIGIN = "origin"  # whole, but not shown to come from a trusted key or the hub


NOT_CHECKED = (
    "not checked: no trusted key was given and no hub was asked, so this only shows the "
    "packet is consistent with itself (anyone who edits a packet can re-sign it with a "
    "key of their own); give --trusted-keys FILE, --public-key FILE or --hub URL"
)


@dataclass
class VerifyReport:
    checked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # all of them, in the order found
    origin_problems: list[str] = field(default_factory=list)  # those of kind ORIGIN
    vouched_by: list[str] = field(default_factory=list)  # what showed where it came from
    kinds: set[ProblemKind] = field(default_factory=set)

    def problem(self, text: str, kind: ProblemKind = ProblemKind.INTEGRITY) -> None:
        self.kinds.add(kind)
        if text not in self.problems:
            self.problems.append(text)
        if kind is ProblemKind.ORIGIN and text not in self.origin_problems:
            self.origin_problems.append(text)

    def vouch(self, text: str) -> None:
        self.vouched_by.append(text)

    @property
    def intact(self) -> bool:
        """Hashes, manifests, the packet's own signature and the audit chain agree."""
        return ProblemKind.INTEGRITY not in self.kinds

    @property
    def origin_verified(self) -> bool:
        """Intact, and signed by a trusted key or the key the hub holds for the device."""
        return self.intact and bool(self.vouched_by) and ProblemKind.ORIGIN not in self.kinds

    @property
    def valid(self) -> bool:
        return self.origin_verified

    @property
    def origin(self) -> str:
        if self.origin_verified:
            return "signed by " + "; and by ".join(self.vouched_by)
        if not self.intact:
            return "not verified: the packet is not intact"
        if self.origin_problems:
            return "not verified: " + self.origin_problems[0]
        return NOT_CHECKED

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "intact": self.intact,
            "origin_verified": self.origin_verified,
            "origin": self.origin,
            "checked": self.checked,
            "problems": self.problems,
        }


def verify_packet(
    path: Path,
    *,
    public_key: str | None = None,
    trusted_keys: Sequence[TrustedKey] = (),
    hub: HubLookup | None = None,
    limits: ZipLimits = ZipLimits(),
) -> VerifyReport:
    """Check a packet folder or its ZIP. `public_key` (base64 raw or PEM text) and
    `trusted_keys` are keys the caller trusts: the packet must be signed by one of them;
    `hub`, when given, is asked for the packet's receipt and the device's key.
    Raises KeyFormatError when `public_key` cannot be read."""
    pinned = list(trusted_keys)
    if public_key:  # KeyFormatError when it cannot be read: the caller's mistake
        pinned.insert(0, TrustedKey(raw_public(load_public_key(public_key)), "the key given"))
    if path.is_file() and zipfile.is_zipfile(path):
        with tempfile.TemporaryDirectory(prefix="platedesk-verify-") as scratch:
            report = VerifyReport()
            unzipped = _unzip(path, Path(scratch), report, limits)
            if unzipped is None:
                return report
            folder, digests = unzipped
            return _verify_folder(folder, pinned=pinned, hub=hub, report=report, digests=digests)
    if not path.is_dir():
        report = VerifyReport()
        if path.is_file() and path.suffix.lower() == ".zip":
            report.problem(
                f"{path} is not a readable ZIP: its directory is missing or damaged "
                "(cut short in a copy?)"
            )
        else:
            report.problem(f"{path} is neither a packet folder nor a packet ZIP")
        return report
    return _verify_folder(path, pinned=pinned, hub=hub, report=VerifyReport(), digests={})


Digests = dict[str, dict[str, str]]  # relative path -> algorithm -> hex digest


def _unzip(
    path: Path, scratch: Path, report: VerifyReport, limits: ZipLimits
) -> tuple[Path, Digests] | None:
    """Check the ZIP's directory against `limits`, then stream each member out under
    those caps, hashing it as it streams. None (and a problem) when it must not be opened."""
    report.checked.append(
        "ZIP archive: one packet folder, no path leaving it, sizes and compression "
        f"ratios within limits (a member at most {limits.member_bytes >> 20} MiB, "
        f"all at most {limits.total_bytes >> 20} MiB)"
    )
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        report.problem(f"the ZIP cannot be read: {exc}")
        return None
    with archive:
        infos = archive.infolist()
        refusal = _zip_refusal(infos, limits)
        if refusal is not None:
            report.problem(refusal)
            return None
        top = PurePosixPath(infos[0].filename).parts[0]
        digests: Digests = {}
        for info in infos:
            target = scratch.joinpath(*PurePosixPath(info.filename).parts)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                hashed = _stream_member(archive, info, target, limits)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
                report.problem(
                    f"the ZIP is damaged: its member {info.filename} cannot be read ({exc})"
                )
                return None
            if hashed is None:
                report.problem(
                    f"the ZIP member {info.filename} holds more than its directory says "
                    f"({info.file_size} bytes) or than the limit allows"
                )
                return None
            relative = PurePosixPath(*PurePosixPath(info.filename).parts[1:]).as_posix()
            digests[relative] = hashed
    return scratch / top, digests


def _zip_refusal(infos: Sequence[zipfile.ZipInfo], limits: ZipLimits) -> str | None:
    """Why the ZIP's directory alone rules it out, or None."""
    names = [info.filename for info in infos]
    if not names:
        return "the ZIP is empty"
    tops = {PurePosixPath(name).parts[0] for name in names if PurePosixPath(name).parts}
    unsafe = [
        name
        for name in names
        if PurePosixPath(name).is_absolute()
        or ".." in PurePosixPath(name).parts
        or "\\" in name
        or not PurePosixPath(name).parts
    ]
    if unsafe or len(tops) != 1:
        where = unsafe[0] if unsafe else ", ".join(sorted(tops))
        return f"the ZIP does not hold exactly one packet folder ({where})"
    if len(set(names)) != len(names):
        twice = sorted({name for name in names if names.count(name) > 1})[0]
        return f"the ZIP holds {twice} more than once"
    if len(infos) > limits.members:
        return f"the ZIP holds {len(infos)} members, more than the limit of {limits.members}"
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            return f"the ZIP member {info.filename} is encrypted; a packet is never encrypted"
        if info.file_size > limits.member_bytes:
            return (
                f"the ZIP member {info.filename} is {info.file_size >> 20} MiB uncompressed, "
                f"more than the limit of {limits.member_bytes >> 20} MiB for one file; "
                "it was not extracted"
            )
        if info.file_size > limits.ratio_floor and info.file_size > limits.ratio * max(
            info.compress_size, 1
        ):
            return (
                f"the ZIP member {info.filename} would expand {info.file_size // max(info.compress_size, 1)} "
                f"times (more than {limits.ratio}): a ZIP bomb, not a packet; it was not extracted"
            )
        total += info.file_size
    if total > limits.total_bytes:
        return (
            f"the ZIP's members are {total >> 20} MiB uncompressed, more than the limit of "
            f"{limits.total_bytes >> 20} MiB; nothing was extracted"
        )
    return None


def _stream_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, limits: ZipLimits
) -> dict[str, str] | None:
    """Copy one member to `target` in blocks, hashing as it goes; None when it holds more
    bytes than its directory entry declares (or than the limit)."""
    cap = min(info.file_size, limits.member_bytes)
    hashers = {name: hashlib.new(name) for name in ("sha256", "sha512")}
    written = 0
    with archive.open(info) as source, target.open("wb") as sink:
        while block := source.read(1 << 20):
            written += len(block)
            if written > cap:
                return None
            sink.write(block)
            for hasher in hashers.values():
                hasher.update(block)
    return {name: hasher.hexdigest() for name, hasher in hashers.items()}


def _verify_folder(
    folder: Path,
    *,
    pinned: Sequence[TrustedKey],
    hub: HubLookup | None,
    report: VerifyReport,
    digests: Digests,
) -> VerifyReport:
    bag = _check_bag(folder, report, digests)
    _check_unlisted_files(folder, bag, report)
    _check_signature(folder, report)
    _check_audit(folder, report)
    if pinned:
        _check_pinned(folder, pinned, report)
    if hub is not None:
        _check_hub(folder, bag, hub, report)
    return report


def _check_hub(folder: Path, bag: bagit.Bag | None, hub: HubLookup, report: VerifyReport) -> None:
    packet_id = str(bag.info.get("Packet-Id", "")) if bag is not None else ""
    device_id = str(bag.info.get("Exporting-Device", "")) if bag is not None else ""
    report.checked.append("the hub holds a receipt for the packet with the same manifest hash")
    report.checked.append("the signature checks with the public key the hub holds for the device")
    if not packet_id or not device_id:
        report.problem(
            "bag-info.txt names no Packet-Id or Exporting-Device to ask the hub about",
            ProblemKind.ORIGIN,
        )
        return
    record = hub(packet_id, device_id)
    where = f"the hub at {record.hub_url}"
    if record.unreachable is not None:
        report.problem(f"{where} could not be asked: {record.unreachable}", ProblemKind.ORIGIN)
        return
    try:
        signed = (folder / SIGNED_FILE).read_bytes()
        signature = (folder / SIGNATURE_FILE).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        report.problem(f"the packet cannot be checked against {where}: {exc}", ProblemKind.ORIGIN)
        return
    if record.receipt_manifest_sha256 is None:
        report.problem(f"{where} holds no receipt for packet {packet_id}", ProblemKind.ORIGIN)
    elif record.receipt_manifest_sha256 != hashlib.sha256(signed).hexdigest():
        report.problem(
            f"{SIGNED_FILE} is not the one {where} recorded for packet {packet_id} "
            "(its SHA-256 differs from the receipt's manifest hash)",
            ProblemKind.ORIGIN,
        )
    elif record.receipt_device_id not in (None, device_id):
        report.problem(
            f"{where} recorded packet {packet_id} from device {record.receipt_device_id}, "
            f"not {device_id} as bag-info.txt says",
            ProblemKind.ORIGIN,
        )
    if record.device_public_key is None:
        report.problem(f"{where} holds no public key for device {device_id}", ProblemKind.ORIGIN)
        return
    try:
        key = load_public_key(record.device_public_key)
    except KnownError as exc:
        report.problem(
            f"the key {where} holds for device {device_id} cannot be read: {exc}",
            ProblemKind.ORIGIN,
        )
        return
    if not signature_ok(key, signature, signed):
        report.problem(
            f"{SIGNATURE_FILE} is not a valid signature by the key {where} holds for "
            f"device {device_id}",
            ProblemKind.ORIGIN,
        )
        return
    report.vouch(f"the key {where} holds for device {device_id}")


def _check_bag(folder: Path, report: VerifyReport, digests: Digests) -> bagit.Bag | None:
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
        known = digests.get(relative)  # hashed while it streamed out of the ZIP
        found = known if known is not None else _hashes(path, expected)
        for algorithm, digest in found.items():
            if algorithm not in expected:
                continue
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


def _check_signature(folder: Path, report: VerifyReport) -> None:
    report.checked.append(
        f"Ed25519 signature {SIGNATURE_FILE} over {SIGNED_FILE} with {PUBLIC_KEY_FILE} "
        "(the key inside the packet: this shows the packet is whole, not who made it)"
    )
    try:
        packet_key = load_public_key((folder / PUBLIC_KEY_FILE).read_text(encoding="ascii"))
        signature = (folder / SIGNATURE_FILE).read_text(encoding="ascii")
        signed = (folder / SIGNED_FILE).read_bytes()
    except (OSError, UnicodeDecodeError, KeyFormatError) as exc:
        report.problem(f"the signature cannot be checked: {exc}")
        return
    if not signature_ok(packet_key, signature, signed):
        report.problem(f"{SIGNATURE_FILE} is not a valid signature of {SIGNED_FILE} by the key")


def _check_pinned(folder: Path, pinned: Sequence[TrustedKey], report: VerifyReport) -> None:
    """The packet's key is one the caller trusts (its signature was checked above)."""
    report.checked.append(
        f"{PUBLIC_KEY_FILE} is one of the {len(pinned)} trusted key(s) given"
        if len(pinned) > 1
        else f"{PUBLIC_KEY_FILE} is the public key given"
    )
    try:
        raw = raw_public(load_public_key((folder / PUBLIC_KEY_FILE).read_text(encoding="ascii")))
    except (OSError, UnicodeDecodeError, KeyFormatError) as exc:
        report.problem(f"the packet's key cannot be compared: {exc}", ProblemKind.ORIGIN)
        return
    for trusted in pinned:
        if trusted.raw == raw:
            report.vouch(f"{trusted.label} (key SHA-256 {trusted.fingerprint}...)")
            return
    fingerprint = hashlib.sha256(raw).hexdigest()[:16]
    report.problem(
        f"{PUBLIC_KEY_FILE} is not the public key given"
        if len(pinned) == 1
        else f"{PUBLIC_KEY_FILE} (key SHA-256 {fingerprint}...) is none of the "
        f"{len(pinned)} trusted keys given",
        ProblemKind.ORIGIN,
    )


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
