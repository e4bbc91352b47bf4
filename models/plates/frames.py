"""Synthetic whole frames (1920 x 1080) with one plate on a vehicle, for the localizer's
benchmark: a road and sky, a vehicle body with windows, lights and wheels, the plate on
its bumper in perspective, sometimes a sign with other lettering, then the camera's blur,
noise and JPEG. Each frame is a function of (seed, index)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from models.plates.generate import (
    ALL_LETTERS,
    DIGITS,
    PLATE_FONTS,
    _font,
    _perspective,
    _rgb,
    plate_text,
    render_plate,
)

FRAME_W, FRAME_H = 1920, 1080


@dataclass(frozen=True)
class Frame:
    image: np.ndarray  # BGR
    text: str
    box: tuple[int, int, int, int]  # the plate's bounding box: x, y, w, h


def frame(seed: int, index: int, *, steep: bool = False) -> Frame:
    """Frame `index` of the stream `seed`; `steep`: the plate at a steep angle."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng([seed, index, 1])
    sky, road = np.array(_rgb(rng, 120, 230), np.float32), np.array(_rgb(rng, 40, 120), np.float32)
    horizon = int(rng.integers(250, 500))
    img = np.empty((FRAME_H, FRAME_W, 3), np.float32)
    img[:horizon] = sky
    img[horizon:] = road
    img += rng.normal(0, 6, img.shape).astype(np.float32)
    img = img.clip(0, 255).astype(np.uint8)
    # the vehicle
    vw, vh = int(rng.integers(700, 1300)), int(rng.integers(450, 700))
    vx, vy = int(rng.integers(0, FRAME_W - vw)), int(rng.integers(150, FRAME_H - vh))
    body = _rgb(rng, 0, 256)
    cv2.rectangle(img, (vx, vy + vh // 4), (vx + vw, vy + vh), body, -1)
    cv2.rectangle(img, (vx + vw // 8, vy), (vx + vw * 7 // 8, vy + vh // 3), _rgb(rng, 10, 80), -1)
    for lx in (vx + 30, vx + vw - 150):
        cv2.rectangle(
            img, (lx, vy + vh // 3), (lx + 120, vy + vh // 3 + 60), _rgb(rng, 150, 256), -1
        )
    bumper_y = vy + int(vh * 0.7)
    cv2.rectangle(img, (vx, bumper_y), (vx + vw, bumper_y + 50), _rgb(rng, 10, 90), -1)
    for wx in (vx + 80, vx + vw - 80):
        cv2.circle(img, (wx, vy + vh), 70, (20, 20, 20), -1)
    if rng.random() < 0.5:  # a sign or bumper sticker with other lettering
        pil = Image.fromarray(img)
        draw = ImageDraw.Draw(pil)
        words = "".join(rng.choice(list(ALL_LETTERS + DIGITS), int(rng.integers(4, 10))))
        font = _font(*PLATE_FONTS[int(rng.integers(len(PLATE_FONTS)))], int(rng.integers(30, 90)))
        sx, sy = int(rng.integers(0, FRAME_W - 500)), int(rng.integers(0, FRAME_H - 120))
        draw.text((sx, sy), words, font=font, fill=_rgb(rng, 0, 256))
        img = np.asarray(pil).copy()
    # the plate, in perspective, centred on the bumper
    state, display = plate_text(rng)
    front = render_plate(rng, state, display)
    pw = float(rng.uniform(90, 220))
    quad = _perspective(rng, pw, pw / 2, steep=steep)
    cx = vx + vw / 2 + rng.uniform(-vw * 0.15, vw * 0.15)
    quad = quad + np.array([cx, bumper_y + 10])
    small = cv2.resize(front, (int(pw * 1.5), int(pw * 0.75)), interpolation=cv2.INTER_AREA)
    src = np.array(
        [[0, 0], [small.shape[1], 0], [small.shape[1], small.shape[0]], [0, small.shape[0]]],
        np.float32,
    )
    m = cv2.getPerspectiveTransform(src, quad.astype(np.float32))
    warped = cv2.warpPerspective(small, m, (FRAME_W, FRAME_H))
    mask = cv2.warpPerspective(np.full(small.shape[:2], 255, np.uint8), m, (FRAME_W, FRAME_H))
    img = np.where(mask[..., None] > 127, warped, img)
    # the camera
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.2))
    img = np.clip(
        img.astype(np.float32) + rng.normal(0, rng.uniform(0, 8), img.shape), 0, 255
    ).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(40, 90))])
    assert ok
    bgr = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_RGB2BGR)
    x0, y0 = quad.min(axis=0)
    x1, y1 = quad.max(axis=0)
    text = "".join(c for c in display if c.isalnum())
    return Frame(bgr, text, (int(x0), int(y0), int(x1 - x0), int(y1 - y0)))
