"""Enhancement is non-destructive and each control moves the image the expected way."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.errors import KnownError
from app.vision.enhance import (
    UNDECODABLE,
    Enhancement,
    Image,
    apply_enhancement,
    decode_jpeg,
    jpeg_size,
    preview_reduction,
)


def _gradient(height: int = 64, width: int = 96) -> Image:
    """A BGR image with every level from dark to light, and a sharp edge in the middle."""
    row = np.linspace(20, 235, width).astype(np.uint8)
    gray = np.tile(row, (height, 1))
    gray[:, width // 2 - 2 : width // 2 + 2] = 250
    return np.ascontiguousarray(np.dstack([gray, gray, gray]))


def _jpeg(image: Image) -> bytes:
    import cv2

    ok, data = cv2.imencode(".jpg", image)
    assert ok
    return bytes(data.tobytes())


def test_identity_returns_equal_pixels_in_a_new_array() -> None:
    image = _gradient()
    assert Enhancement().is_identity
    out = apply_enhancement(image, Enhancement())
    assert out is not image
    np.testing.assert_array_equal(out, image)


@pytest.mark.parametrize(
    "enhancement",
    [
        Enhancement(brightness=40),
        Enhancement(contrast=2.0),
        Enhancement(gamma=2.0),
        Enhancement(clahe=True),
        Enhancement(sharpen=1.5),
        Enhancement(brightness=-30, contrast=1.5, gamma=0.5, clahe=True, sharpen=2.0),
    ],
)
def test_the_input_is_never_modified(enhancement: Enhancement) -> None:
    image = _gradient()
    before = image.copy()
    out = apply_enhancement(image, enhancement)
    np.testing.assert_array_equal(image, before)
    assert out.shape == image.shape
    assert out.dtype == np.uint8
    assert not enhancement.is_identity
    assert not np.shares_memory(out, image)


def test_brightness_raises_and_lowers_the_mean() -> None:
    image = _gradient()
    assert apply_enhancement(image, Enhancement(brightness=50)).mean() > image.mean() + 30
    assert apply_enhancement(image, Enhancement(brightness=-50)).mean() < image.mean() - 30


def test_contrast_spreads_and_narrows_the_levels() -> None:
    image = _gradient()
    assert apply_enhancement(image, Enhancement(contrast=2.0)).std() > image.std() * 1.3
    assert apply_enhancement(image, Enhancement(contrast=0.5)).std() < image.std() * 0.7


def test_gamma_above_one_lifts_the_mid_tones() -> None:
    image = np.full((8, 8, 3), 100, dtype=np.uint8)
    assert apply_enhancement(image, Enhancement(gamma=2.0)).mean() > 130
    assert apply_enhancement(image, Enhancement(gamma=0.5)).mean() < 60


def test_clahe_raises_local_contrast_of_a_flat_image() -> None:
    rng = np.random.default_rng(7)
    gray = (120 + rng.integers(-6, 7, size=(64, 64))).astype(np.uint8)
    image = np.ascontiguousarray(np.dstack([gray, gray, gray]))
    assert apply_enhancement(image, Enhancement(clahe=True)).std() > image.std() * 1.5


def test_sharpen_steepens_edges() -> None:
    import cv2

    image = cv2.GaussianBlur(_gradient(), (0, 0), 2.0)

    def edge_strength(img: Image) -> float:
        return float(np.abs(np.diff(img[:, :, 0].astype(np.int16), axis=1)).sum())

    sharpened = apply_enhancement(image, Enhancement(sharpen=1.5))
    assert edge_strength(sharpened) > edge_strength(image) * 1.2


def test_grayscale_images_are_enhanced_too() -> None:
    gray = _gradient()[:, :, 0].copy()
    out = apply_enhancement(gray, Enhancement(clahe=True, brightness=10, sharpen=0.5))
    assert out.shape == gray.shape


@pytest.mark.parametrize(
    "kwargs",
    [{"brightness": 101}, {"contrast": 0.4}, {"gamma": 3.5}, {"sharpen": -0.1}],
)
def test_out_of_range_controls_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be within"):
        Enhancement(**kwargs)  # type: ignore[arg-type]


def test_decode_jpeg_gives_bgr_pixels() -> None:
    image = np.zeros((30, 40, 3), dtype=np.uint8)
    image[:, :, 2] = 200  # red in BGR
    decoded = decode_jpeg(_jpeg(image))
    assert decoded.shape == (30, 40, 3)
    assert decoded[:, :, 2].mean() > 180
    assert decoded[:, :, 0].mean() < 30


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"not an image at all", id="garbage"),
        pytest.param(b"\xff\xd8\xff\xe0 not really a JPEG", id="header-only"),
        pytest.param("truncated", id="truncated"),
        pytest.param("corrupt-body", id="corrupt-body"),
    ],
)
def test_damaged_jpegs_are_a_known_error(data: bytes | str) -> None:
    good = _jpeg(_gradient())
    if data == "truncated":
        data = good[: len(good) // 2]
    elif data == "corrupt-body":
        data = good[:2] + b"\x00" * (len(good) - 4) + good[-2:]
    assert isinstance(data, bytes)
    with pytest.raises(KnownError) as raised:
        decode_jpeg(data)
    assert str(raised.value) == UNDECODABLE


def test_jpeg_size_reads_the_frame_header_of_baseline_and_progressive_jpegs() -> None:
    import cv2

    image = _gradient(height=108, width=192)
    assert jpeg_size(_jpeg(image)) == (192, 108)
    ok, progressive = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    assert ok
    assert jpeg_size(bytes(progressive.tobytes())) == (192, 108)
    for damaged in (b"", b"not a jpeg", _jpeg(image)[:20], b"\xff\xd8\xff\xda\x00\x08"):
        assert jpeg_size(damaged) is None


def test_a_preview_has_at_least_the_views_pixels_both_ways() -> None:
    full_hd = (1920, 1080)
    assert preview_reduction(full_hd, (880, 495)) == 2
    assert preview_reduction(full_hd, (400, 200)) == 4
    assert preview_reduction(full_hd, (240, 135)) == 8
    assert preview_reduction(full_hd, (961, 300)) == 1  # half the width is too narrow
    assert preview_reduction(None, (100, 100)) == 1


def test_decode_jpeg_at_a_reduced_size() -> None:
    data = _jpeg(_gradient(height=64, width=96))
    assert decode_jpeg(data, reduction=2).shape == (32, 48, 3)
    assert decode_jpeg(data, reduction=8).shape == (8, 12, 3)
