"""The plate reader: the shipped model, its accuracy on unseen synthetic plates, its
robustness to small rotations and brightness changes, and the CTC decoding it rests on."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from app.vision.decode import decode_file
from app.vision.plate_formats import ALPHABET, fits_a_format, states_fitting
from app.vision.plate_reader import (
    MODEL_NAME,
    NO_MODEL,
    SURE,
    ModelError,
    OnnxPlateReader,
    PlateCandidate,
    PlateReading,
    ctc_candidates,
    default_model_path,
    file_sha256,
    load_plate_reader,
    search_pattern,
)

CARD = Path(__file__).resolve().parents[3] / "models" / "plate_recognizer.md"
HELDOUT = Path(__file__).resolve().parents[2] / "data" / "plates" / "heldout_crops.npz"
# Measured on the first 200 held-out crops with the committed model, as read_crops reads
# them (sure first): 90.5% exact (89.0% voting on every crop without rectification),
# 97.3% of characters; a little under them, so a worse model or a decoding bug fails.
EXACT_FLOOR = 0.87
CHAR_FLOOR = 0.95
FRAMES_FLOOR = 10  # of the 12 held-out 1920 x 1080 frames read exactly (11 measured)


@pytest.fixture(scope="module")
def reader() -> OnnxPlateReader:
    loaded = load_plate_reader()
    assert loaded is not None, NO_MODEL
    return loaded


@pytest.fixture(scope="module")
def heldout() -> tuple[np.ndarray, list[str]]:
    data = np.load(HELDOUT)
    return data["images"][:200], [str(t) for t in data["texts"][:200]]


def test_no_model_file_means_no_reader(tmp_path: Path) -> None:
    assert load_plate_reader(tmp_path / MODEL_NAME) is None


def test_the_default_model_lives_in_models() -> None:
    path = default_model_path()
    assert path.parent.name == "models"
    assert path.name == MODEL_NAME
    assert NO_MODEL == "No plate reader model is installed (models/plate-reader.onnx)"


def test_a_file_that_is_not_a_model_is_reported(tmp_path: Path) -> None:
    model = tmp_path / MODEL_NAME
    model.write_bytes(b"onnx")
    with pytest.raises(ModelError, match="cannot be loaded"):
        load_plate_reader(model)


def test_the_shipped_model_matches_its_card() -> None:
    card = CARD.read_text()
    match = re.search(r"SHA-256: `([0-9a-f]{64})`", card)
    assert match is not None, "the model card gives the file's SHA-256"
    path = default_model_path()
    assert file_sha256(path) == match.group(1)
    assert path.stat().st_size <= 5 * 1024 * 1024


def _rates(got: list[str], want: list[str]) -> tuple[float, float]:
    exact = sum(g == w for g, w in zip(got, want, strict=True)) / len(want)
    total = sum(len(w) for w in want)
    errors = sum(_distance(g, w) for g, w in zip(got, want, strict=True))
    return exact, 1 - errors / total


def _distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def test_accuracy_on_unseen_synthetic_crops(
    reader: OnnxPlateReader, heldout: tuple[np.ndarray, list[str]]
) -> None:
    images, texts = heldout
    readings = reader.read_crops(list(images))
    got = [r.text if r is not None else "" for r in readings]
    exact, chars = _rates(got, texts)
    assert exact >= EXACT_FLOOR
    assert chars >= CHAR_FLOOR


def test_a_sure_first_reading_loses_nothing_to_the_full_vote(
    reader: OnnxPlateReader, heldout: tuple[np.ndarray, list[str]]
) -> None:
    """Crops read surely in one pass skip the vote; the rest are voted on. On unseen crops
    that reads at least as many exactly as voting on every crop, and a sure reading is
    the one-pass reading itself."""
    images, texts = heldout
    shipped = reader.read_crops(list(images))
    voted = reader.read_crops(list(images), vote_below=2.0)
    once = reader.read_crops(list(images), vote_below=0.0)

    def exact(readings: list[PlateReading | None]) -> int:
        return sum(r is not None and r.text == t for r, t in zip(readings, texts, strict=True))

    assert exact(shipped) >= exact(voted)
    sure = [i for i, r in enumerate(once) if r is not None and r.confidence >= SURE]
    assert len(sure) >= len(texts) // 2  # most crops cost one pass
    assert all(shipped[i] == once[i] for i in sure)
    assert any(shipped[i] != once[i] for i in range(len(texts)) if i not in sure)


def test_whole_frames_are_searched_for_their_plate(reader: OnnxPlateReader) -> None:
    labels = json.loads((HELDOUT.parent / "frames.json").read_text())
    exact = 0
    for label in labels:
        reading = reader.read_image(decode_file(HELDOUT.parent / label["image"]))
        if reading is None or reading.text != label["plate"]:
            continue
        exact += 1
        assert reading.box is not None
        x, y, w, h = reading.box
        gx, gy, gw, gh = label["box"]
        assert (min(x + w, gx + gw) > max(x, gx), min(y + h, gy + gh) > max(y, gy)) == (
            True,
            True,
        )  # the box overlaps the plate
    assert exact >= FRAMES_FLOOR


def test_a_large_crop_is_read_like_a_small_one(
    reader: OnnxPlateReader, heldout: tuple[np.ndarray, list[str]]
) -> None:
    """A crop wider than CROP_MAX_WIDTH is searched as a frame; when the search finds
    nothing plate-like, the whole crop is still read."""
    import cv2

    images, texts = heldout
    base = reader.read_crops(list(images[:60]))
    sure = [i for i, r in enumerate(base) if r is not None and r.text == texts[i]][:20]
    same = 0
    for i in sure:
        large = cv2.resize(images[i], (720, 240), interpolation=cv2.INTER_CUBIC)
        reading = reader.read_image(large)
        same += reading is not None and reading.text == texts[i]
    assert same >= 0.8 * len(sure)


def _rotate(image: np.ndarray, degrees: float) -> np.ndarray:
    import cv2

    h, w = image.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return np.asarray(cv2.warpAffine(image, m, (w, h), borderMode=cv2.BORDER_REPLICATE))


def test_small_rotations_and_brightness_changes_keep_the_reading(
    reader: OnnxPlateReader, heldout: tuple[np.ndarray, list[str]]
) -> None:
    images, texts = heldout
    base = reader.read_crops(list(images))
    sure = [
        i
        for i, r in enumerate(base)
        if r is not None and r.text == texts[i] and r.confidence >= 0.5
    ][:60]
    assert len(sure) >= 20
    changed: list[np.ndarray] = []
    for i in sure:
        img = images[i]
        changed += [
            _rotate(img, -3),
            _rotate(img, 3),
            np.clip(img.astype(np.int16) + 30, 0, 255).astype(np.uint8),
            np.clip(img.astype(np.int16) - 30, 0, 255).astype(np.uint8),
        ]
    readings = reader.read_crops(changed)
    kept = sum(r is not None and r.text == texts[sure[k // 4]] for k, r in enumerate(readings))
    assert kept / len(changed) >= 0.9


def _gamma(image: np.ndarray, gamma: float) -> np.ndarray:
    return np.clip(255 * (image / 255.0) ** gamma, 0, 255).astype(np.uint8)


def _contrast(image: np.ndarray, factor: float) -> np.ndarray:
    return np.clip((image.astype(np.float32) - 128) * factor + 128, 0, 255).astype(np.uint8)


def test_lighting_changes_keep_the_reading(
    reader: OnnxPlateReader, heldout: tuple[np.ndarray, list[str]]
) -> None:
    """Darker or lighter midtones (gamma) and flatter contrast, as dusk and haze give."""
    images, texts = heldout
    base = reader.read_crops(list(images[:100]))
    sure = [
        i
        for i, r in enumerate(base)
        if r is not None and r.text == texts[i] and r.confidence >= 0.5
    ][:30]
    assert len(sure) >= 20
    changed = [
        f(images[i])
        for i in sure
        for f in (
            lambda im: _gamma(im, 0.6),
            lambda im: _gamma(im, 1.6),
            lambda im: _contrast(im, 0.6),
        )
    ]
    readings = reader.read_crops(changed)
    kept = sum(r is not None and r.text == texts[sure[k // 3]] for k, r in enumerate(readings))
    assert kept / len(changed) >= 0.9


def test_rotations_up_to_seven_degrees_keep_the_reading_rectified(
    reader: OnnxPlateReader, heldout: tuple[np.ndarray, list[str]]
) -> None:
    """A plate turned by up to 7 degrees (a tilted camera, a sagging bracket) reads as it
    did level: rectification turns it back (measured 98% kept, 93% unrectified)."""
    images, texts = heldout
    base = reader.read_crops(list(images))
    sure = [
        i
        for i, r in enumerate(base)
        if r is not None and r.text == texts[i] and r.confidence >= 0.5
    ][:60]
    turned = [_rotate(images[i], d) for i in sure for d in (-7, 7)]
    readings = reader.read_crops(turned)
    kept = sum(r is not None and r.text == texts[sure[k // 2]] for k, r in enumerate(readings))
    assert kept / len(turned) >= 0.95


@pytest.mark.parametrize(
    "shape", [(1, 1, 3), (1, 5000, 3), (5000, 1, 3), (3, 700), (48, 144, 4), (1080, 1920, 3)]
)
def test_degenerate_images_give_no_plate_rather_than_an_error(
    reader: OnnxPlateReader, shape: tuple[int, ...]
) -> None:
    """A 1-pixel strip, a blank frame or a BGRA crop decodes fine: the reader says no
    plate was found instead of failing."""
    assert reader.read_image(np.zeros(shape, np.uint8)) is None


def _probs(path: list[dict[str, float]]) -> np.ndarray:
    """A T x 37 CTC output: each step's given probabilities, the rest on the blank."""
    out = np.zeros((len(path), len(ALPHABET) + 1), np.float32)
    for t, step in enumerate(path):
        for char, p in step.items():
            out[t, ALPHABET.index(char) + 1] = p
        out[t, 0] = 1 - sum(step.values())
    return out


