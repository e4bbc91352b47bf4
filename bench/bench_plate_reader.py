"""The plate reader on held-out synthetic data: accuracy, latency, model load; rapidocr alongside.

Reads tests/data/plates (made by `python -m models.plates.heldout` with seeds training
never saw): plate crops, and 1920 x 1080 frames with one plate each, plus the steep sets
(yaw 20-35 degrees, roll about 8): skewed crops and frames. Measures, on one CPU
thread: model load time; exact and character accuracy and per-crop latency on the crops
(one shift, as a batch of one; the reader's full vote on every crop, without and with
rectification, in the same run; and what ships, `crop_read`: the vote only where one pass
is less sure than plate_reader.SURE); the frames localized and read, without and with
rectification (exact accuracy and latency per frame). `--frames-dir` (repeatable) adds a folder of
more frames with a labels JSON (`python -m models.plates.heldout` writes the format;
making them needs the `train` extra's fonts). `--photos-dir` (repeatable) adds a folder of
close-up vehicle photographs (`python -m models.plates.heldout --photos N --out DIR`), read
as `platedesk read-plate` reads any image (`read_image`: a photo is searched, a crop read
whole), and rapidocr's detector and recognizer read them too. When rapidocr-onnxruntime is
installed (pip install -e '.[bench]'), its recognizer reads the same crops in the same run
as the baseline. `--model` (repeatable) measures other model files in the same run, each
on the same data (an old and a new model side by side); the load average is reported at
the start and the end. Prints JSON. Targets (issue 23): <= 5 ms a crop (aim 2), <= 60 ms a
frame, load <= 200 ms, and better than rapidocr on accuracy and speed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from app.vision.decode import decode_file
from app.vision.plate_reader import (
    SURE,
    OnnxPlateReader,
    PlateReading,
    ctc_candidates,
    default_model_path,
)

ALWAYS_VOTE = 2.0  # read_crops' vote_below: every crop voted on
DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "plates"


def _distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def _accuracy(got: list[str], want: list[str]) -> dict[str, float]:
    exact = sum(g == w for g, w in zip(got, want, strict=True)) / len(want)
    errors = sum(_distance(g, w) for g, w in zip(got, want, strict=True))
    return {"exact": round(exact, 4), "chars": round(1 - errors / sum(map(len, want)), 4)}


def _ms(samples: list[float], cpu: list[float]) -> dict[str, float]:
    """Wall-clock median and p95, and the median CPU time of the process: on a loaded
    machine the wall clock counts the time spent waiting for a core, the CPU time not."""
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 3),
        "cpu_median_ms": round(statistics.median(cpu) * 1000, 3),
    }


def _rapidocr(images: np.ndarray, texts: list[str]) -> dict[str, Any] | None:
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError:
        return None
    import cv2

    engine = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)
    got, times, cpu = [], [], []
    for image in images:
        bgr = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        started, cpu_started = time.perf_counter(), time.process_time()
        result, _ = engine(bgr, use_det=False, use_cls=False, use_rec=True)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        text = result[0][0] if result else ""
        got.append("".join(c for c in text.upper() if c.isalnum()))
    return {**_accuracy(got, texts), **_ms(times, cpu)}


def _rapidocr_photos(folder: Path) -> dict[str, Any] | None:
    """rapidocr's whole pipeline (text detection, then recognition) on each photo. A photo
    counts as read when any text it finds is the plate: generous to it, as a baseline."""
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError:
        return None

    engine = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)
    labels = json.loads((folder / "frames.json").read_text())
    exact, times, cpu = 0, [], []
    for label in labels:
        image = decode_file(folder / label["image"])
        started, cpu_started = time.perf_counter(), time.process_time()
        result, _ = engine(image)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        found = {"".join(c for c in r[1].upper() if c.isalnum()) for r in result or []}
        exact += str(label["plate"]) in found
    return {
        "count": len(labels),
        "exact_any_text": round(exact / len(labels), 4),
        **_ms(times, cpu),
    }


def _crops(
    reader: OnnxPlateReader,
    images: np.ndarray,
    texts: list[str],
    *,
    rectify: bool = True,
    vote_below: float = ALWAYS_VOTE,
) -> dict[str, Any]:
    """The reader on each crop as a batch of one, voting below `vote_below` (by default on
    every crop; SURE: what ships): accuracy and latency."""
    got, times, cpu = [], [], []
    for image in images:
        started, cpu_started = time.perf_counter(), time.process_time()
        reading = reader.read_crops([image], rectify=rectify, vote_below=vote_below)[0]
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        got.append(reading.text if reading is not None else "")
    return {**_accuracy(got, texts), **_ms(times, cpu)}


def _images(
    read: Callable[[np.ndarray], PlateReading | None], folder: Path, labels: list[dict[str, Any]]
) -> dict[str, Any]:
    """Each labelled image in `folder` decoded, then timed through `read`: accuracy, latency."""
    got, times, cpu = [], [], []
    for label in labels:
        image = decode_file(folder / label["image"])
        started, cpu_started = time.perf_counter(), time.process_time()
        reading = read(image)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        got.append(reading.text if reading is not None else "")
    return {**_accuracy(got, [str(label["plate"]) for label in labels]), **_ms(times, cpu)}


def _frames(
    reader: OnnxPlateReader, folder: Path, labels: list[dict[str, Any]], *, rectify: bool
) -> dict[str, Any]:
    return _images(lambda image: reader.read_frame(image, rectify=rectify), folder, labels)


def _photos(reader: OnnxPlateReader, folder: Path) -> dict[str, Any]:
    labels = json.loads((folder / "frames.json").read_text())
    return {"count": len(labels), **_images(reader.read_image, folder, labels)}


def _before_after(run: Any) -> dict[str, Any]:
    """A measurement without rectification (the previous reader) and with it, same run."""
    return {"unrectified": run(rectify=False), "rectified": run(rectify=True)}


def _measure(path: Path, args: argparse.Namespace) -> tuple[dict[str, Any], np.ndarray, list[str]]:
    """Every measurement of one model file: (results, the crops, their texts)."""
    started = time.perf_counter()
    reader = OnnxPlateReader(path, threads=1)
    load_ms = (time.perf_counter() - started) * 1000

    data = np.load(DATA / "heldout_crops.npz")
    images = data["images"][: args.crops]
    texts = [str(t) for t in data["texts"][: args.crops]]
    reader.probabilities([images[0]])  # warm-up

    single, single_times, single_cpu = [], [], []
    for image in images:
        started, cpu_started = time.perf_counter(), time.process_time()
        probs = reader.probabilities([image])
        found = ctc_candidates(probs[0])
        single_times.append(time.perf_counter() - started)
        single_cpu.append(time.process_time() - cpu_started)
        single.append(found[0][0] if found else "")

    voted = _before_after(lambda rectify: _crops(reader, images, texts, rectify=rectify))
    shipped = _crops(reader, images, texts, vote_below=SURE)

    started = time.perf_counter()
    reader.read_crops(list(images), vote_below=ALWAYS_VOTE)
    batch_ms = (time.perf_counter() - started) * 1000 / len(images)

    steep = np.load(DATA / "steep_crops.npz")
    steep_texts = [str(t) for t in steep["texts"]]
    steep_voted = _before_after(
        lambda rectify: _crops(reader, steep["images"], steep_texts, rectify=rectify)
    )
    steep_shipped = _crops(reader, steep["images"], steep_texts, vote_below=SURE)

    frame_sets: dict[str, Any] = {}
    for name, folder, labels_file, limit in (
        ("frames", DATA, "frames.json", args.frames),
        ("steep_frames", DATA, "steep_frames.json", args.frames),
        *((f"more_frames:{folder.name}", folder, args.labels, None) for folder in args.frames_dir),
    ):
        labels = json.loads((folder / labels_file).read_text())[:limit]
        frame_sets[name] = {
            "count": len(labels),
            **_before_after(
                lambda rectify, f=folder, lb=labels: _frames(reader, f, lb, rectify=rectify)
            ),
        }

    photo_sets = {folder.name: _photos(reader, folder) for folder in args.photos_dir}

    result: dict[str, Any] = {
        "model": str(path),
        "model_bytes": path.stat().st_size,
        "model_load_ms": round(load_ms, 1),
        "crops": len(texts),
        "crop_one_pass": {**_accuracy(single, texts), **_ms(single_times, single_cpu)},
        "crop_voted": voted,
        "crop_read": shipped,  # what ships: voted only when one pass is unsure
        "crop_voted_batch_ms_per_crop": round(batch_ms, 3),
        "steep_crops": len(steep_texts),
        "steep_crop_voted": steep_voted,
        "steep_crop_read": steep_shipped,
        "frame_1920x1080": frame_sets,
        "photos": photo_sets,
    }
    return result, images, texts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--crops", type=int, default=400)
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--frames-dir", type=Path, action="append", default=[],
                    help="a folder of more frames and its labels (repeat for more sets)")  # fmt: skip
    ap.add_argument("--labels", default="frames.json", help="the labels file in --frames-dir")
    ap.add_argument("--photos-dir", type=Path, action="append", default=[],
                    help="a folder of vehicle photos and frames.json, read as read-plate does")  # fmt: skip
    ap.add_argument("--model", type=Path, action="append",
                    help="a model file to measure (repeat to compare; default: the shipped one)")  # fmt: skip
    args = ap.parse_args()

    import cv2

    cv2.setNumThreads(1)  # one CPU thread for OpenCV too, as for onnxruntime
    load_before = os.getloadavg()
    runs = []
    for path in args.model or [default_model_path()]:
        result, images, texts = _measure(path, args)
        runs.append(result)
    rapidocr = _rapidocr(images, texts)
    out: dict[str, Any] = runs[0] if len(runs) == 1 else {"runs": runs}
    out["rapidocr_same_crops"] = rapidocr
    if args.photos_dir:
        out["rapidocr_same_photos"] = {f.name: _rapidocr_photos(f) for f in args.photos_dir}
    out["load_average"] = {"start": [round(x, 2) for x in load_before],
                           "end": [round(x, 2) for x in os.getloadavg()]}  # fmt: skip
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
