"""Export of a case's confirmed evidence that the exporter's cache lacks (issue 22).

A hub on loopback (SQLite, seeded), a technician's profile that holds N reads of the
robbery case as evidence (confirmed at once: a custodian's holds), then a second
technician profile with an empty cache exports the case: every read and both images
per read come from the hub under the evidence grant (sha256-checked, journaled). The
same export again from that now warm cache is the baseline measured in the same run.
Prints JSON. Target: N = 1,000 held reads fetched and exported in <= 15 s.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

JUSTIFICATION = "Vehicle seen leaving the pharmacy robbery on Lincolnway, find its route"


def _sign_in(url: str, profile: Path, user: dict[str, Any]) -> Any:
    from app.demo import totp_now
    from app.workstation import Workstation

    workstation = Workstation.open(profile_dir=profile, hub_url=url)
    workstation.login(
        username=user["username"], password=user["password"], totp=totp_now(user["totp_secret"])
    )
    return workstation


def run(reads: int, tmp: Path) -> dict[str, Any]:
    from app.core.records import SearchQuery
    from app.demo import running_hub, seed_hub

    per_day = max(60, reads // 2 // 3 + 20)  # 3 cameras, 2 days: a few more than needed
    seed_args = ["--cameras", "3", "--days", "2", "--reads-per-day", str(per_day), "--seed", "5"]
    began = time.perf_counter()
    seeded = seed_hub(tmp / "hub", extra=seed_args)
    seed_s = time.perf_counter() - began
    user = next(u for u in seeded["users"] if u["role"] == "evidence_technician")
    case = next(c["case_number"] for c in seeded["cases"] if user["username"] in c["assigned"])
    with running_hub(tmp / "hub") as hub:
        marker = _sign_in(hub.url, tmp / "marker", user)
        try:
            now = datetime.now(UTC)
            created = marker.slices.request(
                case_number=case, purpose="robbery", justification=JUSTIFICATION,
                time_from=now - timedelta(days=5), time_to=now,
            )  # fmt: skip
            marker.sync(slice_id=created.slice_id)
            rows = marker.search.run(
                SearchQuery(case_number=case, purpose="robbery", pattern=None), limit=reads
            ).rows
            for row in rows:
                marker.evidence.mark(read_id=row.read_id, case_number=case, note="bench")
            marker.evidence.deliver()
            held = sum(
                1
                for h in marker.evidence.case_evidence(case_number=case)
                if h.status == "confirmed"
            )
        finally:
            marker.close()
        exporter = _sign_in(hub.url, tmp / "exporter", user)
        try:
            cold_began = time.perf_counter()
            cold = exporter.export_packet(case_number=case, out_dir=tmp / "cold")
            cold_s = time.perf_counter() - cold_began
            warm_began = time.perf_counter()
            warm = exporter.export_packet(case_number=case, out_dir=tmp / "warm")
            warm_s = time.perf_counter() - warm_began
            granted = sum(
                len(e["params"]["images"])
                for e in exporter.journal().events()
                if e["action"] == "evidence.grant_images"
            )
        finally:
            exporter.close()
    return {
        "held_reads": held,
        "seed_s": round(seed_s, 1),
        "cold_cache": {
            "reads": cold.reads,
            "images_fetched": granted,
            "export_s": round(cold_s, 2),
        },
        "warm_cache": {"reads": warm.reads, "export_s": round(warm_s, 2)},
        "fetch_overhead_s": round(cold_s - warm_s, 2),
        "target_cold_s": 15.0 if reads >= 1000 else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reads", type=int, default=1000, help="held reads to export")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args.reads, Path(tmp))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
