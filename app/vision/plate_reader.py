"""Re-reading a plate with the plate recognizer (models/plate-reader.onnx).

The recognizer is a small CNN with a CTC head (models/plate_recognizer.md): a 48 x 144 gray
crop in, per-step character probabilities out. This module:
- creates the onnxruntime session once per reader (one thread by default) and runs crops
  in batches;
- decodes the CTC output into text with per-character confidences and the top
  alternatives, re-ranked by how well they fit the state serial formats (plate_formats);
- reads a crop once, and where that reading is unsure (below SURE) votes over a few
  slightly shifted and rectified views of the same plate;
- in a whole frame, finds candidate plate boxes (localize.py) and keeps the one the
  recognizer reads with most confidence.
onnxruntime and OpenCV are imported inside functions only (ruff TID253).
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from app.config.paths import model_path
from app.core.errors import KnownError
from app.vision.plate_formats import ALPHABET, fits_a_format

if TYPE_CHECKING:
    from app.vision.localize import Box

MODEL_NAME = "plate-reader.onnx"
NO_MODEL = f"No plate reader model is installed (models/{MODEL_NAME})"
INPUT_HEIGHT, INPUT_WIDTH = 48, 144
OFF_FORMAT_WEIGHT = 0.35  # a reading that fits no state format counts this much (vanity plates)
ALTERNATIVES = 5
BATCH = 64  # crops per inference call: large batches only cost memory
SHIFTS = ((0.0, 0.0, 1.0), (-0.04, 0.0, 1.0), (0.04, 0.0, 1.0), (0.0, 0.0, 1.08))
# when the plate can be rectified, the vote is the crop as it is, zoomed out, and the
# rectified plate at two margins (rectify.MARGINS): still four passes of the model
RECTIFIED_SHIFTS = (SHIFTS[0], SHIFTS[3])
# a crop read in one pass with at least this confidence is not voted on: on held-out
# synthetic crops the vote then changes no reading for the better, and most crops are
# read at the cost of one pass (threshold chosen on a seed apart from the held-out sets)
SURE = 0.9
FRAME_FINALISTS = 2  # candidate boxes in a frame that get the full vote
FRAME_RECTIFIED = 3  # the most confident boxes in a frame whose plate is also rectified
MIN_CHAR_CONFIDENCE = 0.5  # a frame's best reading, below this geometric mean: no plate found
CROP_MAX_WIDTH = 640  # an image wider than this (or not plate-shaped) is a frame to search
UNSURE = 0.5  # a crop read with less confidence is also searched for a smaller plate inside
LOOSE_CROP_WIDTH = 240  # ... when it is at least this wide

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class PlateCandidate:
    """One reading of the plate: normalized text and the model's confidence (0..1)."""

    text: str
    confidence: float


@dataclass(frozen=True)
class PlateReading:
    """The reader's best reading of one plate, with where it is and what else it could be."""

    text: str
    confidence: float
    char_confidences: tuple[float, ...]
    alternatives: tuple[PlateCandidate, ...]  # best first, the reading itself included
    box: tuple[int, int, int, int] | None = None  # x, y, w, h in the image read


@dataclass
class _Votes:
    """Each text's mean score over the shifted crops, and the character confidences of
    the crop that read it best."""

    score: dict[str, float] = field(default_factory=dict)
    best: dict[str, float] = field(default_factory=dict)
    chars: dict[str, tuple[float, ...]] = field(default_factory=dict)

    def add(self, text: str, score: float, chars: tuple[float, ...], weight: float) -> None:
        self.score[text] = self.score.get(text, 0.0) + score * weight
        if score > self.best.get(text, -1.0):
            self.best[text] = score
            self.chars[text] = chars


class PlateReader(Protocol):
    def read(self, image: Image) -> list[PlateCandidate]:
        """Candidate readings of the plate in an 8-bit BGR image, best first."""
        ...


class ModelError(KnownError):
    """The model file is there but cannot be loaded (damaged, or not this model)."""


