"""Searches while an evidence packet is exported: do they still answer at once?

A hub on SQLite gets N metadata-only reads; a real Workstation signs in, syncs a
slice covering them, gives the first E reads images in its cache (16 distinct
JPEGs, as bench_export), marks them as evidence, and the case's technician
confirms the holds. Then, through the window's task runner, a search's first page
(200 rows, journaled) is timed from the moment it is asked for to its answer on
the GUI thread:

- idle: nothing else running (the baseline, same run), before the exports;
- during_export: while the E-read export runs as the export dialog runs it
  (app.ui.operations.export: plan on the cache lane, hub work on the network lane,
  the packet on the export lane, its CPU work in a process of its own:
  app.export.worker, issue 19);
- during_export_in_process: the same, with the packet written on the export lane
  in this process (ExportService.in_process, the way before issue 19's packet
  writer process): its pure-Python work takes the GIL from the search in turns;
- idle_after: nothing running again, after the exports (how much the machine's
  load moved during the run);
- during_export_on_cache_lane (only with --cache-lane): the same export whole on
  the cache lane (what the desk did before its lanes): the searches queue behind it.

The two exports alternate --rounds times (new, old, new, old...), so a change in
the machine's load falls on both; each scenario's figures pool its rounds. The
load average is printed with the figures (the searches share the CPU with
whatever else runs).

Prints JSON. Target (issue 19): during a 1,000-read export, p95 of the first page
<= 50 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from app.core.records import SearchQuery
from app.demo import running_hub, totp_now, user_of
from app.ui.operations.export import export_packet
from app.ui.workers import Lane, TaskRunner
from app.workstation import Workstation
from bench.bench_engine_sync import hub_with_reads, signed_in_slice
from bench.bench_export import DISTINCT, _jpeg


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _figures(latencies: list[float]) -> dict[str, Any]:
    ms = [1000 * value for value in latencies]
    return {
        "searches": len(ms),
        "p50_ms": round(statistics.median(ms), 1) if ms else None,
        "p95_ms": round(_p95(ms), 1) if ms else None,
        "max_ms": round(max(ms), 1) if ms else None,
    }


def _wait(done: Callable[[], bool]) -> None:
    """Run the GUI thread's event loop until `done()`, sleeping between events as the
    window's own loop does (a loop spinning on processEvents would take the GIL from
    the worker threads in turns and time itself, not the search)."""
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: loop.quit() if done() else None)
    timer.start()
    if not done():
        loop.exec()
    timer.stop()


def _one_search(runner: TaskRunner, workstation: Workstation, query: SearchQuery) -> float:
    """Seconds from asking for a first page (cache lane) to its answer on the GUI thread."""
    answered: list[float] = []
    loop = QEventLoop()

    def answer(at: float) -> None:
        answered.append(at)
        loop.quit()

    began = time.perf_counter()
    runner.run(
        lambda: workstation.search.run(query, limit=200),
        on_success=lambda _page: answer(time.perf_counter()),
        on_failure=lambda _exc: answer(float("nan")),
        lane=Lane.CACHE,
    )
    if not answered:
        loop.exec()  # the answer arrives as a queued signal: the loop sleeps until then
    return answered[0] - began


def _searches(
    runner: TaskRunner,
    workstation: Workstation,
    query: SearchQuery,
    *,
    count: int | None = None,
    until: Callable[[], bool] | None = None,
) -> list[float]:
    """First pages asked for one after another, as a user typing would."""
    latencies: list[float] = []
    while (count is None or len(latencies) < count) and not (until and until()):
        latencies.append(_one_search(runner, workstation, query))
        time.sleep(0.02)
    return latencies


def _during_export(
    runner: TaskRunner,
    workstation: Workstation,
    query: SearchQuery,
    *,
    out: Path,
    on_lanes: bool,
) -> tuple[list[float], float, list[str]]:
    """Searches while one export runs: on its lanes, or whole on the cache lane; the
    latencies, the export's seconds and its failures."""
    finished = threading.Event()
    failures: list[str] = []

    def done(_result: object) -> None:
        finished.set()

    def failed(exc: BaseException) -> None:
        failures.append(repr(exc))
        finished.set()

    began = time.perf_counter()
    if on_lanes:
        export_packet(
            workstation=workstation, runner=runner, case_number=query.case_number,
            out_dir=out, zip=False, redactions={}, cancel=threading.Event(),
            on_progress=lambda _p: None, on_success=done, on_failure=failed,
        )  # fmt: skip
    else:
        runner.run(
            lambda: workstation.export_packet(case_number=query.case_number, out_dir=out),
            on_success=done,
            on_failure=failed,
            lane=Lane.CACHE,
        )
    during = _searches(runner, workstation, query, until=finished.is_set)
    _wait(finished.is_set)
    return during, time.perf_counter() - began, failures


def _scenario(
    rounds: list[tuple[list[float], float, list[str]]], lane_cpu: list[float]
) -> dict[str, Any]:
    latencies = [value for during, _s, _f in rounds for value in during]
    return {
        **_figures(latencies),
        "export_s": [round(seconds, 1) for _d, seconds, _f in rounds],
        # CPU seconds of this process's export lane thread in ExportService.write (the
        # time it could hold the GIL); the packet writer process's own CPU is not in it
        "export_lane_cpu_s": [round(seconds, 2) for seconds in lane_cpu],
        "failures": [failure for _d, _s, failures in rounds for failure in failures],
    }


