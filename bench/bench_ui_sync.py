"""The window during a large sync: does the GUI thread stay responsive?

A hub on SQLite gets N metadata-only reads (bench_engine_sync's generator); a real
Workstation signs in and requests a slice covering them; the window's SyncPanel
then syncs it through the task runner, exactly as the desk does, while a 5 ms
timer on the GUI thread records the longest gap between its ticks (the stall).
The same probe runs over an idle event loop first, in the same run, as the
baseline. As the app does once its window is shown, the objects alive at that
point are frozen out of the garbage collector's passes (app.core.heap.freeze_startup_objects);
the hub's generated rows are not kept in this process.

In production the hub is a server of its own; here it shares the machine's cores
with the window, so it runs HUB_NICE steps nicer than this process, and its
serving does not count as the workstation's load. The sync itself runs as the
window runs it: on the sync lane, at the lane's lower priority, with pages parsed
in a process of their own. The longest stall is split into what the GUI thread
did with it (StallMeter): running, waiting for a CPU, or blocked (the GIL).

Prints JSON. Target (issue 6): no stall over 50 ms during a 200,000-read sync.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")

from PySide6.QtWidgets import QApplication

from app.core.heap import freeze_startup_objects
from app.demo import running_hub
from app.ui.collector import GuiThreadCollector
from app.ui.widgets.sync_panel import SyncPanel
from app.ui.workers import TaskRunner
from bench.bench_engine_sync import hub_with_reads, signed_in_slice
from bench.bench_ui_results import StallMeter

HUB_NICE = 10  # the hub stands in for a server of its own (see the module doc)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reads", type=int, default=200_000)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ["XDG_DATA_HOME"] = str(folder / "xdg")  # a private keyring file
        data, seeded, _ = hub_with_reads(folder, args.reads, random.Random(3))
        with running_hub(data, nice=HUB_NICE) as hub:
            workstation, slice_id = signed_in_slice(
                hub.url,
                folder,
                seeded,
                "benchmark: the window's responsiveness during a large sync",
            )
            runner = TaskRunner()
            panel = SyncPanel(workstation=workstation, runner=runner)
            panel.show()
            freeze_startup_objects()  # as run_gui does once the window is shown
            collector = GuiThreadCollector(app)  # as run_gui has it
            meter = StallMeter(app)
            idle_until = time.perf_counter() + 1.0
            idle = meter.run_until(lambda: time.perf_counter() > idle_until)
            finished: list[object] = []
            panel.sync_finished.connect(finished.append)
            panel.sync_failed.connect(finished.append)
            began = time.perf_counter()
            panel.start(slice_id)
            stall = meter.run_until(lambda: bool(finished), timeout_s=1800)
            stall_parts = meter.longest_parts
            seconds = time.perf_counter() - began
            runner.shutdown()
            collector.stop()
            workstation.close()
        result = finished[0] if finished else None
        print(
            json.dumps(
                {
                    "benchmark": "ui_sync_responsiveness",
                    "reads": getattr(result, "reads", None),
                    "sync_seconds": round(seconds, 1),
                    "idle_longest_stall_ms": round(idle, 1),
                    "sync_longest_stall_ms": round(stall, 1),
                    "sync_longest_stall_parts": stall_parts,
                    "target_longest_stall_ms": 50,
                    "hub_nice": HUB_NICE,
                }
            )
        )


if __name__ == "__main__":
    main()
