"""Derived copies of a read's image for a packet: enhanced and/or redacted (OpenCV).

The original bytes are only read: a derived copy is a new image, written as PNG
(lossless, so outside the blurred regions its pixels are exactly the decoded
original's, enhancement aside), with the list of operations applied and their
parameters for the sidecar record. Regions are rectangles in the original's
pixels: other vehicles' plates, faces through a windshield, anything the
technician chooses. There is no automatic plate detector yet (no model is
installed, see plate_reader), so other vehicles' plates are chosen as regions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.core.errors import KnownError
from app.vision.enhance import Enhancement, Image, apply_enhancement, decode_jpeg

READ_ID_RE = re.compile(r"[0-9a-f]{32}")  # use with fullmatch: "$" lets a trailing newline through
MIN_KERNEL = 15
PREVIEW_QUALITY = 85
SPEC_EXAMPLE = '{"READ_ID": {"regions": [[x, y, w, h], ...], "enhance": {"clahe": true}}}'


class RedactionError(KnownError):
    """A redaction that cannot be applied as given."""


@dataclass(frozen=True)
class Region:
    """A rectangle in image pixels: left x, top y, width w, height h."""

    x: int
    y: int
    w: int
    h: int

    def __post_init__(self) -> None:
        if self.x < 0 or self.y < 0 or self.w <= 0 or self.h <= 0:
            raise RedactionError(
                f"The region {self.as_text()} is not a rectangle: give x,y (0 or more) "
                "and w,h (more than 0) in pixels."
            )

    def as_text(self) -> str:
        return f"{self.x},{self.y},{self.w},{self.h}"


@dataclass(frozen=True)
class DerivedSpec:
    """What to do to one read's scene image: enhance (optional), then blur the regions."""

    regions: tuple[Region, ...] = ()
    enhancement: Enhancement = field(default_factory=Enhancement)

    @property
    def is_identity(self) -> bool:
        return not self.regions and self.enhancement.is_identity


@dataclass(frozen=True)
class DerivedImage:
    png: bytes  # the derived copy, lossless
    preview_jpeg: bytes  # the same pixels as JPEG, for the PDF report
    width: int
    height: int
    operations: list[dict[str, Any]]


def parse_region(text: str) -> Region:
    parts = text.split(",")
    try:
        x, y, w, h = (int(part.strip()) for part in parts)
    except ValueError:
        raise RedactionError(
            f"'{text}' is not a region; give it as x,y,w,h in pixels, e.g. 120,80,60,20."
        ) from None
    return Region(x, y, w, h)


def parse_redaction(text: str) -> tuple[str, Region]:
    """`READ_ID:x,y,w,h` (the form of `platedesk export --redact`)."""
    read_id, sep, region = text.partition(":")
    if not sep or not READ_ID_RE.fullmatch(read_id.strip()):
        raise RedactionError(
            f"'{text}' is not a redaction; give it as READ_ID:x,y,w,h "
            "(the read id is 32 hex characters)."
        )
    return read_id.strip(), parse_region(region)


