"""Write the held-out synthetic sets that the tests and the benchmark read.

    python -m models.plates.heldout

Seeds HELDOUT_SEED and FRAMES_SEED are never used by training (train.py's --seed and
--eval-seed differ), so these crops and frames are unseen by the model. STEEP_SEED and
STEEP_FRAMES_SEED give the steep sets (yaw 20-35 degrees, roll about 8) that measure
rectification: skewed crops and whole frames.

    python -m models.plates.heldout --photos 60 --out DIR

writes PHOTOS_SEED's close-up vehicle photographs (models.plates.photos: 640 to 4,032
pixels wide, most too large to commit) and their labels to DIR instead, for
`bench/bench_plate_reader.py --photos-dir DIR`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from models.plates.frames import frame
from models.plates.generate import sample
from models.plates.photos import photo

HELDOUT_SEED = 424242
FRAMES_SEED = 424243
STEEP_SEED = 424244
STEEP_FRAMES_SEED = 424245
PHOTOS_SEED = 424250
OUT = Path(__file__).resolve().parents[2] / "tests" / "data" / "plates"


def main(
    crops: int = 400, frames: int = 12, steep_crops: int = 200, steep_frames: int = 12
) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    samples = [sample(HELDOUT_SEED, i) for i in range(crops)]
    np.savez_compressed(
        OUT / "heldout_crops.npz",
        images=np.stack([s.image for s in samples]),
        texts=np.array([s.text for s in samples]),
    )
    labels = []
    for i in range(frames):
        f = frame(FRAMES_SEED, i)
        name = f"frame_{i:02d}.jpg"
        cv2.imwrite(str(OUT / name), f.image, [cv2.IMWRITE_JPEG_QUALITY, 85])
        labels.append({"image": name, "plate": f.text, "box": list(f.box)})
    (OUT / "frames.json").write_text(json.dumps(labels, indent=1) + "\n")
    steep = [sample(STEEP_SEED, i, steep=True) for i in range(steep_crops)]
    np.savez_compressed(
        OUT / "steep_crops.npz",
        images=np.stack([s.image for s in steep]),
        texts=np.array([s.text for s in steep]),
    )
    labels = []
    for i in range(steep_frames):
        f = frame(STEEP_FRAMES_SEED, i, steep=True)
        name = f"steep_frame_{i:02d}.jpg"
        cv2.imwrite(str(OUT / name), f.image, [cv2.IMWRITE_JPEG_QUALITY, 85])
        labels.append({"image": name, "plate": f.text, "box": list(f.box)})
    (OUT / "steep_frames.json").write_text(json.dumps(labels, indent=1) + "\n")


def write_photos(folder: Path, count: int, seed: int = PHOTOS_SEED) -> None:
    """`count` vehicle photos of stream `seed` in `folder`, with frames.json (the labels)."""
    folder.mkdir(parents=True, exist_ok=True)
    labels = []
    for i in range(count):
        p = photo(seed, i)
        name = f"photo_{i:03d}.jpg"
        cv2.imwrite(str(folder / name), p.image, [cv2.IMWRITE_JPEG_QUALITY, 92])
        labels.append({"image": name, "plate": p.text, "box": list(p.box)})
    (folder / "frames.json").write_text(json.dumps(labels, indent=1) + "\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--photos", type=int, help="write this many vehicle photos to --out instead")
    ap.add_argument("--out", type=Path, help="the folder for --photos")
    args = ap.parse_args()
    if args.photos:
        if args.out is None:
            ap.error("--photos needs --out")
        write_photos(args.out, args.photos)
    else:
        main()
