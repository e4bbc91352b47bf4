"""Packet export: peak memory with 10x the images, export and verify time.

Each export runs in its own fresh process (so its peak RSS is its own): a small
one (default 100 reads = 200 images) as the baseline measured in the same run, a
large one (default 1,000 reads = 2,000 images: a ~60 KB scene and a plate crop
per read), each with the PDF report and a redacted derived copy for one read in
ten. Memory is constant if the large export's peak RSS stays near the small
one's. Prints JSON. Targets (issue 7): 1,000 reads <= 10 s; verify <= 3 s; peak
memory of a 10,000-image export <= 300 MB (run with --reads 5000 for that).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

DISTINCT = 16  # distinct images, cycled (the bytes differ per image kind)


def _jpeg(width: int, height: int, seed: int, quality: int) -> bytes:
    import cv2

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.dstack([x * 255 // width, y * 255 // height, (x + y) % 256]).astype(np.uint8)
    noise = rng.integers(0, 40, base.shape, dtype=np.uint8)
    ok, data = cv2.imencode(".jpg", cv2.add(base, noise), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return bytes(data.tobytes())


def _current_rss_kb() -> int:
    """Resident memory now (Linux /proc), in KiB."""
    pages = int(Path("/proc/self/statm").read_text(encoding="ascii").split()[1])
    return pages * resource.getpagesize() // 1024


def _read(index: int, scene: bytes, crop: bytes) -> dict[str, Any]:
    return {
        "read_id": f"{index:032x}",
        "plate": f"BNC{index % 10000:04d}",
        "state": "WY",
        "confidence": 0.91,
        "captured_at": "2026-11-20T08:00:00.000Z",
        "camera_id": "CAM-001",
        "camera_name": "Lincolnway at Dell Range",
        "latitude": 41.16,
        "longitude": -104.8,
        "direction": "N",
        "make": "Ford",
        "model": "F-150",
        "color": "red",
        "body_type": "pickup",
        "features": ["roof rack"],
        "image_sha256": hashlib.sha256(scene).hexdigest(),
        "crop_sha256": hashlib.sha256(crop).hexdigest(),
        "review_marks": [
            {"kind": "evidence", "marked_by": "detective", "note": "seen leaving the scene",
             "marked_at": "2026-11-20T09:00:00.000Z", "corrected_plate": None}
        ],
    }  # fmt: skip


def child(reads: int, out: Path) -> None:
    """One export in this process; prints its figures as JSON."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from app.core.audit_chain import GENESIS_HASH, seal_event
    from app.export.packet import (
        AuditExcerpt,
        Derived,
        DerivedCopy,
        ExportProgress,
        Original,
        PacketInfo,
        write_packet,
    )
    from app.export.verify import verify_packet
    from app.vision.redact import DerivedSpec, Region, derive

    scenes = [_jpeg(640, 480, seed, 72) for seed in range(DISTINCT)]
    crops = [_jpeg(160, 48, 100 + seed, 90) for seed in range(DISTINCT)]
    records = [_read(i, scenes[i % DISTINCT], crops[i % DISTINCT]) for i in range(reads)]
    originals = [
        Original(
            name=f"{record['read_id']}-{kind}.jpg",
            sha256=str(record[f"{'image' if kind == 'scene' else 'crop'}_sha256"]),
            load=lambda data=data: data,  # type: ignore[misc]
            read_id=str(record["read_id"]),
            kind=kind,
        )
        for i, record in enumerate(records)
        for kind, data in (("scene", scenes[i % DISTINCT]), ("crop", crops[i % DISTINCT]))
    ]
    spec = DerivedSpec(regions=(Region(400, 300, 120, 40),))

    def make(original: bytes) -> DerivedCopy:
        image = derive(original, spec)
        return DerivedCopy(image.png, image.preview_jpeg, image.operations)

    derived = {
        f"{record['read_id']}-scene.jpg": Derived(f"{record['read_id']}-scene.derived.png", make)
        for record in records[::10]
    }
    event = seal_event(
        {"event_id": "e1", "device_id": "bench", "username": "tech", "session_id": "s", "seq": 1,
         "occurred_at": "2026-11-20T09:00:00.000Z", "action": "export.start",
         "object_refs": {"case_number": "2026-004211"}, "params": {}, "outcome": "ok",
         "prev_hash": GENESIS_HASH}
    )  # fmt: skip
    info = PacketInfo(
        packet_id="b" * 32,
        case_number="2026-004211",
        organization="bench",
        exporting_user="tech",
        device_id="bench",
        software_version="bench",
        bagged_at=datetime.now(UTC),
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sampled = [_current_rss_kb()]

    def progress(_step: ExportProgress) -> None:  # once per read: the RSS as the export runs
        sampled.append(_current_rss_kb())

    began = time.perf_counter()
    built = write_packet(
        info=info,
        reads=records,
        originals=originals,
        custody=[event],
        excerpt=AuditExcerpt("bench", 1, GENESIS_HASH, [1], iter([event])),
        key=Ed25519PrivateKey.generate(),
        out_dir=out,
        derived=derived,
        progress=progress,
    )
    export_s = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    began = time.perf_counter()
    report = verify_packet(built.result.packet)
    verify_s = time.perf_counter() - began
    size = sum(p.stat().st_size for p in built.result.packet.rglob("*") if p.is_file())
    print(
        json.dumps(
            {
                "reads": reads,
                "images": 2 * reads,
                "derived": len(derived),
                "payload_files": built.result.files,
                "packet_mb": round(size / 1e6, 1),
                "export_s": round(export_s, 2),
                "verify_s": round(verify_s, 2),
                "valid": report.valid,
                "rss_before_export_mb": round(before / 1024, 1),
                "peak_rss_mb": round(peak / 1024, 1),
                "rss_at_first_read_mb": round(sampled[1] / 1024, 1),
                "max_rss_during_export_mb": round(max(sampled) / 1024, 1),
            }
        )
    )


def _run(reads: int, out: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", "--reads", str(reads), "--out", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reads", type=int, default=1000, help="reads in the large export")
    parser.add_argument("--baseline", type=int, default=100, help="reads in the small export")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.reads, args.out)
        return
    with tempfile.TemporaryDirectory() as tmp:
        small = _run(args.baseline, Path(tmp) / "small")
        large = _run(args.reads, Path(tmp) / "large")
    growth = large["max_rss_during_export_mb"] - small["max_rss_during_export_mb"]
    print(
        json.dumps(
            {
                "baseline": small,
                "large": large,
                "rss_growth_during_export_mb": round(growth, 1),
                "images_ratio": large["images"] / small["images"],
                "targets": {
                    "export_1000_reads_s": 10.0,
                    "verify_s": 3.0,
                    "peak_rss_10000_images_mb": 300.0,
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
