"""Write a case packet: a BagIt bag (RFC 8493) with a detached Ed25519 signature.

Layout of a packet folder (or of the one folder inside its ZIP):

    bagit.txt, bag-info.txt            BagIt-Version 1.0; case, agency, user, time, packet id
    manifest-sha256.txt, manifest-sha512.txt        every payload file's hashes
    tagmanifest-sha256.txt, tagmanifest-sha512.txt  hashes of the four files above
    signature.ed25519       base64 Ed25519 signature over tagmanifest-sha256.txt's bytes
    device-public-key.txt   base64 of the signing device's raw 32-byte public key
    data/originals/<read_id>-scene.jpg, <read_id>-crop.jpg   byte-identical to the hub's
    data/derived/<name>.png, <name>.png.json   enhanced or redacted copies, each with a
                            record of the operations applied and of its original (SHA-256)
    data/report.pdf         case summary, then one page per read (app.export.report)
    data/reads.csv, data/reads.json     every field of every read, with its review marks
    data/custody.json       journal events touching these reads, and the export's own;
                            the hub's own events for the case (holds, receipts) when online
    data/audit-excerpt.json the device's hash chain from the first to the last event
                            concerning the case, verifiable on its own (other cases'
                            events between them withheld: seq, links and hash only)

The two signature files are written after the bag, so no manifest lists them:
RFC 8493 allows tag files that no tag manifest lists, and `bagit.Bag.validate()`
accepts them. The signature covers the tag manifest, which covers the payload
manifests, which cover every payload file. `verify` refuses any other unlisted file.

The packet is built in `.<name>.partial` next to its final place and renamed when
complete, so a failed or cancelled export never leaves something that looks like a
packet. One read at a time is in memory (app.export.bag hashes files as it writes
them; app.export.report streams the PDF), so memory stays flat with the read count.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.core.audit_chain import withheld
from app.core.canonical import utc_iso
from app.core.errors import KnownError
from app.export.bag import CHECKSUMS, BagWriter
from app.export.report import ReportWriter
from app.export.sign import public_key_b64, sign_b64

SIGNED_FILE = "tagmanifest-sha256.txt"
SIGNATURE_FILE = "signature.ed25519"
PUBLIC_KEY_FILE = "device-public-key.txt"
UNLISTED_TAG_FILES = (SIGNATURE_FILE, PUBLIC_KEY_FILE)
ORIGINALS_DIR = "originals"
DERIVED_DIR = "derived"
REPORT_FILE = "report.pdf"
READ_FIELDS = (
    "read_id",
    "plate",
    "state",
    "confidence",
    "captured_at",
    "camera_id",
    "camera_name",
    "latitude",
    "longitude",
    "direction",
    "make",
    "model",
    "color",
    "body_type",
    "features",
    "image_sha256",
    "crop_sha256",
)
# Who marked each read as evidence and who confirmed its hold (issue 22): columns of
# reads.csv after READ_FIELDS, keys of reads.json, and the custody's "evidence" list.
EVIDENCE_FIELDS = (
    "marked_by",
    "marked_at",
    "evidence_note",
    "hold",
    "confirmed_by",
    "confirmed_at",
    "legal_basis",
    "legal_basis_text",
    "review_date",
)
_COPY_BLOCK = 1 << 20


class CancelFlag(Protocol):
    """What the writer asks of a cancel flag: a threading.Event, or the packet writer
    process's view of its parent's (app.export.worker)."""

    def is_set(self) -> bool: ...


class ExportCancelled(KnownError):
    """The user cancelled the export; nothing that looks like a packet was left."""


class ExportFailed(KnownError):
    """The packet could not be built; nothing that looks like a packet was left."""


@dataclass(frozen=True)
class ExportProgress:
    stage: str  # "originals", "records", "manifests", "signature", "zip", "done"
    done: int
    total: int


@dataclass(frozen=True)
class PacketInfo:
    """What bag-info.txt says about the packet."""

    packet_id: str
    case_number: str
    organization: str
    exporting_user: str
    device_id: str
    software_version: str
    bagged_at: datetime


@dataclass(frozen=True)
class Original:
    """One image for data/originals/: its file name, the SHA-256 it must have, its bytes,
    the read it belongs to and its kind ("scene" or "crop")."""

    name: str
    sha256: str
    load: Callable[[], bytes]
    read_id: str = ""
    kind: str = "scene"


@dataclass(frozen=True)
class DerivedCopy:
    data: bytes  # the derived file's bytes
    preview_jpeg: bytes  # what the report shows
    operations: list[dict[str, Any]]  # in the order applied, with their parameters


@dataclass(frozen=True)
class Derived:
    """A derived copy to make of one original (by its name) for data/derived/."""

    name: str
    make: Callable[[bytes], DerivedCopy]  # from the original's bytes


@dataclass(frozen=True)
class HubCustody:
    """The hub's own events about the case's evidence, or why they are not included."""

    source: str
    included: bool
    events: Sequence[Mapping[str, Any]] = ()
    note: str = ""


@dataclass(frozen=True)
class AuditExcerpt:
    """A run of one device's chain: events first_seq.. (each linked to the one before),
    starting from start_hash; case_seqs are the ones that concern the case."""

    device_id: str
    first_seq: int
    start_hash: str
    case_seqs: Sequence[int]
    events: Iterable[Mapping[str, Any]]


@dataclass(frozen=True)
class PacketResult:
    packet: Path
    packet_id: str
    reads: int
    files: int  # payload files
    receipt: str = ""  # the hub's receipt: "delivered", "pending" (sent later) or "refused"


@dataclass(frozen=True)
class BuiltPacket:
    result: PacketResult
    manifest_sha256: str  # SHA-256 of tagmanifest-sha256.txt, the signed file


def packet_name(*, case_number: str, packet_id: str, bagged_at: datetime) -> str:
    safe_case = re.sub(r"[^A-Za-z0-9_-]+", "_", case_number).strip("_") or "case"
    return f"packet-{safe_case}-{bagged_at:%Y%m%dT%H%M%SZ}-{packet_id[:8]}"


def write_packet(
    *,
    info: PacketInfo,
    reads: Sequence[Mapping[str, Any]],
    originals: Sequence[Original],
    custody: Sequence[Mapping[str, Any]],
    excerpt: AuditExcerpt,
    key: Ed25519PrivateKey,
    out_dir: Path,
    zip: bool = False,
    derived: Mapping[str, Derived] | None = None,
    hub_custody: HubCustody | None = None,
    progress: Callable[[ExportProgress], None] | None = None,
    cancel: CancelFlag | None = None,
) -> BuiltPacket:
    """Write the packet into out_dir (a folder, or a .zip when `zip`) and sign it.

    `reads` are plain records (READ_FIELDS plus "review_marks", a list of dicts);
    `originals` name their read; `derived` maps an original's name to the derived
    copy to make of it. One read at a time: its originals are checked and written,
    its derived copies made, its report page written; then the records, custody,
    audit excerpt and tag files. Raises ExportCancelled or ExportFailed, leaving no
    packet and no partial folder.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    name = packet_name(
        case_number=info.case_number, packet_id=info.packet_id, bagged_at=info.bagged_at
    )
    final = out_dir / (f"{name}.zip" if zip else name)
    if final.exists():
        raise ExportFailed(f"{final} already exists; choose another folder.")
    partial = out_dir / f".{name}.partial"
    partial_zip = out_dir / f".{name}.zip.partial"
    total = len(reads) + 3 + (1 if zip else 0)
    derived = derived or {}
    by_read: dict[str, list[Original]] = {}
    for original in originals:
        by_read.setdefault(original.read_id, []).append(original)

    def step(stage: str, done: int) -> None:
        if cancel is not None and cancel.is_set():
            raise ExportCancelled("The export was cancelled; no packet was written.")
        if progress is not None:
            progress(ExportProgress(stage=stage, done=done, total=total))

    bag: BagWriter | None = None
    try:
        shutil.rmtree(partial, ignore_errors=True)
        bag = BagWriter(partial, algorithms=CHECKSUMS)
        done = 0
        with bag.binary(REPORT_FILE) as pdf:
            report = ReportWriter(
                pdf,
                packet_id=info.packet_id,
                case_number=info.case_number,
                pages=1 + len(reads),
                title=f"Evidence packet {info.packet_id}, case {info.case_number}",
            )
            report.summary_page(facts=_summary_facts(info, reads, derived), reads=reads)
            for read in reads:
                step("originals", done)
                shown: dict[str, bytes] = {}
                note = ""
                for original in by_read.pop(str(read.get("read_id")), []):
                    data = _checked(original)
                    bag.add_bytes(f"{ORIGINALS_DIR}/{original.name}", data)
                    shown[original.kind] = data
                    copy_of = derived.get(original.name)
                    if copy_of is not None:
                        shown[original.kind] = _write_derived(bag, copy_of, original, data, info)
                        note = f"Shown: the derived copy data/{DERIVED_DIR}/{copy_of.name}"
                report.read_page(
                    read, scene=shown.get("scene"), crop=shown.get("crop"), scene_note=note
                )
                done += 1
            report.close()
        for rest in by_read.values():  # originals of no listed read (none expected)
            for original in rest:
                bag.add_bytes(f"{ORIGINALS_DIR}/{original.name}", _checked(original))
        step("records", done)
        _write_reads(bag, reads, info)
        with bag.text("custody.json") as handle:
            _dump_json(handle, _custody_document(info, custody, hub_custody, reads))
        _write_excerpt(bag, excerpt, info)
        done += 1
        step("manifests", done)
        signed = bag.finish(_bag_info(info), bagged_at=info.bagged_at)
        done += 1
        step("signature", done)
        (partial / SIGNATURE_FILE).write_text(sign_b64(key, signed) + "\n", encoding="ascii")
        (partial / PUBLIC_KEY_FILE).write_text(public_key_b64(key) + "\n", encoding="ascii")
        done += 1
        if zip:
            step("zip", done)
            _zip_folder(partial, partial_zip, top=name, cancel=cancel)
            done += 1
        step("done", done)
        if zip:
            os.replace(partial_zip, final)
            shutil.rmtree(partial)
        else:
            partial.rename(final)
    except OSError as exc:
        _abort(bag, partial, partial_zip)
        raise ExportFailed(f"The packet could not be written to {out_dir}: {exc}") from exc
    except BaseException:
        _abort(bag, partial, partial_zip)
        raise
    result = PacketResult(packet=final, packet_id=info.packet_id, reads=len(reads), files=bag.files)
    return BuiltPacket(result=result, manifest_sha256=hashlib.sha256(signed).hexdigest())