def default_model_path() -> Path:
    return model_path(MODEL_NAME)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_plate_reader(model_path: Path | None = None) -> OnnxPlateReader | None:
    """The plate reader for the model at `model_path` (default: models/plate-reader.onnx).

    None when no model file is installed; a file that is not a loadable model is a
    ModelError (re-reading stays off, the reason is shown).
    """
    path = model_path if model_path is not None else default_model_path()
    if not path.is_file():
        return None
    return OnnxPlateReader(path)


def to_gray(image: Image) -> Image:
    import cv2

    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY), dtype=np.uint8)
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), dtype=np.uint8)


def model_input(gray: Image) -> npt.NDArray[np.float32]:
    """A gray crop resized to the model's 48 x 144 input (as the training generator does)."""
    import cv2

    shrink = gray.shape[1] > INPUT_WIDTH
    resized = cv2.resize(
        gray,
        (INPUT_WIDTH, INPUT_HEIGHT),
        interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR,
    )
    return np.asarray(resized, dtype=np.float32)


def shifted(gray: Image, dx: float, dy: float, zoom: float) -> Image:
    """The crop moved by (dx, dy) of its size and zoomed out by `zoom` (edge pixels repeat)."""
    import cv2

    h, w = gray.shape
    if dx == 0 and dy == 0 and zoom == 1:
        return gray
    cx, cy = w / 2, h / 2
    m = np.array(
        [[1 / zoom, 0, cx - cx / zoom + dx * w], [0, 1 / zoom, cy - cy / zoom + dy * h]],
        dtype=np.float32,
    )
    out = cv2.warpAffine(gray, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    return np.asarray(out, dtype=np.uint8)


def ctc_candidates(
    probs: npt.NDArray[np.float32], *, limit: int = ALTERNATIVES
) -> list[tuple[str, float, tuple[float, ...]]]:
    """Readings of one crop's CTC output (T x 37, class 0 blank): best path, then the
    alternatives from the runner-up characters at each position, re-ranked by the
    state formats. Each is (text, score, per-character confidences)."""
    best = probs.argmax(axis=1)
    positions: list[list[tuple[str, float]]] = []
    prev = 0
    span: list[int] = []
    spans: list[list[int]] = []
    for t, k in enumerate(best.tolist()):
        if k != 0 and k != prev:
            span = [t]
            spans.append(span)
        elif k != 0 and k == prev:
            span.append(t)
        prev = k
    for span in spans:
        frame = probs[span].max(axis=0)  # each class's best probability over the char's frames
        order = np.argsort(frame[1:])[::-1][:3] + 1
        choices = [(ALPHABET[k - 1], float(frame[k])) for k in order]
        positions.append([(c, p) for c, p in choices if p >= 0.03] or choices[:1])
    if not positions:
        return []
    # the most uncertain positions get their runner-ups; the rest keep their best
    uncertain = sorted(range(len(positions)), key=lambda i: positions[i][0][1])[:4]
    options = [positions[i] if i in uncertain else positions[i][:1] for i in range(len(positions))]
    readings = []
    for combo in itertools.product(*options):
        text = "".join(c for c, _ in combo)
        confs = tuple(p for _, p in combo)
        score = math.prod(confs) * (1.0 if fits_a_format(text) else OFF_FORMAT_WEIGHT)
        readings.append((text, score, confs))
    readings.sort(key=lambda r: r[1], reverse=True)
    return readings[:limit]


class OnnxPlateReader:
    """The plate recognizer in an onnxruntime session, created once and reused."""

    def __init__(self, path: Path, *, threads: int = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelError(
                f"The plate reader model at {path} cannot be loaded ({type(exc).__name__}): "
                "reinstall Platedesk's models"
            ) from exc
        inputs = self._session.get_inputs()
        if len(inputs) != 1 or list(inputs[0].shape[1:]) != [1, INPUT_HEIGHT, INPUT_WIDTH]:
            raise ModelError(f"The model at {path} is not a plate reader (unexpected input)")
        self._input = inputs[0].name
        self.path = path

    def probabilities(self, crops: Sequence[Image]) -> npt.NDArray[np.float32]:
        """The CTC output (N x T x 37) of gray crops of any size, in one batch."""
        outs = []
        for at in range(0, len(crops), BATCH):
            batch = np.stack([model_input(c) for c in crops[at : at + BATCH]])[:, None]
            (out,) = self._session.run(None, {self._input: batch})
            outs.append(np.asarray(out, dtype=np.float32))
        return np.concatenate(outs)

    def read_crops(
        self,
        crops: Sequence[Image],
        *,
        shifts: Sequence[tuple[float, float, float]] = SHIFTS,
        rectify: bool = True,
        vote_below: float = SURE,
    ) -> list[PlateReading | None]:
        """Readings of plate crops (BGR or gray): each crop read once, and where that
        reading's confidence is below `vote_below` (above 1: always), a vote over a few
        shifted copies of it and (with `rectify`, where the characters' row is found) the
        plate warped flat. None for a crop where the model sees no characters."""
        from app.vision.rectify import rectified

        grays = [to_gray(c) for c in crops]
        passes = _Passes(self)
        readings = passes.vote([[g] for g in grays])
        unsure = [i for i, r in enumerate(readings) if r is None or r.confidence < vote_below]
        voted = passes.vote(
            [_views(grays[i], rectified(grays[i]) if rectify else [], shifts) for i in unsure]
        )
        for i, reading in zip(unsure, voted, strict=True):
            readings[i] = reading
        return readings

    def read_frame(self, image: Image, *, rectify: bool = True) -> PlateReading | None:
        """The plate in a whole frame: each candidate box read as it is and (with
        `rectify`) warped flat from the plate around it; the most confident box kept."""
        from app.vision.localize import candidate_boxes, crop, grown
        from app.vision.rectify import rectified

        gray = to_gray(image)
        boxes = candidate_boxes(gray)
        if not boxes:
            return None
        tight = [crop(gray, b) for b in boxes]
        # one pass over every candidate box, then over the rectified views of the most
        # confident few, all scored by the recognizer; then the full vote over the finalists
        # (which reads only the views not read already)
        passes = _Passes(self)
        first = passes.vote([[t] for t in tight])
        surest = {i: r.confidence for i, r in enumerate(first) if r is not None}
        flat: list[list[Image]] = [[] for _ in boxes]
        if rectify:
            for i in sorted(surest, key=lambda i: surest[i], reverse=True)[:FRAME_RECTIFIED]:
                flat[i] = rectified(crop(gray, grown(boxes[i], gray.shape)))
            views = [(i, view) for i, group in enumerate(flat) for view in group]
            for (i, _), reading in zip(views, passes.vote([[v] for _, v in views]), strict=True):
                if reading is not None:
                    surest[i] = max(surest.get(i, 0.0), reading.confidence)
        ranked = sorted(surest, key=lambda i: surest[i], reverse=True)[:FRAME_FINALISTS]
        voted = passes.vote([_views(tight[i], flat[i]) for i in ranked])
        best: tuple[PlateReading, Box] | None = None
        for reading, i in zip(voted, ranked, strict=True):
            if reading is not None and (best is None or reading.confidence > best[0].confidence):
                best = (reading, boxes[i])
        if best is None or not _plausible(best[0]):
            return None
        return replace(best[0], box=best[1])

    def read_image(self, image: Image) -> PlateReading | None:
        """A plate crop is read as it is (and searched, when that reading is unsure and the
        crop is large enough to hold a loose plate); a larger frame is searched first."""
        h, w = image.shape[:2]
        plate_shaped = 1.2 <= w / max(h, 1) <= 6
        if w <= CROP_MAX_WIDTH and plate_shaped:
            reading = self._read_whole(image)
            if (reading is None or reading.confidence < UNSURE) and w >= LOOSE_CROP_WIDTH:
                found = self.read_frame(image)
                if found is not None and (reading is None or found.confidence > reading.confidence):
                    return found
            return reading
        found = self.read_frame(image)
        if plate_shaped:  # perhaps a large crop of a plate: read whole, keep the surer reading
            whole = self._read_whole(image)
            surer = found is None or (whole is not None and whole.confidence > found.confidence)
            if whole is not None and _plausible(whole) and surer:
                return whole
        return found

    def _read_whole(self, image: Image) -> PlateReading | None:
        reading = self.read_crops([image])[0]
        h, w = image.shape[:2]
        return None if reading is None else replace(reading, box=(0, 0, w, h))

    def read(self, image: Image) -> list[PlateCandidate]:
        """The PlateReader seam: the best reading and its alternatives, best first."""
        reading = self.read_image(image)
        return [] if reading is None else list(reading.alternatives)


def _views(
    gray: Image, flat: list[Image], shifts: Sequence[tuple[float, float, float]] = SHIFTS
) -> list[Image]:
    """The views a plate is voted on, the crop as it is first (the same array, so its pass
    is not run again): with the plate rectified (`flat`), the crop, the crop zoomed out and
    the flat views; otherwise the crop and its shifted copies."""
    if flat:
        return [shifted(gray, dx, dy, z) for dx, dy, z in RECTIFIED_SHIFTS] + flat
    return [shifted(gray, dx, dy, z) for dx, dy, z in shifts]


class _Passes:
    """The model's output for the views of one reading, each view read once: a view voted
    on again (the crop as it is, a rectified view) reuses its first pass."""

    def __init__(self, reader: OnnxPlateReader) -> None:
        self._reader = reader
        # by the view's identity; the view is kept so that its id is not reused
        self._read: dict[int, tuple[Image, npt.NDArray[np.float32]]] = {}

    def vote(self, groups: Sequence[Sequence[Image]]) -> list[PlateReading | None]:
        """One reading per group of views of a plate (their mean scores); the views not
        read yet are read in one batch."""
        new = list(
            {id(v): v for group in groups for v in group if id(v) not in self._read}.values()
        )
        if new:
            for view, probs in zip(new, self._reader.probabilities(new), strict=True):
                self._read[id(view)] = (view, probs)
        out: list[PlateReading | None] = []
        for group in groups:
            votes = _Votes()
            for view in group:
                for text, score, chars in ctc_candidates(self._read[id(view)][1]):
                    votes.add(text, score, chars, 1 / len(group))
            out.append(_reading(votes))
        return out


def _plausible(reading: PlateReading) -> bool:
    """Whether a reading found in a frame looks like a plate rather than clutter: at least
    two characters, read with a geometric-mean confidence of MIN_CHAR_CONFIDENCE."""
    chars = reading.char_confidences
    if len(chars) < 2:
        return False
    return math.exp(sum(math.log(max(c, 1e-6)) for c in chars) / len(chars)) >= MIN_CHAR_CONFIDENCE


def _reading(votes: _Votes) -> PlateReading | None:
    if not votes.score:
        return None
    ranked = sorted(votes.score.items(), key=lambda kv: kv[1], reverse=True)
    text, score = ranked[0]
    alternatives = tuple(PlateCandidate(t, round(min(s, 1.0), 4)) for t, s in ranked[:ALTERNATIVES])
    chars = tuple(round(c, 4) for c in votes.chars[text])
    return PlateReading(text, round(min(score, 1.0), 4), chars, alternatives)


def search_pattern(candidates: Sequence[PlateCandidate], *, max_wildcards: int = 2) -> str | None:
    """A plate pattern that finds the best reading and its likeliest alternatives: the best
    text with '?' where a same-length alternative differs (at most `max_wildcards` of
    them, from the most confident alternatives first). None when there is no reading."""
    if not candidates:
        return None
    best = list(candidates[0].text)
    wild: set[int] = set()
    for other in candidates[1:]:
        if len(other.text) != len(best):
            continue
        differ = {i for i, (a, b) in enumerate(zip(best, other.text, strict=True)) if a != b}
        if len(wild | differ) > max_wildcards:
            continue
        wild |= differ
    return "".join("?" if i in wild else c for i, c in enumerate(best))


def describe(reading: PlateReading | None) -> dict[str, Any]:
    """The JSON form of a reading, as `platedesk read-plate --json` prints it."""
    if reading is None:
        return {"plate": None, "reason": "no plate found", "confidence": 0.0, "box": None,
                "alternatives": []}  # fmt: skip
    return {
        "plate": reading.text,
        "confidence": reading.confidence,
        "char_confidences": list(reading.char_confidences),
        "box": list(reading.box) if reading.box is not None else None,
        "alternatives": [[c.text, c.confidence] for c in reading.alternatives],
    }
