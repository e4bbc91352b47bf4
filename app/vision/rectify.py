"""Rectify a plate before reading it: the plate's quadrilateral from its characters' row,
warped flat to the recognizer's 48 x 144 input.

A plate seen at an angle is a quadrilateral: its characters lean with the camera's roll,
and under yaw the far end's characters are shorter than the near end's. The characters
are found as the connected components of one gray level, global (Otsu) or local (the
neighbourhood's mean), dark on light or light on dark, whichever gives the longest row: blobs of a character's proportions and of one height,
on one line. Lines fitted through their tops and their bottoms give the row's top and
bottom edges (they converge under yaw); the ends are taken at right angles to the row's
middle line. The row, grown by a margin of plate around it, is warped to a rectangle.

Every quadrilateral is only a guess: callers warp a few margins and let the recognizer's
confidence choose between them and the unrectified crop (plate_reader). A row of fewer
than MIN_CHARS characters gives no quadrilateral.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
Quad = npt.NDArray[np.float32]  # 4 x 2: top-left, top-right, bottom-right, bottom-left

OUT_HEIGHT, OUT_WIDTH = 48, 144  # the recognizer's input
MIN_CHARS = 3
LOCAL_OFFSET = 8  # gray levels darker (lighter) than the neighbourhood's mean: ink
MAX_EXTEND = 0.7  # character heights the row may grow sideways over touching ink
LONG_ROW = 5  # characters: a row this long ends the search
SEARCH_HEIGHT = 72  # pixels: larger crops are shrunk to this height to find the row
MIN_HEIGHT = 6  # pixels: smaller blobs are noise, not characters
# (vertical, horizontal) margins around the characters' row, in character heights and row
# heights: a tight plate crop as training mostly saw it, and a looser one
MARGINS = ((0.5, 0.3), (0.9, 0.8))


def _components(binary: Image, height: int) -> npt.NDArray[np.float64]:
    """Character-like blobs of a binary image: rows of (left, top, width, height)."""
    import cv2

    n, _, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if n <= 1:
        return np.empty((0, 4))
    s = stats[1:].astype(np.float64)
    x, y, w, h, area = s[:, 0], s[:, 1], s[:, 2], s[:, 3], s[:, 4]
    keep = (
        (h >= max(MIN_HEIGHT, 0.08 * height))
        & (h <= 0.95 * height)
        & (w <= 1.3 * h)
        & (w >= 0.06 * h)
        & (area >= 0.12 * w * h)
        & (area <= 0.95 * w * h)
    )
    return np.stack([x, y, w, h], axis=1)[keep]


def _line(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> tuple[float, float]:
    """The least-squares line y = slope * x + intercept (closed form: np.polyfit's SVD
    costs more than the rest of the search on a small crop)."""
    mx, my = float(x.mean()), float(y.mean())
    var = float(((x - mx) ** 2).sum())
    slope = float(((x - mx) * (y - my)).sum()) / var if var > 0 else 0.0
    return slope, my - slope * mx


def _row(blobs: npt.NDArray[np.float64]) -> npt.NDArray[np.float64] | None:
    """The largest set of blobs of one height on one line, left to right (None if < MIN_CHARS)."""
    if len(blobs) < MIN_CHARS:
        return None
    heights = blobs[:, 3]
    cx = blobs[:, 0] + blobs[:, 2] / 2
    cy = blobs[:, 1] + blobs[:, 3] / 2
    best: npt.NDArray[np.bool_] | None = None
    tried = 0.0
    for ref in np.sort(heights):
        if ref < tried * 1.1:  # heights within 10% of one tried give the same set
            continue
        tried = ref
        near = np.abs(heights - ref) <= 0.3 * ref
        if near.sum() < MIN_CHARS:
            continue
        slope, icpt = _line(cx[near], cy[near])
        on_line = near & (np.abs(cy - (slope * cx + icpt)) <= 0.3 * ref)
        if abs(slope) > 0.5 or on_line.sum() < MIN_CHARS:
            continue
        if best is None or on_line.sum() > best.sum():
            best = on_line
    if best is None:
        return None
    row = blobs[best]
    return row[np.argsort(row[:, 0])]


def _row_edges(row: npt.NDArray[np.float64]) -> tuple[float, float, float, float, float, float]:
    """Lines through the row's tops and bottoms (slope, intercept each) and its x extent."""
    cx = row[:, 0] + row[:, 2] / 2
    top_s, top_i = _line(cx, row[:, 1])
    bot_s, bot_i = _line(cx, row[:, 1] + row[:, 3])
    return (
        top_s,
        top_i,
        bot_s,
        bot_i,
        float(row[:, 0].min()),
        float((row[:, 0] + row[:, 2]).max()),
    )