def load_spec_file(path: Path) -> dict[str, DerivedSpec]:
    """A redaction spec file (JSON): {"READ_ID": {"regions": [[x, y, w, h]], "enhance": {..}}}."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RedactionError(f"The redaction file {path} cannot be read: {exc.strerror}.") from None
    except ValueError as exc:
        raise RedactionError(f"The redaction file {path} is not JSON ({exc}).") from None
    if not isinstance(document, dict):
        raise RedactionError(f"The redaction file {path} must look like {SPEC_EXAMPLE}.")
    specs: dict[str, DerivedSpec] = {}
    for read_id, entry in document.items():
        if not READ_ID_RE.fullmatch(str(read_id)) or not isinstance(entry, dict):
            raise RedactionError(
                f"In {path}: '{read_id}' is not a read id with its redactions; "
                f"the file must look like {SPEC_EXAMPLE}."
            )
        specs[read_id] = _spec(entry, where=f"{path}, read {read_id}")
    return specs


def _spec(entry: Mapping[str, Any], *, where: str) -> DerivedSpec:
    regions: list[Region] = []
    for item in entry.get("regions", []):
        if not (
            isinstance(item, list) and len(item) == 4 and all(isinstance(v, int) for v in item)
        ):
            raise RedactionError(f"In {where}: a region is [x, y, w, h] in pixels, not {item!r}.")
        regions.append(Region(*item))
    enhance = entry.get("enhance", {})
    try:
        enhancement = Enhancement(**enhance) if isinstance(enhance, dict) else None
    except (TypeError, ValueError) as exc:
        raise RedactionError(f"In {where}: the enhancement is not valid ({exc}).") from None
    if enhancement is None:
        raise RedactionError(f"In {where}: 'enhance' is an object such as {{\"clahe\": true}}.")
    return DerivedSpec(regions=tuple(regions), enhancement=enhancement)


def merge_specs(
    specs: Mapping[str, DerivedSpec], redactions: list[tuple[str, Region]]
) -> dict[str, DerivedSpec]:
    """The spec file's entries plus the command line's `READ_ID:x,y,w,h` regions."""
    merged = dict(specs)
    for read_id, region in redactions:
        spec = merged.get(read_id, DerivedSpec())
        merged[read_id] = DerivedSpec(regions=(*spec.regions, region), enhancement=spec.enhancement)
    return merged


def blur_kernel(region: Region) -> int:
    """An odd Gaussian kernel about half the region's shorter side (at least 15 pixels),
    wide enough that characters in the region cannot be read back."""
    return max(MIN_KERNEL, (min(region.w, region.h) // 2) | 1)


def derive(original: bytes, spec: DerivedSpec) -> DerivedImage:
    """The derived copy of a JPEG original; the original bytes are not modified."""
    import cv2

    image = decode_jpeg(original)
    height, width = image.shape[:2]
    operations: list[dict[str, Any]] = []
    out: Image = image.copy()
    if not spec.enhancement.is_identity:
        out = apply_enhancement(out, spec.enhancement)
        operations.append({"operation": "enhance", **_enhancement_params(spec.enhancement)})
    for region in spec.regions:
        if region.x >= width or region.y >= height:
            raise RedactionError(
                f"The region {region.as_text()} lies outside the image ({width}x{height} "
                "pixels); give x,y inside it."
            )
        x2, y2 = min(width, region.x + region.w), min(height, region.y + region.h)
        kernel = blur_kernel(region)
        sigma = kernel / 2.0
        patch = out[region.y : y2, region.x : x2]
        # Twice with a kernel about half the region's shorter side: no character survives.
        blurred = cv2.GaussianBlur(patch, (kernel, kernel), sigma, borderType=cv2.BORDER_REPLICATE)
        blurred = cv2.GaussianBlur(
            blurred, (kernel, kernel), sigma, borderType=cv2.BORDER_REPLICATE
        )
        out[region.y : y2, region.x : x2] = blurred
        operations.append(
            {
                "operation": "blur",
                "region": [region.x, region.y, x2 - region.x, y2 - region.y],
                "method": "gaussian, applied twice",
                "kernel": kernel,
                "sigma": sigma,
            }
        )
    ok_png, png = cv2.imencode(".png", out)
    ok_jpeg, jpeg = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, PREVIEW_QUALITY])
    if not (ok_png and ok_jpeg):
        raise RedactionError("The derived image could not be encoded.")
    return DerivedImage(
        png=np.asarray(png).tobytes(),
        preview_jpeg=np.asarray(jpeg).tobytes(),
        width=int(width),
        height=int(height),
        operations=operations,
    )


def _enhancement_params(enhancement: Enhancement) -> dict[str, Any]:
    return {
        "brightness": enhancement.brightness,
        "contrast": enhancement.contrast,
        "gamma": enhancement.gamma,
        "clahe": enhancement.clahe,
        "sharpen": enhancement.sharpen,
    }
