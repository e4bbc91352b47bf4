"""Render a camera scene and its plate crop as JPEG, with OpenCV on numpy arrays.

Rear view of a vehicle on a road: body in the vehicle's color, cabin and windows,
wheels, tail lights, and a plate with its state name and legible characters.
Angle, blur and brightness vary; night scenes are dark except the IR-lit plate.
cv2 is imported inside the functions (ruff TID253).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np

SCENE_W, SCENE_H = 640, 360
CROP_W, CROP_H = 240, 120
JPEG_QUALITY = 80

COLORS_BGR: dict[str, tuple[int, int, int]] = {
    "white": (235, 235, 235),
    "black": (30, 30, 30),
    "gray": (120, 120, 120),
    "silver": (190, 190, 195),
    "blue": (160, 70, 30),
    "red": (40, 40, 190),
    "green": (60, 120, 40),
    "brown": (40, 70, 110),
    "tan": (140, 180, 210),
    "yellow": (40, 200, 230),
}

STATE_NAMES = {
    "WY": "WYOMING",
    "CO": "COLORADO",
    "NE": "NEBRASKA",
    "TX": "TEXAS",
    "UT": "UTAH",
    "MT": "MONTANA",
}

# Plate background and text colors per state (BGR), loosely after the real designs.
PLATE_STYLE: dict[str, tuple[tuple[int, int, int], tuple[int, int, int], int]] = {
    "WY": ((235, 240, 245), (40, 60, 140), 0),
    "CO": ((245, 250, 245), (30, 90, 20), 2),
    "NE": ((240, 235, 230), (120, 40, 20), 0),
    "TX": ((245, 245, 245), (20, 20, 20), 2),
    "UT": ((250, 245, 240), (30, 30, 30), 0),
    "MT": ((230, 215, 200), (30, 30, 30), 2),
}


@dataclass(frozen=True)
class SceneSpec:
    plate_text: str  # as printed, with its dash or space
    state: str
    color: str
    body_type: str
    night: bool
    seed: int


def _plate_image(spec: SceneSpec, rng: random.Random) -> Any:
    import cv2

    background, ink, font_index = PLATE_STYLE.get(spec.state, ((240, 240, 240), (20, 20, 20), 0))
    plate = np.empty((CROP_H, CROP_W, 3), np.uint8)
    plate[:] = background
    cv2.rectangle(plate, (3, 3), (CROP_W - 4, CROP_H - 4), ink, 3)
    header = STATE_NAMES.get(spec.state, spec.state)
    size, _ = cv2.getTextSize(header, cv2.FONT_HERSHEY_DUPLEX, 0.7, 1)
    cv2.putText(
        plate,
        header,
        ((CROP_W - size[0]) // 2, 28),
        cv2.FONT_HERSHEY_DUPLEX,
        0.7,
        ink,
        1,
        cv2.LINE_AA,
    )
    font = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_TRIPLEX)[font_index]
    scale = 1.9
    size, _ = cv2.getTextSize(spec.plate_text, font, scale, 4)
    while size[0] > CROP_W - 24 and scale > 0.8:
        scale -= 0.1
        size, _ = cv2.getTextSize(spec.plate_text, font, scale, 4)
    cv2.putText(
        plate,
        spec.plate_text,
        ((CROP_W - size[0]) // 2, 68 + size[1] // 2),
        font,
        scale,
        ink,
        4,
        cv2.LINE_AA,
    )
    angle = rng.uniform(-4.0, 4.0)
    matrix = cv2.getRotationMatrix2D((CROP_W / 2, CROP_H / 2), angle, 1.0)
    return cv2.warpAffine(plate, matrix, (CROP_W, CROP_H), borderMode=cv2.BORDER_REPLICATE)


def _background(night: bool) -> Any:
    import cv2

    image = np.empty((SCENE_H, SCENE_W, 3), np.uint8)
    rows = np.linspace(0, 1, SCENE_H, dtype=np.float32)[:, None]
    top, bottom = (
        (np.array((70, 40, 20)), np.array((40, 40, 40)))
        if night
        else (
            np.array((225, 190, 150)),
            np.array((150, 160, 150)),
        )
    )
    image[:] = (top * (1 - rows) + bottom * rows).astype(np.uint8)[:, None, :]
    road = np.array([[150, 150], [490, 150], [640, 360], [0, 360]], np.int32)
    cv2.fillPoly(image, [road], (55, 55, 60) if night else (95, 95, 100))
    for y in range(170, 360, 45):
        cv2.line(image, (320, y), (320, min(y + 22, 359)), (0, 170, 220), 3)
    cv2.line(image, (150, 150), (0, 360), (200, 200, 200), 2)
    cv2.line(image, (490, 150), (640, 360), (200, 200, 200), 2)
    return image


_BACKGROUNDS: dict[bool, Any] = {}
_NOISE: list[Any] = []


def _noise() -> tuple[Any, Any]:
    """Two saturating uint8 noise fields (added, subtracted), made once per process."""
    if not _NOISE:
        field = np.random.default_rng(1).integers(-12, 13, (SCENE_H * 2, SCENE_W * 2, 1))
        field = np.repeat(field, 3, axis=2)
        _NOISE.append(np.clip(field, 0, None).astype(np.uint8))
        _NOISE.append(np.clip(-field, 0, None).astype(np.uint8))
    return _NOISE[0], _NOISE[1]


def render(spec: SceneSpec) -> tuple[bytes, bytes]:
    """The scene JPEG and the plate crop JPEG for one read."""
    import cv2

    rng = random.Random(spec.seed)
    if spec.night not in _BACKGROUNDS:
        _BACKGROUNDS[spec.night] = _background(spec.night)
    image = _BACKGROUNDS[spec.night].copy()

    body = COLORS_BGR.get(spec.color, (128, 128, 128))
    cx = SCENE_W // 2 + rng.randint(-70, 70)
    width = {"pickup": 270, "suv": 260, "van": 265, "wagon": 245}.get(spec.body_type, 235)
    height = {"pickup": 120, "suv": 135, "van": 150}.get(spec.body_type, 105)
    bottom = 318 + rng.randint(-12, 12)
    left, right, top = cx - width // 2, cx + width // 2, bottom - height
    cabin_top = top - (70 if spec.body_type in ("suv", "van") else 58)
    shade = tuple(max(0, c - 35) for c in body)
    # wheels, body, cabin, rear window, tail lights, bumper
    for wx in (left + 14, right - 52):
        cv2.rectangle(image, (wx, bottom - 18), (wx + 38, bottom + 26), (15, 15, 15), -1)
    cv2.rectangle(image, (left, top), (right, bottom), body, -1)
    cabin = np.array(
        [[left + 28, top], [left + 52, cabin_top], [right - 52, cabin_top], [right - 28, top]],
        np.int32,
    )
    cv2.fillPoly(image, [cabin], shade)
    window = np.array(
        [
            [left + 42, top - 6],
            [left + 60, cabin_top + 8],
            [right - 60, cabin_top + 8],
            [right - 42, top - 6],
        ],
        np.int32,
    )
    cv2.fillPoly(image, [window], (70, 55, 45))
    tail = (30, 30, 230) if spec.night else (40, 40, 200)
    cv2.rectangle(image, (left + 6, top + 14), (left + 40, top + 40), tail, -1)
    cv2.rectangle(image, (right - 40, top + 14), (right - 6, top + 40), tail, -1)
    cv2.rectangle(image, (left - 4, bottom - 22), (right + 4, bottom - 4), (45, 45, 45), -1)
    if spec.body_type == "pickup":
        cv2.rectangle(image, (left + 10, top + 4), (right - 10, top + 10), shade, -1)

    plate = _plate_image(spec, rng)
    pw, ph = 112, 56
    px, py = cx - pw // 2, bottom - 24 - ph - 6
    image[py : py + ph, px : px + pw] = cv2.resize(plate, (pw, ph), interpolation=cv2.INTER_AREA)

    gain = rng.uniform(0.32, 0.45) if spec.night else rng.uniform(0.85, 1.15)
    plate_region = image[py : py + ph, px : px + pw].copy()
    image = cv2.convertScaleAbs(image, alpha=gain)
    if spec.night:  # the camera's infrared lamp keeps the plate readable
        image[py : py + ph, px : px + pw] = cv2.convertScaleAbs(plate_region, alpha=0.85)
    noise_y, noise_x = rng.randrange(SCENE_H), rng.randrange(SCENE_W)
    brighter, darker = _noise()
    image = cv2.add(image, brighter[noise_y : noise_y + SCENE_H, noise_x : noise_x + SCENE_W])
    image = cv2.subtract(image, darker[noise_y : noise_y + SCENE_H, noise_x : noise_x + SCENE_W])
    if rng.random() < 0.5:
        image = cv2.GaussianBlur(image, (3, 3), rng.uniform(0.4, 1.1))

    crop_gain = 0.85 if spec.night else gain
    crop = cv2.convertScaleAbs(plate, alpha=crop_gain)
    if rng.random() < 0.5:
        crop = cv2.GaussianBlur(crop, (3, 3), rng.uniform(0.3, 1.0))
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
    ok_scene, scene_jpeg = cv2.imencode(".jpg", image, params)
    ok_crop, crop_jpeg = cv2.imencode(".jpg", crop, params)
    if not (ok_scene and ok_crop):
        raise RuntimeError("OpenCV could not encode a JPEG")
    return scene_jpeg.tobytes(), crop_jpeg.tobytes()
