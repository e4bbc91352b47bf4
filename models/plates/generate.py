"""Synthetic US plate crops for training the plate recognizer.

Each sample is a function of (seed, index) alone, so a training run can resume at any
step and a held-out set drawn with another seed never overlaps the training stream.

A sample goes through the stages a real camera crop goes through:
1. a plate design: procedural background after a state's style (gradients, skyline,
   mountains, waves, a sun), the state name in a script or serif face at the top, a slogan
   or county at the bottom, bolt holes, registration stickers, stacked small characters,
   an optional dealer frame that covers part of the text;
2. the serial, drawn from app.vision.plate_formats (or a vanity string) in a condensed
   OFL font, with embossing shade, and dashes, spaces or a state symbol between groups;
3. the plate set in a vehicle-like surround and seen in perspective (yaw up to 35 degrees,
   pitch, roll), rendered at camera resolution (plate 50-200 px wide);
4. day colour or infrared night (grayscale, high contrast, blooming of the sheeting);
   motion and focus blur, glare, dirt, sensor noise, partial occlusion, JPEG 20-85;
5. a crop box that is loose, tight or cut off, resized to the model's 48x144 gray input.

Fonts come from the fontpkg-* wheels (SIL Open Font License), installed by `make model`.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from app.vision.plate_formats import FORMATS

HEIGHT, WIDTH = 48, 144
PLATE_W, PLATE_H = 360, 180  # design canvas: 12 x 6 inch plate at 30 px per inch
LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"  # serials mostly avoid I, O, Q
ALL_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"

# (package, file) pairs; variable fonts render at their default instance.
PLATE_FONTS = (
    ("fontpkg_oswald", "Oswald[wght].ttf"),
    ("fontpkg_roboto_condensed", "RobotoCondensed[wght].ttf"),
    ("fontpkg_barlow_condensed", "BarlowCondensed-Medium.ttf"),
    ("fontpkg_barlow_condensed", "BarlowCondensed-SemiBold.ttf"),
    ("fontpkg_barlow_condensed", "BarlowCondensed-Bold.ttf"),
    ("fontpkg_saira_condensed", "SairaCondensed-Medium.ttf"),
    ("fontpkg_saira_condensed", "SairaCondensed-Bold.ttf"),
    ("fontpkg_bebas_neue", "BebasNeue-Regular.ttf"),
    ("fontpkg_archivo_narrow", "ArchivoNarrow[wght].ttf"),
    ("fontpkg_pt_sans_narrow", "PT_Sans-Narrow-Web-Bold.ttf"),
    ("fontpkg_fjalla_one", "FjallaOne-Regular.ttf"),
)
HEADER_FONTS = (
    ("fontpkg_dancing_script", "DancingScript[wght].ttf"),
    ("fontpkg_great_vibes", "GreatVibes-Regular.ttf"),
    ("fontpkg_merriweather", "Merriweather[opsz,wdth,wght].ttf"),
    ("fontpkg_playfair_display", "PlayfairDisplay[wght].ttf"),
    ("fontpkg_playfair_display", "PlayfairDisplay-Italic[wght].ttf"),
    ("fontpkg_oswald", "Oswald[wght].ttf"),
    ("fontpkg_roboto_condensed", "RobotoCondensed[wght].ttf"),
)
STATE_NAMES = {
    "AK": "Alaska", "AL": "Alabama", "AR": "Arkansas", "AZ": "Arizona", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DC": "Washington DC", "DE": "Delaware",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "IA": "Iowa", "ID": "Idaho",
    "IL": "Illinois", "IN": "Indiana", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "MA": "Massachusetts", "MD": "Maryland", "ME": "Maine", "MI": "Michigan",
    "MN": "Minnesota", "MO": "Missouri", "MS": "Mississippi", "MT": "Montana",
    "NC": "North Carolina", "ND": "North Dakota", "NE": "Nebraska", "NH": "New Hampshire",
    "NJ": "New Jersey", "NM": "New Mexico", "NV": "Nevada", "NY": "New York", "OH": "Ohio",
    "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island",
    "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas",
    "UT": "Utah", "VA": "Virginia", "VT": "Vermont", "WA": "Washington", "WI": "Wisconsin",
    "WV": "West Virginia", "WY": "Wyoming",
}  # fmt: skip
SLOGANS = (
    "Land of Lincoln", "Sunshine State", "Great Lakes", "Empire State", "Lone Star State",
    "Peach State", "Garden State", "Grand Canyon State", "First in Flight", "Live Free or Die",
    "Famous Potatoes", "Greatest Snow on Earth", "Wild Wonderful", "The Beehive State",
    "Ocean State", "Vacationland", "Green Mountain State", "10,000 Lakes", "Show Me State",
    "Sportsman's Paradise", "Treasure State", "The Last Frontier", "Birthplace of Aviation",
    "Explore Minnesota", "visit our website", "Sweet Home", "Heart of Dixie", "Aloha State",
    "In God We Trust", "Pure Michigan", "Native America", "Taxation Without Representation",
    "COUNTY", "Cook County", "Harris County", "Maricopa", "King County", "Wayne County",
    "Dade County", "Fulton", "DEALER", "TRUCK", "PASSENGER", "COMMERCIAL", "TEMPORARY",
)  # fmt: skip
DEALERS = (
    "AUTO MALL", "MOTORS", "CHEVROLET", "FORD", "TOYOTA", "HONDA", "CAR CITY", "AUTO GROUP",
    "NISSAN", "SUBARU", "HYUNDAI", "AUTO SALES", "KIA", "DODGE", "BUICK GMC", "PREOWNED",
)  # fmt: skip


@dataclass(frozen=True)
class Sample:
    image: np.ndarray  # HEIGHT x WIDTH uint8 gray
    text: str  # normalized A-Z0-9


@cache
def _font_path(package: str, name: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"font package {package} is not installed: run `make model`")
    return Path(spec.origin).parent / "files" / name


@cache
def _font(package: str, name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(_font_path(package, name)), size)


def font_files() -> list[Path]:
    """Every font file the generator uses (for the model card)."""
    return [_font_path(p, n) for p, n in (*PLATE_FONTS, *HEADER_FONTS)]


def plate_text(rng: np.random.Generator) -> tuple[str, str]:
    """(state, pattern-shaped display text with separators)."""
    state = str(rng.choice(sorted(FORMATS)))
    if rng.random() < 0.15:  # vanity: any letters and digits, 2-7 long, maybe a space
        n = int(rng.integers(2, 8))
        pool = ALL_LETTERS + DIGITS if rng.random() < 0.6 else ALL_LETTERS
        chars = [pool[int(rng.integers(len(pool)))] for _ in range(n)]
        if n >= 4 and rng.random() < 0.3:
            chars.insert(int(rng.integers(1, n)), " ")
        return state, "".join(chars)
    if rng.random() < 0.1:  # a format from another state, seen out of its design
        pattern = str(rng.choice([p for ps in FORMATS.values() for p in ps]))
    else:
        pattern = str(rng.choice(FORMATS[state]))
    letters = LETTERS if rng.random() < 0.85 else ALL_LETTERS
    out = []
    for c in pattern:
        if c == "L":
            out.append(letters[int(rng.integers(len(letters)))])
        elif c == "N":
            out.append(DIGITS[int(rng.integers(10))])
        elif c == "A":
            pool = letters + DIGITS
            out.append(pool[int(rng.integers(len(pool)))])
        else:
            out.append(c)
    return state, "".join(out)


def _rgb(rng: np.random.Generator, lo: int, hi: int) -> tuple[int, int, int]:
    return (int(rng.integers(lo, hi)), int(rng.integers(lo, hi)), int(rng.integers(lo, hi)))


def _background(rng: np.random.Generator, light: bool) -> Image.Image:
    w, h = PLATE_W, PLATE_H
    if light:
        top, bottom = np.array(_rgb(rng, 170, 256)), np.array(_rgb(rng, 170, 256))
    else:
        top, bottom = np.array(_rgb(rng, 0, 90)), np.array(_rgb(rng, 0, 90))
    t = np.linspace(0, 1, h)[:, None, None]
    img = (top * (1 - t) + bottom * t) * np.ones((1, w, 1))
    if rng.random() < 0.4:  # horizontal gradient too
        side = np.array(_rgb(rng, 150, 256) if light else _rgb(rng, 0, 100))
        s = np.linspace(0, 1, w)[None, :, None] * rng.uniform(0.2, 0.7)
        img = img * (1 - s) + side * s
    pil = Image.fromarray(img.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(pil)
    scenery = rng.random()
    shade = _rgb(rng, 120, 230) if light else _rgb(rng, 30, 120)
    if scenery < 0.2:  # skyline
        x = 0
        while x < w:
            bw, bh = int(rng.integers(10, 40)), int(rng.integers(20, 90))
            draw.rectangle([x, h - bh, x + bw, h], fill=shade)
            x += bw + int(rng.integers(0, 6))
    elif scenery < 0.4:  # mountains
        pts = [(0, h)]
        for x in range(0, w + 40, 40):
            pts.append((x, h - int(rng.integers(30, 110))))
        pts.append((w, h))
        draw.polygon(pts, fill=shade)
    elif scenery < 0.55:  # waves
        for k in range(int(rng.integers(1, 4))):
            y0 = h - 20 - 25 * k
            pts = [(x, y0 + 8 * math.sin(x / 25 + k)) for x in range(0, w + 5, 5)]
            draw.line(pts, fill=shade, width=int(rng.integers(3, 10)))
    elif scenery < 0.65:  # a sun or a seal
        cx, cy, r = int(rng.integers(40, w - 40)), int(rng.integers(40, h - 40)), 35
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=shade)
    return pil


def _draw_serial(
    rng: np.random.Generator, canvas: Image.Image, text: str, color: tuple[int, int, int]
) -> None:
    """The serial over the middle band, fitted to its box, with an embossing shade."""
    package, name = PLATE_FONTS[int(rng.integers(len(PLATE_FONTS)))]
    font = _font(package, name, 120)
    glyph_gap = int(rng.integers(0, 14))
    parts: list[tuple[str, int]] = []
    x = 0
    for c in text:
        if c == " ":
            x += int(rng.integers(14, 40))
        elif c == "*":
            parts.append(("*", x))
            x += 50
        else:
            parts.append((c, x))
            x += int(font.getlength(c if c != "-" else "-")) + glyph_gap
    layer = Image.new("L", (max(x, 1) + 20, 170), 0)
    ld = ImageDraw.Draw(layer)
    for c, px in parts:
        if c == "*":  # a state symbol: a small filled shape between the groups
            kind = int(rng.integers(3))
            box = [px + 8, 55, px + 42, 95]
            if kind == 0:
                ld.ellipse(box, fill=255)
            elif kind == 1:
                ld.polygon([(px + 25, 50), (px + 45, 75), (px + 25, 100), (px + 5, 75)], fill=255)
            else:
                ld.rectangle([px + 6, 60, px + 44, 92], fill=255)
        else:
            ld.text((px + 10, 0), c, font=font, fill=255)
    bbox = layer.getbbox()
    if bbox is None:
        return
    layer = layer.crop(bbox)
    # the serial's box: most of the plate's width, about half its height
    box_w = int(PLATE_W * rng.uniform(0.7, 0.92))
    box_h = int(PLATE_H * rng.uniform(0.4, 0.58))
    scale_w = box_w / layer.width
    scale_h = box_h / layer.height
    if scale_w < scale_h:  # long text: narrower glyphs, height follows a little
        box_h = int(layer.height * min(scale_h, scale_w * rng.uniform(1.0, 1.6)))
    layer = layer.resize((box_w, max(box_h, 10)), Image.Resampling.BILINEAR)
    x0 = (PLATE_W - layer.width) // 2 + int(rng.integers(-10, 11))
    y0 = int(PLATE_H * 0.5 - layer.height / 2 + rng.integers(-8, 12))
    if rng.random() < 0.7:  # embossed: a light edge above-left, a dark one below-right
        d = int(rng.integers(1, 4))
        light = tuple(min(255, c + 90) for c in canvas.getpixel((5, PLATE_H // 2)))  # type: ignore[union-attr]
        canvas.paste(Image.new("RGB", layer.size, light), (x0 - d, y0 - d), layer)
        canvas.paste(Image.new("RGB", layer.size, (20, 20, 20)), (x0 + d, y0 + d), layer)
    canvas.paste(Image.new("RGB", layer.size, color), (x0, y0), layer)


def _header_footer(rng: np.random.Generator, canvas: Image.Image, state: str, dark: bool) -> None:
    draw = ImageDraw.Draw(canvas)
    color = _rgb(rng, 0, 140) if not dark else _rgb(rng, 170, 256)
    if rng.random() < 0.9:
        package, name = HEADER_FONTS[int(rng.integers(len(HEADER_FONTS)))]
        name_text = STATE_NAMES[state]
        if rng.random() < 0.4:
            name_text = name_text.upper()
        font = _font(package, name, int(rng.integers(24, 40)))
        tw = font.getlength(name_text)
        draw.text(((PLATE_W - tw) / 2 + rng.integers(-20, 21), rng.integers(0, 14)), name_text,
                  font=font, fill=color)  # fmt: skip
    if rng.random() < 0.75:
        package, name = HEADER_FONTS[int(rng.integers(len(HEADER_FONTS)))]
        slogan = str(rng.choice(SLOGANS))
        font = _font(package, name, int(rng.integers(16, 26)))
        tw = font.getlength(slogan)
        draw.text(((PLATE_W - tw) / 2, PLATE_H - rng.integers(26, 40)), slogan, font=font,
                  fill=color)  # fmt: skip
    if rng.random() < 0.5:  # registration stickers in the corners
        for _ in range(int(rng.integers(1, 3))):
            sx = int(rng.choice([rng.integers(8, 40), rng.integers(PLATE_W - 80, PLATE_W - 45)]))
            sy = int(rng.choice([rng.integers(4, 20), rng.integers(PLATE_H - 50, PLATE_H - 35)]))
            sc = _rgb(rng, 0, 256)
            draw.rectangle([sx, sy, sx + 38, sy + 28], fill=sc)
            small = _font(*PLATE_FONTS[0], 16)
            draw.text((sx + 4, sy + 4), f"{int(rng.integers(1, 13))} {int(rng.integers(24, 29))}",
                      font=small, fill=(0, 0, 0) if sum(sc) > 380 else (255, 255, 255))  # fmt: skip
    if rng.random() < 0.12:  # stacked small characters at the left (plate type, not serial)
        small = _font(*PLATE_FONTS[int(rng.integers(len(PLATE_FONTS)))], 26)
        a, b = rng.choice(list(ALL_LETTERS), 2)
        draw.text((8, 55), str(a), font=small, fill=color)
        draw.text((8, 85), str(b), font=small, fill=color)
    for hx in (0.21, 0.79):  # bolt holes
        if rng.random() < 0.8:
            for hy in (0.12, 0.88) if rng.random() < 0.5 else (0.12,):
                cx, cy = PLATE_W * hx, PLATE_H * hy
                draw.ellipse([cx - 7, cy - 5, cx + 7, cy + 5], fill=_rgb(rng, 20, 120))
    if rng.random() < 0.5:  # border
        draw.rounded_rectangle([2, 2, PLATE_W - 3, PLATE_H - 3], radius=12, outline=color,
                               width=int(rng.integers(2, 6)))  # fmt: skip


def _dealer_frame(rng: np.random.Generator, canvas: Image.Image) -> None:
    draw = ImageDraw.Draw(canvas)
    fc = _rgb(rng, 0, 60) if rng.random() < 0.6 else _rgb(rng, 140, 220)
    t = int(rng.integers(6, 18))
    draw.rectangle([0, 0, PLATE_W, t], fill=fc)
    draw.rectangle([0, 0, t, PLATE_H], fill=fc)
    draw.rectangle([PLATE_W - t, 0, PLATE_W, PLATE_H], fill=fc)
    bottom = int(rng.integers(16, 44))  # the band with the dealer's name, over the slogan
    draw.rectangle([0, PLATE_H - bottom, PLATE_W, PLATE_H], fill=fc)
    font = _font(*HEADER_FONTS[int(rng.integers(len(HEADER_FONTS)))], max(10, bottom - 8))
    dealer = str(rng.choice(DEALERS))
    tw = font.getlength(dealer)
    text_color = (230, 230, 230) if sum(fc) < 300 else (20, 20, 20)
    draw.text(((PLATE_W - tw) / 2, PLATE_H - bottom + 2), dealer, font=font, fill=text_color)


def render_plate(rng: np.random.Generator, state: str, display: str) -> np.ndarray:
    """The plate's front at design resolution: RGB, PLATE_H x PLATE_W."""
    dark = rng.random() < 0.12
    canvas = _background(rng, light=not dark)
    _header_footer(rng, canvas, state, dark)
    color = _rgb(rng, 150, 256) if dark else _rgb(rng, 0, 110)
    if not dark and rng.random() < 0.3:  # saturated serial colours: red, blue, green, maroon
        color = tuple(int(v) for v in rng.permutation([int(rng.integers(120, 200)), 20, 30]))  # type: ignore[assignment]
    _draw_serial(rng, canvas, display, color)
    if rng.random() < 0.25:
        _dealer_frame(rng, canvas)
    return np.asarray(canvas)


