"""Decode an image file for plate reading: any format OpenCV reads, EXIF orientation applied.

Bad files give an ImageError whose problem says what is wrong (empty, not an image,
truncated, too large), and whose message names the file and what to do.
"""

from __future__ import annotations

import enum
from pathlib import Path

import numpy as np
import numpy.typing as npt

from app.core.errors import ErrorKind, KnownError

Image = npt.NDArray[np.uint8]

MAX_PIXELS = 50_000_000  # about 8K x 6K; a 20000 x 20000 image is refused before decoding
_SIGNATURES = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG\r\n\x1a\n",
    b"BM",  # BMP
    b"II*\x00",  # TIFF, little-endian
    b"MM\x00*",  # TIFF, big-endian
    b"RIFF",  # WebP
)
JPEG_END = b"\xff\xd9"


class ImageProblem(enum.Enum):
    EMPTY = "empty"
    NOT_AN_IMAGE = "not an image"
    TRUNCATED = "truncated"
    TOO_LARGE = "too large"
    UNREADABLE = "unreadable"


class ImageError(KnownError):
    """An image file that cannot be read; `problem` says why (its kind: invalid input)."""

    kind = ErrorKind.INVALID

    def __init__(self, problem: ImageProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


def _size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the header, without decoding; None when unknown.
    Sizes far past Pillow's own limit come back as (0, 0): too large to say."""
    import io

    from PIL import Image as PilImage  # Pillow reads only the header here

    try:
        with PilImage.open(io.BytesIO(data)) as img:
            return int(img.width), int(img.height)
    except PilImage.DecompressionBombError:
        return (0, 0)
    except Exception:
        return None


def exif_orientation(data: bytes) -> int:
    """The EXIF orientation tag (1-8) of a JPEG, 1 when it has none."""
    import io

    from PIL import Image as PilImage

    try:
        with PilImage.open(io.BytesIO(data)) as img:
            value = img.getexif().get(0x0112, 1)
    except Exception:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def orient(image: Image, orientation: int) -> Image:
    """The image turned upright according to its EXIF orientation tag."""
    out = image
    if orientation in (2, 4, 5, 7):
        out = out[:, ::-1]
    if orientation in (3, 4):
        out = out[::-1, ::-1]
    elif orientation in (5, 6):
        out = np.rot90(out, -1)
    elif orientation in (7, 8):
        out = np.rot90(out, 1)
    return np.ascontiguousarray(out)


def decode_bytes(data: bytes, *, name: str = "the image") -> Image:
    """An 8-bit BGR image from the bytes of an image file, upright per its EXIF tag."""
    import cv2

    if not data:
        raise ImageError(ImageProblem.EMPTY, f"{name} is empty (0 bytes): choose an image file")
    if not data.startswith(_SIGNATURES):
        raise ImageError(
            ImageProblem.NOT_AN_IMAGE,
            f"{name} is not an image (JPEG, PNG, BMP, TIFF or WebP): check the file",
        )
    size = _size(data)
    if size is not None and (size == (0, 0) or size[0] * size[1] > MAX_PIXELS):
        dimensions = f"{size[0]} x {size[1]} pixels" if size[0] else "too many pixels"
        raise ImageError(
            ImageProblem.TOO_LARGE,
            f"{name} is {dimensions}, over the {MAX_PIXELS // 1_000_000} megapixel limit: "
            "crop or scale it down first",
        )
    if data.startswith(b"\xff\xd8") and not data.rstrip(b"\x00\r\n\t ").endswith(JPEG_END):
        raise ImageError(
            ImageProblem.TRUNCATED, f"{name} is truncated (the JPEG has no end): copy it again"
        )
    image = cv2.imdecode(
        np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION
    )
    if image is None or image.size == 0:
        raise ImageError(
            ImageProblem.UNREADABLE, f"{name} could not be decoded (it may be damaged)"
        )
    if data.startswith(b"\xff\xd8"):
        image = orient(np.asarray(image, np.uint8), exif_orientation(data))
    return np.ascontiguousarray(image, dtype=np.uint8)


def decode_file(path: Path) -> Image:
    """decode_bytes of a file; a missing or unreadable file is an ImageError too."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageError(
            ImageProblem.UNREADABLE, f"{path} cannot be read ({exc.strerror or exc})"
        ) from exc
    return decode_bytes(data, name=str(path))
