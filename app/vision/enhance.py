"""Non-destructive enhancement of a read's image for review: a pure function of its inputs.

The original pixels are never changed: `apply_enhancement` returns a new array,
and the UI keeps the decoded original to enhance again from scratch.
Images are 8-bit BGR (as OpenCV decodes them) or 8-bit grayscale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.core.errors import KnownError

Image = npt.NDArray[np.uint8]

UNDECODABLE = "This image could not be decoded (it may be truncated or damaged)."
JPEG_START = b"\xff\xd8"
JPEG_END = b"\xff\xd9"

BRIGHTNESS_RANGE = (-100, 100)
CONTRAST_RANGE = (0.5, 3.0)
GAMMA_RANGE = (0.3, 3.0)
SHARPEN_RANGE = (0.0, 2.0)
CLAHE_CLIP_LIMIT = 2.0
CLAHE_TILES = (8, 8)
SHARPEN_SIGMA = 2.0
MID_GRAY = 128.0


@dataclass(frozen=True)
class Enhancement:
    """What the reviewer asked for; the defaults leave the image as it is.

    - brightness: -100..100, added to every channel (in 0..255 units, scaled by 1.28);
    - contrast: 0.5..3, stretches values around mid-gray;
    - gamma: 0.3..3, above 1 lifts the mid-tones, below 1 darkens them;
    - clahe: contrast-limited adaptive histogram equalization of the lightness;
    - sharpen: 0..2, the amount of an unsharp mask.
    """

    brightness: int = 0
    contrast: float = 1.0
    gamma: float = 1.0
    clahe: bool = False
    sharpen: float = 0.0

    def __post_init__(self) -> None:
        checks = (
            ("brightness", self.brightness, BRIGHTNESS_RANGE),
            ("contrast", self.contrast, CONTRAST_RANGE),
            ("gamma", self.gamma, GAMMA_RANGE),
            ("sharpen", self.sharpen, SHARPEN_RANGE),
        )
        for name, value, (low, high) in checks:
            if not low <= value <= high:
                raise ValueError(f"{name} must be within {low}..{high}, not {value}")

    @property
    def is_identity(self) -> bool:
        return self == Enhancement()


REDUCTIONS = (8, 4, 2)  # the scales libjpeg decodes at directly (1/8, 1/4, 1/2)
_SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE})
_STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD8)})


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's frame header, without decoding; None when the
    header cannot be found (decode_jpeg then says what is wrong)."""
    if not data.startswith(JPEG_START):
        return None
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in _STANDALONE_MARKERS:
            at += 2
            continue
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        if marker in _SOF_MARKERS:
            if at + 9 > len(data):
                return None
            height = int.from_bytes(data[at + 5 : at + 7], "big")
            width = int.from_bytes(data[at + 7 : at + 9], "big")
            return (width, height) if width and height else None
        if marker == 0xDA or length < 2:  # scan data before any frame header
            return None
        at += 2 + length
    return None


def preview_reduction(image_size: tuple[int, int] | None, view_size: tuple[int, int]) -> int:
    """The largest libjpeg reduction (REDUCTIONS) whose decode still has at least the
    view's pixels both ways, so fitted in the view it looks the same as the full
    decode; 1 when none has (or the image's size is unknown)."""
    if image_size is None:
        return 1
    width, height = image_size
    view_width, view_height = view_size
    for reduction in REDUCTIONS:
        if width // reduction >= view_width and height // reduction >= view_height:
            return reduction
    return 1


def decode_jpeg(data: bytes, *, reduction: int = 1) -> Image:
    """Decode a JPEG into an 8-bit BGR array; a damaged or truncated file is a KnownError.

    OpenCV decodes a truncated JPEG into a partly gray image without failing, so
    the file must also start with the start-of-image marker and end with the
    end-of-image marker. `reduction` (one of REDUCTIONS) decodes at that fraction
    of the size, in a fraction of the time.
    """
    import cv2

    body = data.rstrip(b"\x00\r\n\t ")
    if not (body.startswith(JPEG_START) and body.endswith(JPEG_END)):
        raise KnownError(UNDECODABLE)
    flags = {
        1: cv2.IMREAD_COLOR,
        2: cv2.IMREAD_REDUCED_COLOR_2,
        4: cv2.IMREAD_REDUCED_COLOR_4,
        8: cv2.IMREAD_REDUCED_COLOR_8,
    }[reduction]
    image = cv2.imdecode(np.frombuffer(body, dtype=np.uint8), flags)
    if image is None or image.size == 0:
        raise KnownError(UNDECODABLE)
    return np.ascontiguousarray(image, dtype=np.uint8)


def with_alpha(image: Image) -> Image:
    """An 8-bit BGR or grayscale image as BGRA (opaque): the byte order of Qt's
    32-bit RGB on little-endian machines, which it paints without converting."""
    import cv2

    code = cv2.COLOR_GRAY2BGRA if image.ndim == 2 else cv2.COLOR_BGR2BGRA
    return np.ascontiguousarray(cv2.cvtColor(image, code))


def fit_within(image: Image, width: int, height: int) -> Image:
    """A copy scaled down (never up) to fit width x height, keeping its proportions."""
    import cv2

    scale = min(width / image.shape[1], height / image.shape[0], 1.0)
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return np.ascontiguousarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA))


def apply_enhancement(image: Image, enhancement: Enhancement) -> Image:
    """A new, enhanced copy of `image`; `image` itself is never modified.

    The steps run in a fixed order: CLAHE on the lightness, then brightness and
    contrast, then gamma, then sharpening.
    """
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise ValueError("apply_enhancement takes an 8-bit grayscale or BGR image")
    if enhancement.is_identity:
        return image.copy()
    out = _clahe(image) if enhancement.clahe else image.copy()
    if enhancement.brightness or enhancement.contrast != 1.0:
        out = _brightness_contrast(out, enhancement.brightness, enhancement.contrast)
    if enhancement.gamma != 1.0:
        out = _gamma(out, enhancement.gamma)
    if enhancement.sharpen > 0:
        out = _sharpen(out, enhancement.sharpen)
    return out


def _clahe(image: Image) -> Image:
    import cv2

    clahe = cv2.createCLAHE(clipLimit=CLAHE_CLIP_LIMIT, tileGridSize=CLAHE_TILES)
    if image.ndim == 2:
        return np.asarray(clahe.apply(image), dtype=np.uint8)
    lab = cv2.cvtColor(image, cv2.COLOR_BGR2LAB)
    lab[:, :, 0] = clahe.apply(np.ascontiguousarray(lab[:, :, 0]))
    return np.asarray(cv2.cvtColor(lab, cv2.COLOR_LAB2BGR), dtype=np.uint8)


def _lookup(image: Image, table: npt.NDArray[np.float64]) -> Image:
    lut = np.clip(np.rint(table), 0, 255).astype(np.uint8)
    return lut[image]


def _brightness_contrast(image: Image, brightness: int, contrast: float) -> Image:
    levels = np.arange(256, dtype=np.float64)
    return _lookup(image, (levels - MID_GRAY) * contrast + MID_GRAY + brightness * 1.28)


def _gamma(image: Image, gamma: float) -> Image:
    levels = np.arange(256, dtype=np.float64) / 255.0
    return _lookup(image, np.power(levels, 1.0 / gamma) * 255.0)


def _sharpen(image: Image, amount: float) -> Image:
    import cv2

    blurred = cv2.GaussianBlur(image, (0, 0), SHARPEN_SIGMA)
    return np.asarray(cv2.addWeighted(image, 1.0 + amount, blurred, -amount, 0), dtype=np.uint8)