def test_ctc_decoding_collapses_repeats_and_keeps_char_confidences() -> None:
    steps = [{"A": 0.9}, {"A": 0.95}, {}, {"A": 0.8}, {}, {"7": 0.7, "T": 0.2}]
    best = ctc_candidates(_probs(steps))[0]
    assert best[0] == "AA7"
    assert best[2] == pytest.approx((0.95, 0.8, 0.7))


def test_alternatives_are_re_ranked_by_the_state_formats() -> None:
    """The model slightly prefers I to 1, but only 1ABC234 is a serial format (California's)."""
    steps = [{"I": 0.55, "1": 0.45}, {}] + [x for c in "ABC234" for x in ({c: 0.99}, {})]
    readings = ctc_candidates(_probs(steps))
    assert [r[0] for r in readings[:2]] == ["1ABC234", "IABC234"]
    assert fits_a_format("1ABC234")
    assert not fits_a_format("IABC234")
    assert "CA" in states_fitting("1ABC234")


def test_the_search_pattern_marks_where_the_alternatives_differ() -> None:
    def c(text: str) -> PlateCandidate:
        return PlateCandidate(text, 0.5)

    assert search_pattern([]) is None
    assert search_pattern([c("8K7K2")]) == "8K7K2"
    assert search_pattern([c("8K7K2"), c("BK7K2"), c("8K7K2X"), c("8K7X2")]) == "?K7?2"
    assert search_pattern([c("8K7K2"), c("BK7K2"), c("8XYK2")]) == "?K7K2"  # at most two
