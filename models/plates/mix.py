"""What training shows the recognizer: the generator's crops mixed as decoding feeds them.

Decoding (app/vision/plate_reader.py) votes over the crop, the crop zoomed out and, where
app/vision/rectify.py finds the characters' row, the plate warped flat at two margins. A
model trained only on unrectified crops sees the flat views only at reading time, so a
share of the training samples are passed through the same straightening (one of its
margins, drawn per sample); where no row is found the plain crop is used, as decoding
does. Another share is drawn steep (yaw 20-35 degrees, roll about 8: generate._perspective
with steep=True), on top of the generator's own mix of angles. A third share is crossed by
a hard shadow (the edge of a trunk lid, a bumper or a tree in daylight: one side of a
straight edge darkened, with a narrow penumbra), which the generator's soft glare and dirt
do not make and photographs of parked cars often show.

Every choice comes from its own random stream of (seed, index, MIX_STREAM), so sample i
is still a function of (seed, i) and the generator's stream for (seed, i) is untouched:
with both shares 0, training_sample(seed, i) is generate.sample(seed, i).
"""

from __future__ import annotations

import numpy as np

from app.vision.rectify import MARGINS, rectified
from models.plates.generate import Sample, crop, to_input

MIX_STREAM = 1  # a third seed word: the mix's choices never reuse the generator's stream


def training_sample(
    seed: int,
    index: int,
    *,
    steep_share: float = 0.0,
    rectified_share: float = 0.0,
    shadow_share: float = 0.0,
) -> Sample:
    """Sample `index` of the training stream `seed`: steep with probability `steep_share`,
    straightened as decoding does with probability `rectified_share` (where it can be),
    crossed by a hard shadow with probability `shadow_share`."""
    rng = np.random.default_rng([seed, index, MIX_STREAM])
    steep = bool(rng.random() < steep_share)
    straighten = bool(rng.random() < rectified_share)
    margin = MARGINS[int(rng.integers(len(MARGINS)))]
    shade = bool(rng.random() < shadow_share)  # drawn after the others: their streams hold
    gray, text = crop(seed, index, steep=steep)
    if shade:
        gray = shadowed(rng, gray)
    if straighten:
        flat = rectified(np.ascontiguousarray(gray, np.uint8), margins=(margin,))
        if flat:
            return Sample(flat[0], text)
    return Sample(to_input(gray), text)


def shadowed(rng: np.random.Generator, gray: np.ndarray) -> np.ndarray:
    """The crop with one side of a straight edge darkened to 35-70% (a penumbra of 0.5-2.5
    pixels): the edge crosses the crop at any angle, nearer horizontal than not."""
    import cv2

    h, w = gray.shape
    angle = rng.uniform(-0.6, 0.6) + (np.pi / 2 if rng.random() < 0.3 else 0.0)
    nx, ny = -np.sin(angle), np.cos(angle)  # the edge's normal
    cx, cy = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    side = ((xx - cx) * nx + (yy - cy) * ny > 0).astype(np.float32)
    side = cv2.GaussianBlur(side, (0, 0), rng.uniform(0.5, 2.5))
    dark = rng.uniform(0.35, 0.7)
    out = gray.astype(np.float32) * (1 - side * (1 - dark))
    return np.clip(out, 0, 255).astype(np.uint8)
