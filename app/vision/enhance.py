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


def decode_jpeg(data: bytes) -> Image:
    """Decode a JPEG into an 8-bit BGR array; a damaged or truncated file is a KnownError.

    OpenCV decodes a truncated JPEG into a partly gray image without failing, so
    the file must also start with the start-of-image marker and end with the
    end-of-image marker.
    """
    import cv2

    body = data.rstrip(b"\x00\r\n\t ")
    if not (body.startswith(JPEG_START) and body.endswith(JPEG_END)):
        raise KnownError(UNDECODABLE)
    image = cv2.imdecode(np.frombuffer(body, dtype=np.uint8), cv2.IMREAD_COLOR)
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
