"""Write the held-out synthetic sets that the tests and the benchmark read.

    python -m models.plates.heldout

Seeds HELDOUT_SEED and FRAMES_SEED are never used by training (train.py's --seed and
--eval-seed differ), so these crops and frames are unseen by the model. STEEP_SEED and
STEEP_FRAMES_SEED give the steep sets (yaw 20-35 degrees, roll about 8) that measure
rectification: skewed crops and whole frames.

    python -m models.plates.heldout --photos 60 --out DIR
    python -m models.plates.heldout --frames 80 [--steep] --seed 424248 --out DIR

write, instead, PHOTOS_SEED's close-up vehicle photographs (models.plates.photos: 640 to
4,032 pixels wide, most too large to commit) or more 1920 x 1080 frames of a seed, with
their labels, to DIR: for `bench/bench_plate_reader.py --photos-dir DIR` and
`--frames-dir DIR`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from models.plates.frames import Frame, frame
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
    write_frames(OUT, (frame(FRAMES_SEED, i) for i in range(frames)), "frame_{:02d}.jpg")
    steep = [sample(STEEP_SEED, i, steep=True) for i in range(steep_crops)]
    np.savez_compressed(
        OUT / "steep_crops.npz",
        images=np.stack([s.image for s in steep]),
        texts=np.array([s.text for s in steep]),
    )
    write_frames(
        OUT,
        (frame(STEEP_FRAMES_SEED, i, steep=True) for i in range(steep_frames)),
        "steep_frame_{:02d}.jpg",
        labels="steep_frames.json",
    )


def write_frames(
    folder: Path,
    frames: Iterable[Frame],
    names: str,
    *,
    labels: str = "frames.json",
    quality: int = 85,
) -> None:
    """Each frame as a JPEG named `names`.format(i) in `folder`, and their labels (the
    plate's text and box) in `labels`: the format bench_plate_reader.py reads."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for i, f in enumerate(frames):
        name = names.format(i)
        cv2.imwrite(str(folder / name), f.image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        written.append({"image": name, "plate": f.text, "box": list(f.box)})
    (folder / labels).write_text(json.dumps(written, indent=1) + "\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--photos", type=int, help="write this many vehicle photos to --out instead")
    ap.add_argument(
        "--frames", type=int, help="write this many 1920 x 1080 frames to --out instead"
    )
    ap.add_argument("--steep", action="store_true", help="--frames: the plates at a steep angle")
    ap.add_argument("--seed", type=int, help="the stream (default: PHOTOS_SEED for --photos)")
    ap.add_argument("--out", type=Path, help="the folder for --photos or --frames")
    args = ap.parse_args()
    if (args.photos or args.frames) and args.out is None:
        ap.error("--photos and --frames need --out")
    if args.photos:
        seed = PHOTOS_SEED if args.seed is None else args.seed
        photos = (photo(seed, i) for i in range(args.photos))
        write_frames(args.out, photos, "photo_{:03d}.jpg", quality=92)
    elif args.frames:
        if args.seed is None:
            ap.error("--frames needs --seed (one apart from training's and the held-out sets')")
        made = (frame(args.seed, i, steep=args.steep) for i in range(args.frames))
        write_frames(args.out, made, "frame_{:03d}.jpg")
    else:
        main()