def find_row(gray: Image) -> tuple[float, float, float, float, float, float] | None:
    """The characters' row in a gray crop: (top slope, top intercept, bottom slope, bottom
    intercept, left x, right x), or None when no row of MIN_CHARS characters is found."""
    import cv2

    h = gray.shape[0]
    if h < MIN_HEIGHT * 2 or gray.shape[1] < MIN_HEIGHT * 2:
        return None
    block = max(7, h // 3) | 1

    def binaries() -> Iterator[Image]:
        _, dark = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
        yield np.asarray(dark, np.uint8)
        yield np.asarray(255 - dark, np.uint8)
        # local thresholds too, for a plate inside a surround (one global level then
        # splits plate from surround rather than characters from plate)
        for kind, offset in (
            (cv2.THRESH_BINARY_INV, LOCAL_OFFSET),
            (cv2.THRESH_BINARY, -LOCAL_OFFSET),
        ):
            yield np.asarray(
                cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, kind, block, offset),
                np.uint8,
            )

    best: tuple[npt.NDArray[np.float64], Image] | None = None
    for binary in binaries():
        row = _row(_components(binary, h))
        if row is not None and (best is None or len(row) > len(best[0])):
            best = (row, binary)
        if best is not None and len(best[0]) >= LONG_ROW:
            break  # a full serial's worth: the other levels would not find a longer one
    if best is None:
        return None
    edges = _row_edges(best[0])
    return _extend(edges, best[1], float(np.median(best[0][:, 3])))


def _extend(
    row: tuple[float, float, float, float, float, float], binary: Image, char_h: float
) -> tuple[float, float, float, float, float, float]:
    """The row grown sideways over ink inside its band (characters that touch a dash, a
    symbol or the frame are not blobs of their own), across gaps of under 0.6 character
    heights and by at most MAX_EXTEND character heights on each side."""
    top_s, top_i, bot_s, bot_i, left, right = row
    w = binary.shape[1]
    xs = np.arange(w, dtype=np.float64)
    top = np.clip(top_s * xs + top_i, 0, binary.shape[0] - 1).astype(int)
    bottom = np.clip(bot_s * xs + bot_i, 0, binary.shape[0] - 1).astype(int)
    ink = np.cumsum(binary > 0, axis=0)
    filled = (ink[bottom, np.arange(w)] - ink[top, np.arange(w)]) / np.maximum(bottom - top, 1)
    used = filled > 0.15
    gap = max(2, int(char_h * 0.6))
    reach = int(char_h * MAX_EXTEND)
    x = int(left)
    while x > max(0, int(left) - reach) and used[max(0, x - gap) : x].any():
        x -= 1
    new_left = x
    x = math.ceil(right)
    while x < min(w - 1, int(right) + reach) and used[x : x + gap].any():
        x += 1
    return top_s, top_i, bot_s, bot_i, float(new_left), float(x)


def plate_quad(
    row: tuple[float, float, float, float, float, float], margin_y: float, margin_x: float
) -> Quad:
    """The quadrilateral of the plate around a characters' row, grown by the margins (in
    character heights)."""
    top_s, top_i, bot_s, bot_i, left, right = row
    centre = (left + right) / 2
    span = (bot_s - top_s) * centre + bot_i - top_i
    corners = []
    for x in (left - margin_x * span, right + margin_x * span):
        top, bottom = top_s * x + top_i, bot_s * x + bot_i
        mid = (top + bottom) / 2
        angle = math.atan((top_s + bot_s) / 2)
        half = (bottom - top) * math.cos(angle) * (0.5 + margin_y)
        nx, ny = -math.sin(angle), math.cos(angle)  # the row's normal, pointing down
        corners.append(((x - nx * half, mid - ny * half), (x + nx * half, mid + ny * half)))
    (tl, bl), (tr, br) = corners
    return np.array([tl, tr, br, bl], np.float32)


def warp(gray: Image, quad: Quad) -> Image:
    """The quadrilateral of a gray image warped flat to OUT_HEIGHT x OUT_WIDTH."""
    import cv2

    dst = np.array(
        [[0, 0], [OUT_WIDTH - 1, 0], [OUT_WIDTH - 1, OUT_HEIGHT - 1], [0, OUT_HEIGHT - 1]],
        np.float32,
    )
    m = cv2.getPerspectiveTransform(quad, dst)
    out = cv2.warpPerspective(
        gray, m, (OUT_WIDTH, OUT_HEIGHT), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return np.asarray(out, np.uint8)


def rectified(gray: Image, *, margins: tuple[tuple[float, float], ...] = MARGINS) -> list[Image]:
    """The plate in a gray crop warped flat, once per margin; [] when no row is found.
    The row is searched at most SEARCH_HEIGHT pixels high (a frame's region is larger),
    and the plate warped from the full-size crop."""
    import cv2

    scale = min(1.0, SEARCH_HEIGHT / gray.shape[0])
    small = gray
    if scale < 1.0:
        size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
        small = np.asarray(cv2.resize(gray, size, interpolation=cv2.INTER_AREA), np.uint8)
    row = find_row(small)
    if row is None:
        return []
    top_s, top_i, bot_s, bot_i, left, right = row
    full = (top_s, top_i / scale, bot_s, bot_i / scale, left / scale, right / scale)
    return [warp(gray, plate_quad(full, my, mx)) for my, mx in margins]
