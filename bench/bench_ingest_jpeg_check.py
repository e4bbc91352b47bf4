"""The cost of ingest's JPEG check per image: the strict check (marker walk, frame
size, strict decode at 1/8 with libjpeg-turbo: hub.ingest.check_jpeg) next to the
baseline measured in the same run, the marker walk alone (hub.ingest.jpeg_structure:
what a baseline JPEG cost before the decode was added), and, for scale, a strict
full-size grey decode.

The images are the simulator's (hub.simulate.scene: 640x360 scenes and their plate
crops, as `platedesk-hub simulate` posts them). Each figure is the best of --repeats
passes over every image, in CPU milliseconds per image (one thread), plus the added
cost per read (scene and crop) and what one core would then check per second.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import simplejpeg

from hub.ingest import check_jpeg, jpeg_structure
from hub.simulate.scene import SceneSpec, render


def _images(count: int) -> tuple[list[bytes], list[bytes]]:
    scenes, crops = [], []
    for seed in range(count):
        spec = SceneSpec(
            plate_text=f"{seed % 10}K2-L{seed % 7}V",
            state="WY",
            color=("white", "blue", "red", "black")[seed % 4],
            body_type=("suv", "sedan", "pickup")[seed % 3],
            night=seed % 5 == 0,
            seed=seed,
        )
        scene, crop = render(spec)
        scenes.append(scene)
        crops.append(crop)
    return scenes, crops


def _best_ms(images: list[bytes], check: Callable[[bytes], object], repeats: int) -> float:
    """CPU milliseconds per image, the best of `repeats` passes."""
    best = float("inf")
    for _ in range(repeats):
        start = time.thread_time()
        for data in images:
            check(data)
        best = min(best, (time.thread_time() - start) / len(images))
    return round(best * 1000, 4)


def _full_decode(data: bytes) -> object:
    return simplejpeg.decode_jpeg(data, colorspace="GRAY", strict=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=200, help="scenes (and as many crops)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    scenes, crops = _images(args.images)
    result: dict[str, object] = {
        "images": args.images,
        "scene_bytes_mean": round(sum(map(len, scenes)) / len(scenes)),
        "crop_bytes_mean": round(sum(map(len, crops)) / len(crops)),
    }
    per_read = {"baseline_walk": 0.0, "check": 0.0}
    for kind, images in (("scene", scenes), ("crop", crops)):
        walk = _best_ms(images, jpeg_structure, args.repeats)
        strict = _best_ms(images, lambda data: check_jpeg(data, field="image_jpeg"), args.repeats)
        full = _best_ms(images, _full_decode, args.repeats)
        result[kind] = {
            "baseline_walk_ms": walk,
            "check_ms": strict,
            "full_size_decode_ms": full,
            "added_ms": round(strict - walk, 4),
        }
        per_read["baseline_walk"] += walk
        per_read["check"] += strict
    added = per_read["check"] - per_read["baseline_walk"]
    result["per_read"] = {
        "baseline_walk_ms": round(per_read["baseline_walk"], 4),
        "check_ms": round(per_read["check"], 4),
        "added_ms": round(added, 4),
        "reads_checked_per_core_second": round(1000 / per_read["check"]),
        "cores_for_2000_reads_per_second": round(2000 * per_read["check"] / 1000, 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
