"""Find plate-like boxes in a whole frame: the simplest thing that works, and its limits.

Plate characters are a row of strong vertical edges of one height, dark on light (by day,
and on retroreflective sheeting at night) or light on dark. The frame is shrunk, the
characters are brought out by black-hat and top-hat filters, their horizontal gradient
is closed into blobs with a wide kernel, and each blob of plate-like proportions becomes
a box, grown to take in the plate around its characters. The recognizer then reads
every box and the most confident reading wins (plate_reader.read_frame).

Limits: it proposes axis-aligned boxes; rectify.py finds the plate's quadrilateral inside
each (plate_reader reads both views and the recognizer chooses); busy text near the plate (dealer signs, bumper
stickers, a truck's lettering) makes candidates of its own, which the recognizer's
confidence must reject; two plates in one frame give only the more confident one.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
Box = tuple[int, int, int, int]  # x, y, w, h

WORK_WIDTH = 960  # frames are searched at this width at most
MAX_CANDIDATES = 12
ASPECT_RANGE = (1.4, 8.0)  # the characters' row: width over height


def _work_scale(gray: Image) -> float:
    return float(min(1.0, WORK_WIDTH / gray.shape[1]))


def candidate_boxes(gray: Image) -> list[Box]:
    """Up to MAX_CANDIDATES plate-like boxes in a gray frame, most likely first."""
    import cv2

    scale = _work_scale(gray)
    small = gray
    if scale < 1.0:  # sizes rounded up to a pixel: a 1-pixel strip stays one pixel high
        size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
        small = np.asarray(cv2.resize(gray, size, interpolation=cv2.INTER_AREA), np.uint8)
    h, w = small.shape
    found: list[tuple[float, Box]] = []
    for kernel_w in (max(9, w // 60), max(15, w // 30)):
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (kernel_w, max(5, kernel_w // 2)))
        hats = np.maximum(
            cv2.morphologyEx(small, cv2.MORPH_BLACKHAT, kernel),
            cv2.morphologyEx(small, cv2.MORPH_TOPHAT, kernel),
        )
        grad = np.abs(cv2.Sobel(hats, cv2.CV_32F, 1, 0, ksize=3))
        peak = float(grad.max())
        if peak <= 0:
            continue
        grad8 = np.asarray(cv2.GaussianBlur((grad * (255.0 / peak)).astype(np.uint8), (5, 5), 0))
        close = cv2.getStructuringElement(cv2.MORPH_RECT, (kernel_w * 2, max(3, kernel_w // 3)))
        blobs = cv2.morphologyEx(grad8, cv2.MORPH_CLOSE, close)
        _, mask = cv2.threshold(blobs, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        square = np.ones((3, 3), np.uint8)
        mask = cv2.dilate(cv2.erode(mask, square, iterations=1), square, iterations=2)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for contour in contours:
            x, y, bw, bh = cv2.boundingRect(contour)
            aspect = bw / max(bh, 1)
            if not ASPECT_RANGE[0] <= aspect <= ASPECT_RANGE[1]:
                continue
            if bw < 20 or bh < 8 or bw > w * 0.6 or bh > h * 0.4:
                continue
            fill = float(cv2.contourArea(contour)) / (bw * bh)
            density = float(grad8[y : y + bh, x : x + bw].mean()) / 255.0
            found.append((fill * density * bw, (x, y, bw, bh)))
    found.sort(key=lambda f: f[0], reverse=True)
    boxes: list[Box] = []
    for _, (x, y, bw, bh) in found:
        # grow the characters' row to the plate around it, back at full scale
        gx, gy = bw * 0.05, bh * 0.12
        box = (
            max(0, int((x - gx) / scale)),
            max(0, int((y - gy) / scale)),
            int((bw + 2 * gx) / scale),
            int((bh + 2 * gy) / scale),
        )
        box = _clip(box, gray.shape[1], gray.shape[0])
        if all(_iou(box, b) < 0.5 for b in boxes):
            boxes.append(box)
        if len(boxes) == MAX_CANDIDATES:
            break
    return boxes


def crop(gray: Image, box: Box) -> Image:
    x, y, w, h = box
    return gray[y : y + h, x : x + w]


def grown(box: Box, shape: tuple[int, ...]) -> Box:
    """A candidate box (the characters' row) grown to take in the whole plate around it
    and a little more, for rectifying (clipped to the frame)."""
    x, y, w, h = box
    gx, gy = int(w * 0.25), int(h * 0.6)
    x0, y0 = max(0, x - gx), max(0, y - gy)
    return _clip((x0, y0, x + w + gx - x0, y + h + gy - y0), shape[1], shape[0])


def _clip(box: Box, width: int, height: int) -> Box:
    x, y, w, h = box
    return x, y, max(1, min(w, width - x)), max(1, min(h, height - y))


def _iou(a: Box, b: Box) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union else 0.0
