"""A sync cut off in the middle resumes with no duplicate and no gap."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.cache.reads import READ_COLUMNS
from app.core.records import SearchQuery, SyncProgress
from app.demo import totp_now
from app.workstation import Workstation
from tests.support.live_hub import JUSTIFICATION, SeededHub, run_cli
from tests.support.processes import descendants, wait_gone

pytestmark = pytest.mark.e2e


def _signed_in(hub: SeededHub, profile: Path, *, page_size: int) -> tuple[Workstation, str]:
    user = hub.user("detective")
    workstation = Workstation.open(profile_dir=profile, hub_url=hub.url)
    workstation.login(
        username=user["username"], password=user["password"], totp=totp_now(user["totp_secret"])
    )
    settings_file = profile / "profile.json"
    settings = json.loads(settings_file.read_text())
    settings["feed_page_size"] = page_size
    settings_file.write_text(json.dumps(settings))
    workstation.close()
    workstation = Workstation.open(profile_dir=profile)
    return workstation, hub.case_for(user["username"])


def _request(workstation: Workstation, case: str) -> tuple[str, int]:
    now = datetime.now(UTC)
    created = workstation.slices.request(
        case_number=case,
        purpose="robbery",
        justification=JUSTIFICATION,
        time_from=now - timedelta(days=5),
        time_to=now,
    )
    return created.slice_id, created.estimated_reads


def _hub_read_ids(hub: SeededHub, workstation: Workstation, slice_id: str) -> set[str]:
    """The slice's reads as the hub serves them, pulled straight from the feed."""
    token = workstation.core.client.access_token
    ids: list[str] = []
    cursor = None
    while True:
        params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        page = httpx.get(
            f"{hub.url}/api/v1/slices/{slice_id}/changes",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).json()
        ids += [read["read_id"] for read in page["reads"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return set(ids)


def _cached_ids(workstation: Workstation, slice_id: str) -> list[str]:
    rows = (
        workstation.db()
        .execute("SELECT read_id FROM slice_reads WHERE slice_id = ?", (slice_id,))
        .fetchall()
    )
    return [row[0] for row in rows]


def test_a_cancelled_sync_resumes_where_it_stopped(seeded_hub: SeededHub, tmp_path: Path) -> None:
    workstation, case = _signed_in(seeded_hub, tmp_path / "profile", page_size=25)
    try:
        slice_id, estimated = _request(workstation, case)
        cancel = threading.Event()
        seen: list[SyncProgress] = []

        def progress(step: SyncProgress) -> None:
            seen.append(step)
            if len(seen) == 2:
                cancel.set()

        first = workstation.sync(slice_id=slice_id, progress=progress, cancel=cancel)
        assert first.cancelled
        assert first.reads == 50
        assert 0 < len(_cached_ids(workstation, slice_id)) < estimated

        second = workstation.sync(slice_id=slice_id)
        assert not second.cancelled
        assert first.reads + second.reads == estimated
        cached = _cached_ids(workstation, slice_id)
        assert len(cached) == len(set(cached)) == estimated
        assert set(cached) == _hub_read_ids(seeded_hub, workstation, slice_id)
        query = SearchQuery(case_number=case, purpose="robbery", pattern=None)
        assert workstation.search.run(query, limit=1).total == estimated

        # The feed sends every read again (from the start): none of them is a new read.
        workstation.db().execute("UPDATE slices SET cursor = NULL WHERE slice_id = ?", (slice_id,))
        assert workstation.sync(slice_id=slice_id).reads == 0
    finally:
        workstation.close()


def test_a_killed_sync_process_resumes_with_no_duplicate_and_no_gap(
    seeded_hub: SeededHub, tmp_path: Path
) -> None:
    profile = tmp_path / "profile"
    # One read a page: the sync commits every two seconds (app.sync.feed.HOLD_S), so it
    # must take several seconds for the kill to land before it is done.
    workstation, case = _signed_in(seeded_hub, profile, page_size=1)
    try:
        slice_id, estimated = _request(workstation, case)
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "--profile", str(profile), "sync", "--slice", slice_id],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while len(_cached_ids(workstation, slice_id)) < 20 and time.monotonic() < deadline:
            assert process.poll() is None, "the sync ended before it could be interrupted"
            time.sleep(0.01)
        started = descendants(process.pid)  # its page parser (and resource tracker)
        assert started or not sys.platform.startswith("linux")  # (found through /proc)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        assert wait_gone(started) == set()  # nothing outlives the killed sync
        partial = len(_cached_ids(workstation, slice_id))
        assert 0 < partial < estimated

        resumed = workstation.sync(slice_id=slice_id)
        assert resumed.reads == estimated - partial  # pages and their cursor commit together
        cached = _cached_ids(workstation, slice_id)
        assert len(cached) == len(set(cached)) == estimated
        assert set(cached) == _hub_read_ids(seeded_hub, workstation, slice_id)
    finally:
        workstation.close()


def _cache_state(workstation: Workstation, slice_id: str) -> tuple[list[tuple[object, ...]], Any]:
    """The slice's reads as cached (every stored column), and its counts."""
    db = workstation.db()
    reads = db.execute(
        f"SELECT {READ_COLUMNS} FROM reads JOIN slice_reads USING (read_id)"
        " WHERE slice_id = ? ORDER BY read_id",
        (slice_id,),
    ).fetchall()
    counts = db.one("SELECT synced_reads, complete FROM slices WHERE slice_id = ?", (slice_id,))
    return [tuple(row) for row in reads], tuple(counts)


def test_a_process_killed_mid_sync_keeps_every_acknowledged_journal_entry(
    seeded_hub: SeededHub, tmp_path: Path
) -> None:
    """The sync's commits skip their fsync (app.cache.connection.BatchedWrites) while the
    searches journaled beside it keep theirs: killed mid-sync, the process leaves every
    journal entry it acknowledged, a chain that verifies, and a cache that a resumed
    sync brings to what an uninterrupted one holds. (A kill keeps what the process
    wrote to the OS; the power-cut argument is in BatchedWrites' docstring.)"""
    profile = tmp_path / "killed"
    workstation, case = _signed_in(seeded_hub, profile, page_size=1)
    uninterrupted, _ = _signed_in(seeded_hub, tmp_path / "uninterrupted", page_size=1000)
    try:
        now = datetime.now(UTC)
        since = now - timedelta(days=5)
        created = workstation.slices.request(
            case_number=case,
            purpose="robbery",
            justification=JUSTIFICATION,
            time_from=since,
            time_to=now,
        )
        slice_id, estimated = created.slice_id, created.estimated_reads
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.sync_with_searches", str(profile), slice_id],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert process.stdout is not None
        acknowledged: list[str] = []
        reader = threading.Thread(target=lambda: acknowledged.extend(process.stdout or []))
        reader.start()
        deadline = time.monotonic() + 60
        while (
            len(_cached_ids(workstation, slice_id)) < 20 or len(acknowledged) < 5
        ) and time.monotonic() < deadline:
            assert process.poll() is None, "the sync ended before it could be interrupted"
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        reader.join(timeout=10)
        process.stdout.close()
        acknowledged = [line.strip() for line in acknowledged]
        assert "done" not in acknowledged
        assert len(acknowledged) >= 5
        partial = len(_cached_ids(workstation, slice_id))
        assert 0 < partial < estimated

        journal = workstation.journal()
        kept = {event["event_id"] for event in journal.events()}
        assert set(acknowledged) <= kept
        assert journal.status().chain_ok

        workstation.sync(slice_id=slice_id)
        other = uninterrupted.slices.request(
            case_number=case,
            purpose="robbery",
            justification=JUSTIFICATION,
            time_from=since,
            time_to=now,
        ).slice_id
        uninterrupted.sync(slice_id=other)
        resumed = _cache_state(workstation, slice_id)
        assert resumed == _cache_state(uninterrupted, other)
        assert resumed[1] == (estimated, 1)  # every read, counted once; complete
    finally:
        workstation.close()
        uninterrupted.close()


def _missing_images(workstation: Workstation, slice_id: str) -> int:
    return int(
        workstation.db().scalar(
            "SELECT count(DISTINCT sha) FROM ("
            " SELECT r.image_sha256 AS sha FROM reads r JOIN slice_reads s USING (read_id)"
            " WHERE s.slice_id = ? UNION"
            " SELECT r.crop_sha256 AS sha FROM reads r JOIN slice_reads s USING (read_id)"
            " WHERE s.slice_id = ?) WHERE sha NOT IN (SELECT sha256 FROM images)",
            (slice_id, slice_id),
        )
    )


def test_after_killed_image_syncs_the_next_fetches_every_missing_image_and_says_so(
    seeded_hub: SeededHub, tmp_path: Path
) -> None:
    profile = tmp_path / "profile"
    workstation, case = _signed_in(seeded_hub, profile, page_size=50)
    try:
        slice_id, estimated = _request(workstation, case)
        for _ in range(2):  # killed while its images arrive, twice
            with subprocess.Popen(
                [sys.executable, "-m", "app", "--profile", str(profile), "sync", "--images"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ) as process:
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline and process.poll() is None:
                    images = workstation.db().scalar("SELECT count(*) FROM images")
                    if images >= 10 * (1 + _):
                        break
                    time.sleep(0.01)
                process.kill()
        # Images arrive while the feed is pulled: the kills may land before every read
        # is in, so the reads-only sync below may bring more reads (and more images).
        reads_only = json.loads(
            run_cli("--profile", str(profile), "sync", "--json").stdout or "null"
        )
        before = _missing_images(workstation, slice_id)
        assert before > 0
        assert reads_only["images"] == 0
        assert reads_only["images_remaining"] == before  # said, not hidden

        done = run_cli("--profile", str(profile), "sync", "--images", "--json")
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["images"] == before
        assert report["images_remaining"] == 0
        assert _missing_images(workstation, slice_id) == 0
        assert len(_cached_ids(workstation, slice_id)) == estimated
    finally:
        workstation.close()
