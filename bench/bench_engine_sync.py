"""Slice sync from a local hub into the encrypted cache, against a raw SQLCipher bulk insert.

A hub on SQLite gets N metadata-only reads (no images) on top of a small demo
seed; a workstation signs in, requests a slice covering them and syncs it. In
the same run the same rows go into a fresh SQLCipher cache with one plain
executemany, as the baseline. Prints JSON. Target (issue 3): sync >= 50% of
the raw rate.

While the sync runs, a second thread appends a search's journal entry every
--search-every seconds (as a local search does, on its own connection) and times
each append: the whole append (its turn to write the desk file, then its own commit
and fsync) and the wait for its turn alone. The longest wait must stay <= 100 ms
(issue 25): the sync writes the mirror file, the journal is in the desk file, and
neither waits for the other's write lock.

--baseline-src DIR first runs DIR's copy of this benchmark (another checkout,
e.g. main's: `git worktree add` or `git archive`) with DIR's code, then this
one, and prints both with the ratios of this run to the baseline: the two ran
in one session, under the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app.cache.connection import open_encrypted
from app.cache.migrations import migrate
from app.cache.reads import READ_COLUMNS
from app.core.plates import fold_plate
from app.demo import running_hub, seed_hub, totp_now, user_of
from app.workstation import Workstation
from hub.core.db import Database
from hub.reads import insert_reads

ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def _rows(count: int, cameras: list[str], rng: random.Random) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "read_id": uuid.UUID(int=rng.getrandbits(128), version=4).hex,
            "plate": "".join(rng.choice(ALPHABET) for _ in range(7)),
            "state": "WY",
            "confidence": 0.9,
            "captured_at": now - timedelta(seconds=rng.randrange(1, 86_400)),
            "camera_id": rng.choice(cameras),
            "direction": "N",
            "make": "Ford",
            "model": "F-150",
            "color": "white",
            "body_type": "pickup",
            "features": ["roof rack"],
            "image_sha256": f"{n:064x}",
            "image_size": 60_000,
            "crop_sha256": f"{n + count:064x}",
            "crop_size": 6_000,
        }
        for n in range(count)
    ]


def _raw_rate(rows: list[dict[str, Any]], folder: Path) -> float:
    db = open_encrypted(folder / "raw.db", os.urandom(32))
    migrate(db)
    values = [
        (
            row["read_id"], row["plate"], fold_plate(row["plate"]), row["state"], row["confidence"],
            row["captured_at"].isoformat(), row["camera_id"], 41.1, -104.8, row["direction"],
            row["make"], row["model"], row["color"], row["body_type"], json.dumps(row["features"]),
            row["image_sha256"], row["image_size"], row["crop_sha256"], row["crop_size"],
        )
        for row in rows
    ]  # fmt: skip
    began = time.perf_counter()
    with db.atomic():
        db.executemany(f"INSERT INTO reads ({READ_COLUMNS}) VALUES ({', '.join('?' * 19)})", values)
    seconds = time.perf_counter() - began
    db.close()
    return len(rows) / seconds


class JournalAppender(threading.Thread):
    """Appends a search's journal entry every `every_s` until stopped; times each."""

    def __init__(self, workstation: Workstation, *, every_s: float) -> None:
        super().__init__(name="bench-journal-appender", daemon=True)
        self.workstation = workstation
        self.every_s = every_s
        self.stop = threading.Event()
        self.waits: list[float] = []  # the whole append: its turn, then its commit (fsync)
        self.lock_waits: list[float] = []  # its turn to write alone

    def run(self) -> None:
        core = self.workstation.core
        try:
            gate = core.db().gate
            while not self.stop.is_set():
                began = time.perf_counter()
                gate.acquire()  # the turn to write (journaled takes it again, reentrant)
                try:
                    self.lock_waits.append(time.perf_counter() - began)
                    with core.journaled(
                        "search", object_refs={"case_number": "bench"}, params={"result_count": 0}
                    ):
                        pass
                finally:
                    gate.release()
                self.waits.append(time.perf_counter() - began)
                self.stop.wait(self.every_s)
        finally:
            core.db().close()


def hub_with_reads(
    folder: Path, count: int, rng: random.Random
) -> tuple[Path, dict[str, Any], list[dict[str, Any]]]:
    """A demo hub on SQLite in folder/hub with `count` more metadata-only reads:
    (data folder, what demo-seed printed, the added rows)."""
    data = folder / "hub"
    seeded = seed_hub(data, extra=["--cameras", "2", "--days", "1", "--reads-per-day", "10"])
    hub_db = Database(f"sqlite:///{data / 'hub.sqlite3'}")
    with hub_db.read() as connection:
        cameras = [row[0] for row in connection.exec_driver_sql("SELECT camera_id FROM cameras")]
    rows = _rows(count, cameras, rng)
    with hub_db.write() as connection:
        insert_reads(connection, rows, now=datetime.now(UTC))
    hub_db.dispose()
    return data, seeded, rows


