"""Decoding images for the plate reader: EXIF orientation, and bad files refused by kind."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PilImage

from app.vision.decode import ImageError, ImageProblem, decode_bytes, decode_file


def _jpeg(image: np.ndarray, orientation: int | None = None) -> bytes:
    import cv2

    pil = PilImage.fromarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    buf = io.BytesIO()
    if orientation is None:
        pil.save(buf, "JPEG", quality=95)
    else:
        exif = PilImage.Exif()
        exif[0x0112] = orientation
        pil.save(buf, "JPEG", quality=95, exif=exif.tobytes())
    return buf.getvalue()


def _marked() -> np.ndarray:
    """A 40 x 80 image, black but for a white block in its top-left corner."""
    image = np.zeros((40, 80, 3), np.uint8)
    image[:10, :10] = 255
    return image


def test_a_jpeg_decodes_to_bgr() -> None:
    image = decode_bytes(_jpeg(_marked()))
    assert image.shape == (40, 80, 3)
    assert image[:10, :10].mean() > 200
    assert image[30:, 70:].mean() < 30


@pytest.mark.parametrize(
    ("orientation", "shape", "corner"),
    [
        (1, (40, 80), (slice(0, 10), slice(0, 10))),
        (3, (40, 80), (slice(30, 40), slice(70, 80))),  # turned 180 degrees
        (6, (80, 40), (slice(0, 10), slice(30, 40))),  # turned 90 degrees clockwise
        (8, (80, 40), (slice(70, 80), slice(0, 10))),  # turned 90 degrees anticlockwise
    ],
)
def test_exif_orientation_is_applied_once(
    orientation: int, shape: tuple[int, int], corner: tuple[slice, slice]
) -> None:
    image = decode_bytes(_jpeg(_marked(), orientation))
    assert image.shape[:2] == shape
    assert image[corner].mean() > 200


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageError) as err:
        decode_file(path)
    assert err.value.problem is ImageProblem.EMPTY
    assert str(path) in str(err.value)


def test_a_pdf_renamed_jpg_is_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "scan.jpg"
    path.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")
    with pytest.raises(ImageError) as err:
        decode_file(path)
    assert err.value.problem is ImageProblem.NOT_AN_IMAGE
    assert "scan.jpg is not an image" in str(err.value)


def test_a_truncated_jpeg_is_refused() -> None:
    data = _jpeg(_marked())
    with pytest.raises(ImageError) as err:
        decode_bytes(data[: len(data) // 2])
    assert err.value.problem is ImageProblem.TRUNCATED


def test_a_20000_square_image_is_refused_before_decoding() -> None:
    """A PNG header claiming 20000 x 20000 pixels: refused by its size, never decoded."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
    with pytest.raises(ImageError) as err:
        decode_bytes(data, name="huge.png")
    assert err.value.problem is ImageProblem.TOO_LARGE
    assert "huge.png" in str(err.value)
    assert "megapixel limit" in str(err.value)


def test_damaged_image_data_is_unreadable() -> None:
    data = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
    with pytest.raises(ImageError) as err:
        decode_bytes(data)
    assert err.value.problem is ImageProblem.UNREADABLE


def test_a_missing_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ImageError) as err:
        decode_file(tmp_path / "nowhere.jpg")
    assert err.value.problem is ImageProblem.UNREADABLE
    assert "nowhere.jpg" in str(err.value)
