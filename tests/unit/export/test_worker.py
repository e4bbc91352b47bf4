"""The packet written in a process of its own (app.export.worker): a real spawned child,
real pipes, real files; its packet verifies as one written in process does, and
progress, cancel, a failure and a killed child all end as the caller expects."""

from __future__ import annotations

import errno
import hashlib
import os
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.core.audit_chain import GENESIS_HASH
from app.export.packet import ExportCancelled, ExportFailed, ExportProgress, PacketInfo
from app.export.sign import public_key_b64
from app.export.verify import verify_packet
from app.export.worker import OriginalRef, PacketJob, raw_key, write_in_child
from app.services.redaction import deriver
from app.vision.redact import DerivedSpec, Region
from tests.support.processes import alive, wait_gone
from tests.unit.export.test_packet import CASE, DEVICE, _chain, _read, jpeg

READS = 12
IMAGES = {
    f"r{index:02d}": (jpeg(320, 200, 10 + index), jpeg(120, 40, 50 + index))
    for index in range(READS)
}


def _job(out: Path, key: Ed25519PrivateKey, **extra: Any) -> tuple[PacketJob, list[bytes]]:
    originals: list[OriginalRef] = []
    data: list[bytes] = []
    for read_id, (scene, crop) in IMAGES.items():
        for kind, image in (("scene", scene), ("crop", crop)):
            name = f"{read_id}-{kind}.jpg"
            originals.append(OriginalRef(name, hashlib.sha256(image).hexdigest(), read_id, kind))
            data.append(image)
    info = PacketInfo(
        packet_id="q" * 32,
        case_number=CASE,
        organization="Cheyenne Police Department",
        exporting_user="tech",
        device_id=DEVICE,
        software_version="Platedesk test",
        bagged_at=datetime(2026, 11, 21, 9, 30, tzinfo=UTC),
    )
    job = PacketJob(
        info=info,
        reads=[_read(read_id, *pair) for read_id, pair in IMAGES.items()],
        originals=originals,
        custody=[],
        excerpt_device_id=DEVICE,
        excerpt_first_seq=1,
        excerpt_start_hash=GENESIS_HASH,
        excerpt_case_seqs=[1, 3, 5],
        key=raw_key(key),
        out_dir=out,
        **extra,
    )
    return job, data


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def test_the_childs_packet_verifies_and_its_progress_arrives_here(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    out = tmp_path / "out"
    spec = DerivedSpec(regions=(Region(10, 10, 40, 20),))
    from app.export.packet import Derived

    derived = {"r03-scene.jpg": Derived(name="r03-scene.derived.png", make=deriver(spec))}
    job, data = _job(out, key, zip=True, derived=derived)
    asked: list[int] = []
    seen: list[tuple[ExportProgress, int]] = []

    def image(index: int) -> bytes:
        asked.append(index)
        return data[index]

    built = write_in_child(
        job,
        image=image,
        events=iter(_chain(6)),
        progress=lambda step: seen.append((step, threading.get_ident())),
    )
    assert built.result.packet == out / f"{built.result.packet.stem}.zip"
    assert [p.name for p in out.iterdir()] == [built.result.packet.name]  # nothing else left
    report = verify_packet(built.result.packet, public_key=public_key_b64(key))
    assert report.problems == []
    assert built.result.reads == READS
    assert sorted(asked) == list(range(2 * READS))  # each image asked for once
    # progress arrives on the caller's thread, in order, ending with "done"
    assert {ident for _, ident in seen} == {threading.get_ident()}
    steps = [step for step, _ in seen]
    assert [s.done for s in steps] == sorted(s.done for s in steps)
    assert steps[-1].stage == "done"
    assert steps[-1].done == steps[-1].total == READS + 4
    assert [s.stage for s in steps[:READS]] == ["originals"] * READS


def test_a_cancel_mid_write_stops_the_child_and_leaves_no_packet(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    out = tmp_path / "out"
    job, data = _job(out, key)
    cancel = threading.Event()
    seen: list[ExportProgress] = []
    pids: list[int] = []

    def progress(step: ExportProgress) -> None:
        seen.append(step)
        if step.done == 4:
            cancel.set()

    with pytest.raises(ExportCancelled, match="no packet was written"):
        write_in_child(
            job, image=data.__getitem__, events=iter(_chain(6)), progress=progress,
            cancel=cancel, started=pids.append,
        )  # fmt: skip
    assert list(out.iterdir()) == []  # the partial folder went too
    assert 4 <= seen[-1].done < READS  # it stopped mid-write, not at the end
    assert wait_gone(set(pids)) == set()


def test_a_killed_child_gives_a_clear_message_and_leaves_no_packet(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    out = tmp_path / "out"
    job, data = _job(out, key)
    pids: list[int] = []

    def image(index: int) -> bytes:
        if index == 8:  # mid-write: the partial packet holds four reads by now
            assert any(out.glob(".*.partial"))
            os.kill(pids[0], signal.SIGKILL)
        return data[index]

    with pytest.raises(ExportFailed) as failed:
        write_in_child(job, image=image, events=iter(_chain(6)), started=pids.append)
    message = str(failed.value)
    assert "stopped unexpectedly (ended by signal SIGKILL)" in message
    assert "no packet was written" in message
    assert "Export again" in message
    assert list(out.iterdir()) == []
    assert not alive(set(pids))


def test_an_error_in_the_child_reaches_the_caller_as_it_is(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    out = tmp_path / "out"
    job, data = _job(out, key)

    def image(index: int) -> bytes:
        return b"damaged" if index == 5 else data[index]

    with pytest.raises(ExportFailed, match=r"r02-crop\.jpg does not match its recorded SHA-256"):
        write_in_child(job, image=image, events=iter(_chain(6)))
    assert list(out.iterdir()) == []


def test_a_failure_on_this_side_stops_the_child_and_leaves_no_packet(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    out = tmp_path / "out"
    job, data = _job(out, key)
    pids: list[int] = []

    def image(index: int) -> bytes:
        if index == 6:
            raise OSError("the cache went away")
        return data[index]

    with pytest.raises(OSError, match="the cache went away"):
        write_in_child(job, image=image, events=iter(_chain(6)), started=pids.append)
    assert list(out.iterdir()) == []
    assert wait_gone(set(pids)) == set()


def test_a_writer_that_cannot_start_gives_a_clear_message(
    tmp_path: Path, key: Ed25519PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The OS refuses a new process (the edge faked: too many processes)."""
    from multiprocessing.context import SpawnProcess

    def refused(self: SpawnProcess) -> None:
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(SpawnProcess, "start", refused)
    out = tmp_path / "out"
    job, data = _job(out, key)
    with pytest.raises(ExportFailed) as failed:
        write_in_child(job, image=data.__getitem__, events=iter(_chain(6)))
    assert str(failed.value) == (
        "The packet writer could not start (Resource temporarily unavailable); no packet "
        "was written. Close other programs and export again."
    )
    assert not out.exists() or list(out.iterdir()) == []