def _abort(bag: BagWriter | None, folder: Path, zip_file: Path) -> None:
    if bag is not None:
        bag.abort()
    _remove(folder, zip_file)


def _checked(original: Original) -> bytes:
    data = original.load()
    digest = hashlib.sha256(data).hexdigest()
    if digest != original.sha256:
        raise ExportFailed(
            f"The image {original.name} does not match its recorded SHA-256 "
            f"({digest} instead of {original.sha256}); the cache may be damaged."
        )
    return data


def _write_derived(
    bag: BagWriter, derived: Derived, original: Original, data: bytes, info: PacketInfo
) -> bytes:
    """Write the derived copy and its sidecar record; returns the copy's JPEG preview."""
    copy = derived.make(data)
    bag.add_bytes(f"{DERIVED_DIR}/{derived.name}", copy.data)
    sidecar = {
        "packet_id": info.packet_id,
        "read_id": original.read_id,
        "derived": f"data/{DERIVED_DIR}/{derived.name}",
        "derived_sha256": hashlib.sha256(copy.data).hexdigest(),
        "original": f"data/{ORIGINALS_DIR}/{original.name}",
        "original_sha256": original.sha256,
        "operations": copy.operations,
        "software": info.software_version,
        "made_at": utc_iso(info.bagged_at),
        "note": "The original is unchanged; this copy was made from it by the operations listed, "
        "in order.",
    }
    with bag.text(f"{DERIVED_DIR}/{derived.name}.json") as handle:
        _dump_json(handle, sidecar)
    return copy.preview_jpeg


