"""The audit journal: durable append latency, and delivery of 10,000 events to a local hub.

Appends run with synchronous=FULL (a committed event survives a power cut); the
same appends are also timed with synchronous=OFF in the same run, to show what
durability costs here. Prints JSON. Targets (issue 3): append p95 <= 2 ms durable;
10,000 events delivered in <= 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from app.demo import running_hub, seed_hub, totp_now, user_of
from app.workstation import Workstation


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def _append_timings(workstation: Workstation, count: int) -> list[float]:
    timings = []
    for n in range(count):
        began = time.perf_counter()
        with workstation.core.journaled("bench.event", params={"n": n}):
            pass
        timings.append((time.perf_counter() - began) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    args = parser.parse_args()
    os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ["XDG_DATA_HOME"] = str(folder / "xdg")
        data = folder / "hub"
        seeded = seed_hub(data, extra=["--cameras", "1", "--days", "1", "--reads-per-day", "5"])
        detective = user_of(seeded, "detective")
        with running_hub(data) as hub:
            workstation = Workstation.open(profile_dir=folder / "profile", hub_url=hub.url)
            workstation.login(
                username=detective["username"],
                password=detective["password"],
                totp=totp_now(detective["totp_secret"]),
            )
            durable = _append_timings(workstation, args.events)
            workstation.db().execute("PRAGMA synchronous = OFF")
            volatile = _append_timings(workstation, 1000)
            workstation.db().execute("PRAGMA synchronous = FULL")
            pending = workstation.audit.status().pending
            began = time.perf_counter()
            delivered = 0
            while workstation.audit.status().pending:
                delivered += workstation.audit.upload()
            upload_seconds = time.perf_counter() - began
            workstation.close()
        print(
            json.dumps(
                {
                    "benchmark": "journal",
                    "append_durable_p95_ms": round(_p95(durable), 3),
                    "append_durable_median_ms": round(statistics.median(durable), 3),
                    "append_not_durable_p95_ms": round(_p95(volatile), 3),
                    "target_append_p95_ms": 2,
                    "events_delivered": delivered,
                    "pending_before_upload": pending,
                    "upload_seconds": round(upload_seconds, 2),
                    "upload_events_per_s": round(delivered / upload_seconds),
                    "target_10000_events_s": 5,
                }
            )
        )


if __name__ == "__main__":
    main()