def _surround(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A bumper-like surround: body colour, gradient, a few edges and shapes."""
    base = np.array(_rgb(rng, 0, 256), dtype=np.float32)
    t = np.linspace(rng.uniform(0.4, 1.0), rng.uniform(0.4, 1.2), h)[:, None, None]
    img = base * t * np.ones((1, w, 1), dtype=np.float32)
    img = img.clip(0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(0, 6))):
        c = _rgb(rng, 0, 256)
        if rng.random() < 0.5:
            y = int(rng.integers(0, h))
            cv2.line(img, (0, y), (w, y + int(rng.integers(-10, 10))), c, int(rng.integers(1, 6)))
        else:
            x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
            cv2.rectangle(
                img, (x0, y0), (x0 + int(rng.integers(5, 60)), y0 + int(rng.integers(5, 40))), c, -1
            )
    return img


def _perspective(
    rng: np.random.Generator, w: float, h: float, *, steep: bool = False
) -> np.ndarray:
    """The plate's four corners after yaw, pitch and roll, as seen by a pinhole camera.
    `steep` (the steep held-out sets, and the training mix's steep share: models.plates.mix):
    yaw 20-35 degrees either way and roll about 8."""
    yaw = math.radians(rng.uniform(-35, 35) if rng.random() < 0.6 else rng.uniform(-10, 10))
    pitch = math.radians(rng.uniform(-20, 20))
    roll = math.radians(rng.normal(0, 4))
    if steep:
        yaw = math.copysign(math.radians(rng.uniform(20, 35)), yaw)
        roll = math.radians(rng.normal(0, 8))
    corners = np.array(
        [[-w / 2, -h / 2, 0], [w / 2, -h / 2, 0], [w / 2, h / 2, 0], [-w / 2, h / 2, 0]]
    )
    ry = np.array(
        [[math.cos(yaw), 0, math.sin(yaw)], [0, 1, 0], [-math.sin(yaw), 0, math.cos(yaw)]]
    )
    rx = np.array(
        [[1, 0, 0], [0, math.cos(pitch), -math.sin(pitch)], [0, math.sin(pitch), math.cos(pitch)]]
    )
    rz = np.array(
        [[math.cos(roll), -math.sin(roll), 0], [math.sin(roll), math.cos(roll), 0], [0, 0, 1]]
    )
    p = corners @ (rz @ rx @ ry).T
    f = w * rng.uniform(1.5, 4.0)
    z = p[:, 2] + f
    return np.stack([p[:, 0] * f / z, p[:, 1] * f / z], axis=1)


def _degrade(rng: np.random.Generator, img: np.ndarray, night: bool) -> np.ndarray:
    """Camera effects on the gray scene at camera resolution (float32 0..255 in, out)."""
    h, w = img.shape
    if night:  # IR: retroreflective sheeting blooms, the rest goes dark
        img = np.clip((img - rng.uniform(40, 110)) * rng.uniform(1.3, 2.5) + 40, 0, 255)
        bright = np.where(img > 200, img, 0).astype(np.float32)
        k = int(rng.integers(1, 4)) * 2 + 1
        img = np.clip(img + cv2.GaussianBlur(bright, (k, k), 0) * rng.uniform(0.2, 0.8), 0, 255)
    else:
        gamma = rng.uniform(0.6, 1.6)
        img = 255 * (img / 255) ** gamma
        img = img * rng.uniform(0.5, 1.3) + rng.uniform(-40, 40)
    if rng.random() < 0.2:  # glare: a soft bright ellipse
        yy, xx = np.mgrid[0:h, 0:w]
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        sx, sy = rng.uniform(0.1, 0.5) * w, rng.uniform(0.2, 0.8) * h
        glare = np.exp(-(((xx - cx) / sx) ** 2 + ((yy - cy) / sy) ** 2))
        img = img + glare * rng.uniform(60, 200)
    if rng.random() < 0.3:  # dirt: dark soft blobs and speckles
        dirt = np.zeros((h, w), np.float32)
        for _ in range(int(rng.integers(1, 8))):
            cv2.circle(dirt, (int(rng.integers(0, w)), int(rng.integers(0, h))),
                       int(rng.integers(1, max(2, h // 4))), float(rng.uniform(0.2, 0.7)), -1)  # fmt: skip
        dirt = cv2.GaussianBlur(dirt, (0, 0), rng.uniform(0.5, 3))
        img = img * (1 - dirt) + 50 * dirt
    if rng.random() < 0.08:  # partial occlusion: a hitch, a bar, a bike rack
        ow, oh = int(w * rng.uniform(0.03, 0.08)), int(h * rng.uniform(0.2, 0.7))
        ox, oy = int(rng.integers(0, w)), int(rng.integers(0, h) if rng.random() < 0.5 else h - oh)
        img[oy : oy + oh, ox : ox + ow] = rng.uniform(0, 255)
    r = rng.random()
    if r < 0.3:  # motion blur
        n = int(rng.integers(2, 7))
        kernel = np.zeros((n, n), np.float32)
        angle = rng.uniform(0, math.pi)
        c = (n - 1) / 2
        for t in np.linspace(-c, c, 2 * n):
            kernel[round(c + t * math.sin(angle)), round(c + t * math.cos(angle))] = 1
        img = cv2.filter2D(img, -1, kernel / kernel.sum())
    elif r < 0.7:  # focus blur
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.4))
    sigma = rng.uniform(0, 14) if rng.random() < 0.7 else 0
    img = img + rng.normal(0, 1, img.shape) * sigma
    img = np.clip(img, 0, 255).astype(np.uint8)
    quality = int(rng.integers(20, 86))
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)


def scene_with_plate(
    rng: np.random.Generator, plate_width: float, *, steep: bool = False
) -> tuple[np.ndarray, np.ndarray, str]:
    """A colour surround with one plate in perspective: (BGR image, plate quad, text)."""
    state, display = plate_text(rng)
    front = render_plate(rng, state, display)
    quad = _perspective(rng, plate_width, plate_width / 2, steep=steep)
    margin = plate_width * 0.8
    quad = quad - quad.min(axis=0) + margin
    sw = int(quad[:, 0].max() + margin)
    sh = int(quad[:, 1].max() + margin)
    scene = _surround(rng, sh, sw)
    # pre-shrink the design near its final size so the warp does not alias
    small = cv2.resize(
        front, (int(plate_width * 1.5), int(plate_width * 0.75)), interpolation=cv2.INTER_AREA
    )
    src = np.array(
        [[0, 0], [small.shape[1], 0], [small.shape[1], small.shape[0]], [0, small.shape[0]]],
        np.float32,
    )
    m = cv2.getPerspectiveTransform(src, quad.astype(np.float32))
    warped = cv2.warpPerspective(small, m, (sw, sh), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full(small.shape[:2], 255, np.uint8), m, (sw, sh))
    scene = np.where(mask[..., None] > 127, warped, scene)
    text = "".join(c for c in display if c.isalnum())
    return scene, quad, text


def crop_box(
    rng: np.random.Generator, quad: np.ndarray, shape: tuple[int, ...]
) -> tuple[int, int, int, int]:
    """A box around the plate's quad: loose, tight or cut off, as detectors and cameras give."""
    x0, y0 = quad.min(axis=0)
    x1, y1 = quad.max(axis=0)
    w, h = x1 - x0, y1 - y0
    r = rng.random()
    if r < 0.45:  # loose
        mx = rng.uniform(0.0, 0.35, 2) * w
        my = rng.uniform(0.0, 0.6, 2) * h
    elif r < 0.85:  # tight, jittered
        mx = rng.uniform(-0.03, 0.08, 2) * w
        my = rng.uniform(-0.1, 0.15, 2) * h
    else:  # cut off on a side, or off-centre
        mx = rng.uniform(-0.06, 0.3, 2) * w
        my = rng.uniform(-0.25, 0.4, 2) * h
    bx0 = int(max(0, x0 - mx[0]))
    by0 = int(max(0, y0 - my[0]))
    bx1 = int(min(shape[1], x1 + mx[1]))
    by1 = int(min(shape[0], y1 + my[1]))
    return bx0, by0, max(bx1 - bx0, 4), max(by1 - by0, 4)


def to_input(gray: np.ndarray) -> np.ndarray:
    """A gray crop resized to the model's HEIGHT x WIDTH (what app.vision does too)."""
    return cv2.resize(
        gray,
        (WIDTH, HEIGHT),
        interpolation=cv2.INTER_AREA if gray.shape[1] > WIDTH else cv2.INTER_LINEAR,
    )


def crop(seed: int, index: int, *, steep: bool = False) -> tuple[np.ndarray, str]:
    """Sample `index` of the stream `seed` at camera resolution, before the resize to the
    model's input: (gray crop, text). `steep`: the plate at a steep angle (_perspective)."""
    rng = np.random.default_rng([seed, index])
    plate_width = rng.uniform(50, 200)
    scene, quad, text = scene_with_plate(rng, plate_width, steep=steep)
    night = rng.random() < 0.3
    gray = cv2.cvtColor(scene, cv2.COLOR_RGB2GRAY).astype(np.float32)
    x, y, w, h = crop_box(rng, quad, gray.shape)
    # degrade a region a little larger than the crop (blur and JPEG see the surround)
    pad = 8
    px0, py0 = max(0, x - pad), max(0, y - pad)
    region = gray[py0 : y + h + pad, px0 : x + w + pad]
    region = _degrade(rng, region, night)
    return region[y - py0 : y - py0 + h, x - px0 : x - px0 + w], text


def sample(seed: int, index: int, *, steep: bool = False) -> Sample:
    """Training sample `index` of the stream `seed`: a degraded plate crop and its text.
    `steep` (held-out sets; training draws it through models.plates.mix): the plate at a
    steep angle (_perspective)."""
    gray, text = crop(seed, index, steep=steep)
    return Sample(to_input(gray), text)
