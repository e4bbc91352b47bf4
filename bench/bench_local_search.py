"""Local search over cached reads: first-page latency by pattern kind, against a LIKE scan.

Fills an encrypted cache with synthetic reads (one slice), then times the
engine's SearchRepository (count + first page, as a search does) and, in the
same run, a plain `plate LIKE` scan of the same table for comparison.
Prints JSON. Target (issue 3): p95 <= 20 ms for the first page with 1,000,000 reads.
Also times re-sorting (issue 6's sortable columns) by each kind of column: the
first page and the pages after it, over every read and over the last day's. The
cameras have names (two share one, one is missing from the cameras table), as the
camera order sorts by the name the user sees.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.cache.catalog import CatalogRepository
from app.cache.connection import open_encrypted
from app.cache.migrations import migrate
from app.cache.reads import ReadRepository
from app.cache.search import SearchRepository
from app.core.plates import parse_pattern
from app.core.records import NEWEST_FIRST, SearchOrder, SearchQuery, parse_order
from app.core.schemas import CameraPublic, ReadPublic, SlicePublic

CASE = "2026-000001"
ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def _fill(db_path: Path, key: bytes, count: int, rng: random.Random) -> list[str]:
    db = open_encrypted(db_path, key)
    migrate(db)
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    CatalogRepository(db).save_slice(
        SlicePublic(
            slice_id="bench",
            case_number=CASE,
            purpose="robbery",
            justification="benchmark slice for local search timing",
            time_from=t0,
            time_to=t0 + timedelta(days=30),
            camera_ids=None,
            plate_pattern=None,
            estimated_reads=count,
            created_at=t0,
            expires_at=t0 + timedelta(days=30),
            status="active",
        )
    )
    repo = ReadRepository(db)
    plates: list[str] = []
    batch = 5000
    for start in range(0, count, batch):
        reads = []
        for n in range(start, min(count, start + batch)):
            plate = "".join(rng.choice(ALPHABET) for _ in range(rng.choice((6, 7, 7, 7))))
            plates.append(plate)
            reads.append(
                ReadPublic(
                    read_id=f"{n:012d}",
                    plate=plate,
                    state="WY",
                    confidence=round(rng.uniform(0.55, 0.99), 3),
                    captured_at=t0 + timedelta(seconds=n * 2),
                    camera_id=f"CAM-{n % 50:03d}",
                    latitude=41.1,
                    longitude=-104.8,
                    direction="N",
                    make="Ford",
                    model="F-150",
                    color="white",
                    body_type="pickup",
                    features=[],
                    image_sha256=f"{n:064x}",
                    image_size=1,
                    crop_sha256=f"c{n:063x}",  # "c": the crop, for bench_ui_results
                    crop_size=1,
                )
            )
        repo.apply_page(
            slice_id="bench", reads=reads, tombstones=[], next_cursor=str(start), complete=False
        )
    db.close()
    return plates


def _name_cameras(db_path: Path, key: bytes, rng: random.Random) -> None:
    """Names for _fill's 50 cameras, in another order than their ids: CAM-007 and
    CAM-031 share a name and CAM-049 has none (it sorts by its id)."""
    streets = [f"{street} St" for street in ("Pine", "Oak", "Elm", "Ash", "Birch")]
    crossings = [f"{n}th Ave" for n in range(4, 14)]
    names = [f"{a} & {b}" for a in streets for b in crossings]
    rng.shuffle(names)
    names[31] = names[7]
    db = open_encrypted(db_path, key)
    CatalogRepository(db).replace_cameras(
        CameraPublic(camera_id=f"CAM-{n:03d}", name=names[n], agency="bench", latitude=41.1,
                     longitude=-104.8, direction="N", active=True)
        for n in range(49)
    )  # fmt: skip
    db.close()


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) >= 20 else max(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reads", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    rng = random.Random(5)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cache.db"
        key = os.urandom(32)
        started = time.perf_counter()
        plates = _fill(path, key, args.reads, rng)
        _name_cameras(path, key, rng)
        fill_seconds = time.perf_counter() - started
        db = open_encrypted(path, key)
        repo = SearchRepository(db)
        samples = rng.sample(plates, args.runs)
        patterns = {
            "exact": samples,
            "prefix": [p[:3] + "*" for p in samples],
            "wildcard": ["*" + p[2:5] + "*" for p in samples],
        }
        figures: dict[str, object] = {
            "benchmark": "local_search_first_page",
            "reads": args.reads,
            "fill_seconds": round(fill_seconds, 2),
            "target_p95_ms": 20,
            "target_fuzzy_p95_ms": 50,
        }
        patterns["fuzzy"] = samples

        def first_pages(
            queries: list[SearchQuery], order: SearchOrder = NEWEST_FIRST
        ) -> list[float]:
            """Milliseconds for each query's count and first page, as a search does."""
            timings = []
            for query in queries:
                began = time.perf_counter()
                repo.count(query)
                repo.page(query, order=order, after=None, limit=200)
                timings.append((time.perf_counter() - began) * 1000)
            return timings

        def queries(texts: list[str], *, fuzzy: bool = False) -> list[SearchQuery]:
            return [
                SearchQuery(case_number=CASE, purpose="robbery", pattern=parse_pattern(text),
                            fuzzy=fuzzy)
                for text in texts
            ]  # fmt: skip

        for kind, texts in patterns.items():
            timings = first_pages(queries(texts, fuzzy=kind == "fuzzy"))
            figures[f"{kind}_p95_ms"] = round(_p95(timings), 2)

        def next_pages(query: SearchQuery, order: SearchOrder, pages: int = 10) -> list[float]:
            """Milliseconds for each page after the first (as scrolling asks for them)."""
            timings = []
            cursor = repo.page(query, order=order, after=None, limit=200).next_cursor
            for _ in range(pages):
                if cursor is None:
                    break
                began = time.perf_counter()
                cursor = repo.page(query, order=order, after=cursor, limit=200).next_cursor
                timings.append((time.perf_counter() - began) * 1000)
            return timings

        # Re-sorting by a column: the worst case is every cached read (no pattern),
        # against the default newest-first order over the same rows.
        all_reads = SearchQuery(case_number=CASE, purpose="robbery", pattern=None)
        last = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(seconds=2 * args.reads)
        last_day = SearchQuery(
            case_number=CASE, purpose="robbery", pattern=None,
            time_from=last - timedelta(days=1), time_to=last,
        )  # fmt: skip
        for label in ("time", "plate", "confidence", "camera", "camera:desc"):
            order = parse_order(label)
            label = label.replace(":", "_")
            figures[f"all_reads_sorted_by_{label}_max_ms"] = round(
                max(first_pages([all_reads] * 5, order)), 2
            )
            figures[f"all_reads_sorted_by_{label}_next_page_max_ms"] = round(
                max(next_pages(all_reads, order)), 2
            )
            figures[f"last_day_sorted_by_{label}_max_ms"] = round(
                max(first_pages([last_day] * 3, order) + next_pages(last_day, order, 3)), 2
            )
            prefixed = first_pages(queries(patterns["prefix"][:20]), order)
            figures[f"prefix_sorted_by_{label}_p95_ms"] = round(_p95(prefixed), 2)
        scan = []
        for text in patterns["wildcard"][:10]:
            began = time.perf_counter()
            db.execute(
                "SELECT * FROM reads WHERE plate LIKE ? ORDER BY captured_at DESC LIMIT 200",
                (parse_pattern(text).like,),
            ).fetchall()
            scan.append((time.perf_counter() - began) * 1000)
        figures["like_scan_p95_ms"] = round(_p95(scan), 2)
        db.close()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
