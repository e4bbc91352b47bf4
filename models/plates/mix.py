"""What training shows the recognizer: the generator's crops mixed as decoding feeds them.

Decoding (app/vision/plate_reader.py) votes over the crop, the crop zoomed out and, where
app/vision/rectify.py finds the characters' row, the plate warped flat at two margins. A
model trained only on unrectified crops sees the flat views only at reading time, so a
share of the training samples are passed through the same straightening (one of its
margins, drawn per sample); where no row is found the plain crop is used, as decoding
does. Another share is drawn steep (yaw 20-35 degrees, roll about 8: generate._perspective
with steep=True), on top of the generator's own mix of angles.

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
    seed: int, index: int, *, steep_share: float = 0.0, rectified_share: float = 0.0
) -> Sample:
    """Sample `index` of the training stream `seed`: steep with probability `steep_share`,
    straightened as decoding does with probability `rectified_share` (where it can be)."""
    rng = np.random.default_rng([seed, index, MIX_STREAM])
    steep = bool(rng.random() < steep_share)
    straighten = bool(rng.random() < rectified_share)
    margin = MARGINS[int(rng.integers(len(MARGINS)))]
    gray, text = crop(seed, index, steep=steep)
    if straighten:
        flat = rectified(np.ascontiguousarray(gray, np.uint8), margins=(margin,))
        if flat:
            return Sample(flat[0], text)
    return Sample(to_input(gray), text)
