"""Synthetic whole-vehicle photographs, for the reader's benchmark: the kind of picture a
person takes of a parked car's rear or front (a phone or a hand-held camera), unlike
the ALPR camera's wide 1920 x 1080 frame (frames.py). The vehicle fills the picture, the
plate is 12-40% of its width, and the picture is 640 to 4,032 pixels wide, landscape or
portrait, in colour, with the vehicle's own lettering (a make and model badge, a dealer's
sticker) near the plate. Each photo is a function of (seed, index)."""

from __future__ import annotations

import cv2
import numpy as np

from models.plates.frames import Frame
from models.plates.generate import (
    ALL_LETTERS,
    HEADER_FONTS,
    PLATE_FONTS,
    _font,
    _perspective,
    _rgb,
    plate_text,
    render_plate,
)

SIZES = ((640, 480), (800, 600), (1024, 768), (1280, 960), (1600, 1200), (2048, 1536), (4032, 3024))
BADGES = ("TOYOTA", "HONDA", "FORD", "CHEVROLET", "NISSAN", "SUBARU", "JEEP", "DODGE", "KIA")
MODELS = ("CAMRY", "ACCORD", "F-150", "MALIBU", "ALTIMA", "OUTBACK", "CHEROKEE", "RAM", "SOUL")


def photo(seed: int, index: int) -> Frame:
    """Photo `index` of the stream `seed`."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng([seed, index, 2])
    w, h = SIZES[int(rng.integers(len(SIZES)))]
    if rng.random() < 0.25:
        w, h = h, w  # portrait
    # the car's body fills the picture: a lit panel with a gradient, a darker trunk gap
    body = np.array(_rgb(rng, 0, 256), np.float32)
    ramp = np.linspace(rng.uniform(0.7, 1.0), rng.uniform(0.9, 1.3), h, dtype=np.float32)
    img = (body[None, None, :] * ramp[:, None, None]).repeat(w, axis=1)
    img += rng.normal(0, 4, img.shape).astype(np.float32)
    img = img.clip(0, 255).astype(np.uint8)
    pw = float(w * rng.uniform(0.12, 0.4))
    cx = w / 2 + rng.uniform(-0.2, 0.2) * w
    cy = h / 2 + rng.uniform(-0.2, 0.25) * h
    gap_y = int(cy - pw * rng.uniform(0.45, 0.8))
    cv2.line(img, (0, gap_y), (w, gap_y), _rgb(rng, 0, 60), max(2, int(pw * 0.02)))
    bumper_y = int(cy + pw * rng.uniform(0.35, 0.6))
    cv2.rectangle(img, (0, bumper_y), (w, h), _rgb(rng, 10, 120), -1)
    for side in (-1, 1):  # tail lights
        lx = int(cx + side * pw * rng.uniform(1.2, 2.0))
        cv2.rectangle(
            img,
            (lx - int(pw * 0.4), gap_y - int(pw * 0.35)),
            (lx + int(pw * 0.4), gap_y + int(pw * 0.1)),
            (int(rng.integers(150, 256)), int(rng.integers(0, 60)), int(rng.integers(0, 60))),
            -1,
        )
    # reflections on the paint, and the plate's recess, darker than the body around it
    for _ in range(int(rng.integers(2, 8))):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        cv2.ellipse(img, (x0, y0), (int(rng.integers(20, w // 3)), int(rng.integers(5, h // 8))),
                    float(rng.uniform(-20, 20)), 0, 360, (body * rng.uniform(0.5, 1.7)).clip(0, 255).tolist(), -1)  # fmt: skip
    img = cv2.GaussianBlur(img, (0, 0), max(2.0, w / 200))
    pocket = (np.array(body) * rng.uniform(0.3, 0.7)).tolist()
    cv2.rectangle(img, (int(cx - pw * 0.68), int(cy - pw * 0.36)),
                  (int(cx + pw * 0.68), int(cy + pw * 0.36)), pocket, -1)  # fmt: skip
    # the vehicle's own lettering: the badge and model above the plate, maybe a sticker
    pil = Image.fromarray(img)
    draw = ImageDraw.Draw(pil)
    chrome = _rgb(rng, 160, 256)
    font = _font(*HEADER_FONTS[int(rng.integers(len(HEADER_FONTS)))], max(10, int(pw * 0.12)))
    badge = BADGES[int(rng.integers(len(BADGES)))]
    draw.text((cx - pw * 0.9, gap_y - pw * 0.25), badge, font=font, fill=chrome)
    draw.text(
        (cx + pw * 0.5, gap_y - pw * 0.25),
        MODELS[int(rng.integers(len(MODELS)))],
        font=font,
        fill=chrome,
    )
    if rng.random() < 0.5:
        words = "".join(rng.choice(list(ALL_LETTERS), int(rng.integers(5, 12))))
        font = _font(*PLATE_FONTS[int(rng.integers(len(PLATE_FONTS)))], max(10, int(pw * 0.1)))
        draw.text((cx + pw * 0.7, cy + pw * 0.1), words, font=font, fill=_rgb(rng, 0, 256))
    img = np.asarray(pil).copy()
    # the plate, in perspective
    state, display = plate_text(rng)
    front = render_plate(rng, state, display)
    quad = _perspective(rng, pw, pw / 2) + np.array([cx, cy])
    small = cv2.resize(front, (int(pw * 1.5), int(pw * 0.75)), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    src = np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], np.float32)
    m = cv2.getPerspectiveTransform(src, quad.astype(np.float32))
    warped = cv2.warpPerspective(small, m, (w, h))
    mask = cv2.warpPerspective(np.full((sh, sw), 255, np.uint8), m, (w, h))
    img = np.where(mask[..., None] > 127, warped, img)
    # the camera: light, a little blur, noise, a phone's JPEG
    gain = rng.uniform(0.6, 1.3)
    img = np.clip(
        img.astype(np.float32) * gain + rng.normal(0, rng.uniform(1, 6), img.shape), 0, 255
    )
    img = cv2.GaussianBlur(img.astype(np.uint8), (0, 0), rng.uniform(0.3, 1.0) * max(1.0, w / 1600))
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(70, 95))])
    assert ok
    rgb = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    x0, y0 = quad.min(axis=0)
    x1, y1 = quad.max(axis=0)
    text = "".join(c for c in display if c.isalnum())
    return Frame(
        cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), text, (int(x0), int(y0), int(x1 - x0), int(y1 - y0))
    )