def _summary_facts(
    info: PacketInfo, reads: Sequence[Mapping[str, Any]], derived: Mapping[str, Derived]
) -> list[tuple[str, str]]:
    times = sorted(str(read.get("captured_at")) for read in reads)
    return [
        ("Case number", info.case_number),
        ("Packet id", info.packet_id),
        ("Agency", info.organization),
        ("Exported by", f"{info.exporting_user} on device {info.device_id}"),
        ("Exported at (UTC)", utc_iso(info.bagged_at)),
        ("Software", info.software_version),
        ("Reads", str(len(reads))),
        ("Captured between", f"{times[0]} and {times[-1]}" if times else "-"),
        ("Derived copies", f"{len(derived)} (data/{DERIVED_DIR}/, each with a .json record)"),
        (
            "How to verify",
            "platedesk verify PACKET, or bagit.py --validate PACKET; the Ed25519 signature "
            f"{SIGNATURE_FILE} covers {SIGNED_FILE}.",
        ),
    ]


def _remove(folder: Path, zip_file: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    zip_file.unlink(missing_ok=True)


def _bag_info(info: PacketInfo) -> dict[str, str]:
    return {
        "Source-Organization": info.organization,
        "Case-Number": info.case_number,
        "Exporting-User": info.exporting_user,
        "Exporting-Device": info.device_id,
        "Bagging-Date": f"{info.bagged_at:%Y-%m-%d}",
        "Bagging-Time": utc_iso(info.bagged_at),
        "Software-Version": info.software_version,
        "Packet-Id": info.packet_id,
        "External-Description": (
            f"Evidence packet for case {info.case_number}: original images, read records, "
            "chain of custody and audit excerpt; signed with the exporting device's "
            f"Ed25519 key ({SIGNATURE_FILE} over {SIGNED_FILE})."
        ),
    }


def _csv_value(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return ";".join(str(item) for item in value)
    return value


def _write_reads(bag: BagWriter, reads: Sequence[Mapping[str, Any]], info: PacketInfo) -> None:
    with bag.text("reads.csv") as handle:
        writer = csv.writer(handle)
        writer.writerow([*READ_FIELDS, *EVIDENCE_FIELDS, "review_marks"])
        for read in reads:
            writer.writerow(
                [_csv_value(read.get(field)) for field in (*READ_FIELDS, *EVIDENCE_FIELDS)]
                + [json.dumps(read.get("review_marks", []), ensure_ascii=False, sort_keys=True)]
            )
    with bag.text("reads.json") as handle:
        handle.write(
            json.dumps(
                {"packet_id": info.packet_id, "case_number": info.case_number},
                ensure_ascii=False,
                sort_keys=True,
            )[:-1]
        )
        handle.write(', "reads": [')
        for index, read in enumerate(reads):
            handle.write(",\n " if index else "\n ")
            handle.write(json.dumps(dict(read), ensure_ascii=False, sort_keys=True))
        handle.write("\n]}\n")


def _custody_document(
    info: PacketInfo,
    custody: Sequence[Mapping[str, Any]],
    hub: HubCustody | None,
    reads: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "packet_id": info.packet_id,
        "case_number": info.case_number,
        "source": f"audit journal of device {info.device_id}",
        "events": [dict(event) for event in custody],
        # each read's evidence hold: who marked it, who confirmed it
        "evidence": [
            {"read_id": read.get("read_id"), **{key: read.get(key) for key in EVIDENCE_FIELDS}}
            for read in reads
            if read.get("marked_by") is not None
        ],
    }
    if hub is not None:
        document["hub"] = {
            "source": hub.source,
            "included": hub.included,
            "note": hub.note,
            "events": [dict(event) for event in hub.events],
        }
    return document


def _dump_json(handle: IO[str], document: Any) -> None:
    json.dump(document, handle, ensure_ascii=False, indent=1, sort_keys=True)
    handle.write("\n")


def _write_excerpt(bag: BagWriter, excerpt: AuditExcerpt, info: PacketInfo) -> None:
    """Streamed: the events may be many (every event between the case's first and last)."""
    head = {
        "packet_id": info.packet_id,
        "case_number": info.case_number,
        "device_id": excerpt.device_id,
        "first_seq": excerpt.first_seq,
        "start_hash": excerpt.start_hash,
        "case_seqs": list(excerpt.case_seqs),
        "how_to_verify": (
            "app.core.audit_chain.verify_chain(events, start_seq=first_seq, "
            "start_hash=start_hash): each event's hash is SHA-256 of its other fields in "
            "canonical JSON, and prev_hash links it to the event before. Events of other "
            "cases between this case's events are withheld: only their seq, links and hash "
            "are given, so the chain still links up without disclosing them"
        ),
    }
    with bag.text("audit-excerpt.json") as handle:
        handle.write(json.dumps(head, ensure_ascii=False, sort_keys=True)[:-1])
        handle.write(', "events": [')
        own = set(excerpt.case_seqs)
        for index, event in enumerate(excerpt.events):
            shown = dict(event) if int(event["seq"]) in own else withheld(event)
            handle.write(",\n " if index else "\n ")
            handle.write(json.dumps(shown, ensure_ascii=False, sort_keys=True))
        handle.write("\n]}\n")


def _zip_folder(folder: Path, target: Path, *, top: str, cancel: CancelFlag | None) -> None:
    with zipfile.ZipFile(target, "w", allowZip64=True) as archive:
        for path in sorted(folder.rglob("*")):
            if cancel is not None and cancel.is_set():
                raise ExportCancelled("The export was cancelled; no packet was written.")
            if not path.is_file():
                continue
            arcname = f"{top}/{path.relative_to(folder).as_posix()}"
            stored = path.suffix in (".jpg", ".png", ".pdf")
            compression = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            archive.write(path, arcname, compress_type=compression)