def _timing_lane_cpu(workstation: Workstation) -> list[float]:
    """Record the thread CPU time of each ExportService.write (on the export lane)."""
    spent: list[float] = []
    real = workstation.export.write

    def write(*args: Any, **kwargs: Any) -> Any:
        began = time.thread_time()
        try:
            return real(*args, **kwargs)
        finally:
            spent.append(time.thread_time() - began)

    workstation.export.write = write  # type: ignore[method-assign]
    return spent


def _give_images(workstation: Workstation, read_ids: list[str]) -> None:
    """The evidence reads get real JPEGs in the cache (the hub's reads are metadata only)."""
    scenes = [_jpeg(640, 480, seed, 72) for seed in range(DISTINCT)]
    crops = [_jpeg(160, 48, 100 + seed, 90) for seed in range(DISTINCT)]
    db = workstation.db()
    with db.atomic():
        for index, read_id in enumerate(read_ids):
            scene, crop = scenes[index % DISTINCT], crops[index % DISTINCT]
            scene_sha = hashlib.sha256(scene).hexdigest()
            crop_sha = hashlib.sha256(crop).hexdigest()
            db.execute(
                "UPDATE reads SET image_sha256 = ?, image_size = ?, crop_sha256 = ?,"
                " crop_size = ? WHERE read_id = ?",
                (scene_sha, len(scene), crop_sha, len(crop), read_id),
            )
            for sha, data in ((scene_sha, scene), (crop_sha, crop)):
                db.execute(
                    "INSERT OR IGNORE INTO images (sha256, data, fetched_at)"
                    " VALUES (?, ?, '2026-11-20T08:00:00.000Z')",
                    (sha, data),
                )


def _confirmed_by_technician(
    hub_url: str, folder: Path, seeded: dict[str, Any], case_number: str, read_ids: list[str]
) -> None:
    """The case's evidence technician confirms the proposed holds (a packet holds the
    case's confirmed evidence: issue 22)."""
    user = user_of(seeded, "evidence_technician")
    technician = Workstation.open(profile_dir=folder / "technician", hub_url=hub_url)
    try:
        technician.login(
            username=user["username"], password=user["password"], totp=totp_now(user["totp_secret"])
        )
        for start in range(0, len(read_ids), 200):
            technician.evidence.confirm(
                case_number=case_number, read_ids=read_ids[start : start + 200]
            )
    finally:
        technician.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reads", type=int, default=20_000, help="reads in the slice")
    parser.add_argument("--evidence", type=int, default=1000, help="reads in the export")
    parser.add_argument("--idle-searches", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2, help="exports of each way, alternated")
    parser.add_argument(
        "--cache-lane", action="store_true", help="also time the export whole on the cache lane"
    )
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ["XDG_DATA_HOME"] = str(folder / "xdg")  # a private keyring file
        data, seeded, _rows = hub_with_reads(folder, args.reads, random.Random(3))
        with running_hub(data, nice=10) as hub:
            workstation, slice_id = signed_in_slice(
                hub.url, folder, seeded, "benchmark: searches while an export runs"
            )
            workstation.sync(slice_id=slice_id)
            [info] = workstation.slices.list()
            query = SearchQuery(case_number=info.case_number, purpose=info.purpose, pattern=None)
            first = workstation.search.run(query, limit=args.evidence).rows
            read_ids = [row.read_id for row in first]
            _give_images(workstation, read_ids)
            for read_id in read_ids:
                workstation.evidence.mark(read_id=read_id, case_number=info.case_number)
            workstation.evidence.deliver()  # the holds reach the hub, proposed
            _confirmed_by_technician(hub.url, folder, seeded, info.case_number, read_ids)
            runner = TaskRunner()
            ways = {"during_export": False, "during_export_in_process": True}
            rounds: dict[str, list[tuple[list[float], float, list[str]]]] = {}
            lane_cpu: dict[str, list[float]] = {}
            spent = _timing_lane_cpu(workstation)
            load = [os.getloadavg()]
            try:
                idle = _searches(runner, workstation, query, count=args.idle_searches)
                for index in range(args.rounds):
                    for how, in_process in ways.items():
                        workstation.export.in_process = in_process
                        out = folder / f"out-{how}-{index}"
                        out.mkdir()
                        rounds.setdefault(how, []).append(
                            _during_export(runner, workstation, query, out=out, on_lanes=True)
                        )
                        lane_cpu.setdefault(how, []).append(spent[-1] if spent else float("nan"))
                        load.append(os.getloadavg())
                workstation.export.in_process = False
                idle_after = _searches(runner, workstation, query, count=args.idle_searches)
                results = {how: _scenario(done, lane_cpu[how]) for how, done in rounds.items()}
                if args.cache_lane:
                    out = folder / "out-cache-lane"
                    out.mkdir()
                    results["during_export_on_cache_lane"] = _scenario(
                        [_during_export(runner, workstation, query, out=out, on_lanes=False)],
                        [],
                    )
                load.append(os.getloadavg())
            finally:
                assert runner.shutdown(timeout_ms=120_000)
                workstation.close()
    print(
        json.dumps(
            {
                "slice_reads": args.reads,
                "evidence_reads": len(read_ids),
                "idle": _figures(idle),
                **results,
                "idle_after": _figures(idle_after),
                "target_p95_ms": 50,
                "cpus": os.cpu_count(),
                "load_average_1m": [round(one, 2) for one, _five, _fifteen in load],
            }
        )
    )


if __name__ == "__main__":
    main()