def signed_in_slice(
    hub_url: str, folder: Path, seeded: dict[str, Any], justification: str
) -> tuple[Workstation, str]:
    """The demo detective signed in at the hub with a slice covering every read:
    (workstation, slice id). The caller closes the workstation."""
    detective = user_of(seeded, "detective")
    case = next(c["case_number"] for c in seeded["cases"] if "detective" in c["assigned"])
    workstation = Workstation.open(profile_dir=folder / "profile", hub_url=hub_url)
    workstation.login(
        username=detective["username"],
        password=detective["password"],
        totp=totp_now(detective["totp_secret"]),
    )
    now = datetime.now(UTC)
    created = workstation.slices.request(
        case_number=case,
        purpose="robbery",
        justification=justification,
        time_from=now - timedelta(days=2),
        time_to=now + timedelta(minutes=1),
    )
    return workstation, created.slice_id


def baseline(source: Path, reads: int, search_every: float) -> dict[str, Any]:
    """This benchmark as the checkout at `source` has it, run with that checkout's code."""
    script = source / "bench" / "bench_engine_sync.py"
    options = ["--reads", str(reads), "--search-every", str(search_every)]
    done = subprocess.run(
        [sys.executable, str(script), *options],
        env={**os.environ, "PYTHONPATH": str(source)},
        cwd=source,
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reads", type=int, default=200_000)
    parser.add_argument(
        "--search-every", type=float, default=1.0, help="seconds between journaled searches"
    )
    parser.add_argument(
        "--baseline-src", type=Path, help="a checkout whose copy of this benchmark runs first"
    )
    args = parser.parse_args()
    before = None
    if args.baseline_src is not None:
        before = baseline(args.baseline_src.resolve(), args.reads, args.search_every)
    figures = measure(args.reads, args.search_every)
    if before is None:
        print(json.dumps(figures))
        return
    compared = ("sync_vs_raw", "journal_append_wait_max_ms", "journal_append_wait_p95_ms")
    print(
        json.dumps(
            {
                "benchmark": "engine_sync",
                "baseline_src": str(args.baseline_src),
                "baseline": before,
                "this": figures,
                "this_over_baseline": {
                    name: round(figures[name] / before[name], 3)
                    for name in compared
                    if figures.get(name) and before.get(name)
                },
                "load_average_1m_at_end": round(os.getloadavg()[0], 2),
            }
        )
    )


def measure(reads: int, search_every: float) -> dict[str, Any]:
    """One run: the sync and the raw insert of `reads` reads, and the appends' waits."""
    rng = random.Random(3)
    os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ["XDG_DATA_HOME"] = str(folder / "xdg")  # a private keyring file
        data, seeded, rows = hub_with_reads(folder, reads, rng)
        raw = _raw_rate(rows, folder)
        with running_hub(data) as hub:
            workstation, slice_id = signed_in_slice(
                hub.url, folder, seeded, "benchmark: sync rate of a large slice into the cache"
            )
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            appender = JournalAppender(workstation, every_s=search_every)
            appender.start()
            began = time.perf_counter()
            result = workstation.sync(slice_id=slice_id)
            seconds = time.perf_counter() - began
            appender.stop.set()
            appender.join()
            rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            workstation.close()
        sync_rate = result.reads / seconds
        waits = sorted(appender.waits)
        lock_waits = sorted(appender.lock_waits)
        return {
            "benchmark": "engine_sync",
            "reads": result.reads,
            "sync_seconds": round(seconds, 2),
            "sync_reads_per_s": round(sync_rate),
            "raw_insert_reads_per_s": round(raw),
            "sync_vs_raw": round(sync_rate / raw, 3),
            "target_sync_vs_raw": 0.5,
            "journal_appends_during_sync": len(waits),
            "journal_append_wait_max_ms": round(waits[-1] * 1000, 1) if waits else None,
            "journal_append_wait_p95_ms": (
                round(waits[int(0.95 * (len(waits) - 1))] * 1000, 1) if waits else None
            ),
            "journal_lock_wait_max_ms": (round(lock_waits[-1] * 1000, 1) if lock_waits else None),
            "journal_lock_wait_p95_ms": (
                round(lock_waits[int(0.95 * (len(lock_waits) - 1))] * 1000, 1)
                if lock_waits
                else None
            ),
            "search_every_s": search_every,
            "target_journal_append_wait_max_ms": 100,
            "load_average_1m": round(os.getloadavg()[0], 2),
            "peak_rss_mb_after_sync": round(rss_after / 1024, 1),
            "peak_rss_growth_mb_during_sync": round((rss_after - rss_before) / 1024, 1),
        }


if __name__ == "__main__":
    main()
