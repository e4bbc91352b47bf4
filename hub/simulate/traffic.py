"""The traffic generator shared by `demo-seed` and `simulate`: cameras, vehicles,
sightings and rendered scenes.

N cameras over D days: US plates of several states, recurring vehicles
(commuters at their usual cameras and hours, a few vehicles of interest whose
plates share `7K2`, one of them followed by a companion vehicle),
make/model/color/body type/feature distributions, day and night traffic
curves, and a share of misreads (O/0, B/8, I/1, S/5) so that fuzzy search
matters. Everything derives from the seed and the window's end.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.plates import normalize_plate
from app.core.schemas import CameraPublic
from hub.catalog import add_camera
from hub.core.db import Database
from hub.db.tables import cameras
from hub.images import FolderImageStore, ImageStore
from hub.reads import insert_reads
from hub.simulate.scene import SceneSpec, render

CITY_LAT, CITY_LON = 41.14, -104.82
AGENCY = "Cheyenne Police Department"
INTERSECTIONS = (
    "Lincolnway & Central",
    "Dell Range & Yellowstone",
    "Pershing & Converse",
    "College & Lincolnway",
    "Warren & I-80",
    "Yellowstone & Four Mile",
    "Central & 24th",
    "Missile Dr & Happy Jack",
    "Storey & Ridge",
    "Fox Farm & Walterscheid",
)
DIRECTIONS = ("NB", "SB", "EB", "WB")
VEHICLES = (  # make, model, body type, weight
    ("Ford", "F-150", "pickup", 12),
    ("Chevrolet", "Silverado", "pickup", 9),
    ("Ram", "1500", "pickup", 7),
    ("Toyota", "Camry", "sedan", 6),
    ("Honda", "Civic", "sedan", 5),
    ("Nissan", "Altima", "sedan", 4),
    ("Tesla", "Model 3", "sedan", 2),
    ("Toyota", "RAV4", "suv", 7),
    ("Honda", "CR-V", "suv", 6),
    ("Jeep", "Wrangler", "suv", 5),
    ("Ford", "Explorer", "suv", 4),
    ("Chevrolet", "Equinox", "suv", 4),
    ("Subaru", "Outback", "wagon", 6),
    ("Dodge", "Grand Caravan", "van", 3),
)
COLORS = (
    ("white", 24), ("black", 18), ("gray", 15), ("silver", 13), ("blue", 9),
    ("red", 9), ("green", 4), ("brown", 3), ("tan", 3), ("yellow", 2),
)  # fmt: skip
FEATURES = (
    ("roof rack", 0.10), ("bumper sticker", 0.12), ("tow hitch", 0.15), ("dented door", 0.04),
    ("tinted windows", 0.10), ("ladder rack", 0.03), ("missing hubcap", 0.03),
    ("temporary tag", 0.01),
)  # fmt: skip
STATES = (("WY", 60), ("CO", 22), ("NE", 6), ("TX", 4), ("UT", 4), ("MT", 4))
CONFUSIONS = {"O": "0", "0": "O", "B": "8", "8": "B", "I": "1", "1": "I", "S": "5", "5": "S"}
# Traffic by local hour (Mountain time): quiet nights, morning and evening peaks.
HOURLY = (1, 1, 1, 1, 1, 2, 5, 9, 10, 7, 6, 6, 7, 6, 6, 7, 9, 10, 8, 6, 4, 3, 2, 1)
UTC_OFFSET_HOURS = 7  # local + 7 h = UTC
LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"  # no I, O, Q on plates
MISREAD_SHARE = 0.03


def _letters(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(LETTERS) for _ in range(n))


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def plate_for(state: str, rng: random.Random) -> str:
    """A plate as printed, in the state's layout (dash or space kept)."""
    if state == "WY":
        return f"{rng.randint(1, 23)}-{_digits(rng, rng.choice((4, 5)))}"
    if state == "CO":
        return f"{_letters(rng, 3)}-{_letters(rng, 1)}{_digits(rng, 2)}"
    if state == "NE":
        return f"{_letters(rng, 3)} {_digits(rng, 3)}"
    if state == "TX":
        return f"{_letters(rng, 3)}-{_digits(rng, 4)}"
    if state == "UT":
        return f"{_letters(rng, 1)}{_digits(rng, 2)} {_digits(rng, 1)}{_letters(rng, 2)}"
    return f"{rng.randint(1, 56)}-{_digits(rng, 4)}{_letters(rng, 1)}"  # MT


@dataclass
class Vehicle:
    printed: str
    state: str
    make: str
    model: str
    body_type: str
    color: str
    features: list[str]
    cameras: list[str] = field(default_factory=list)  # commuters: their usual cameras
    hour: int = 8


def _weighted(rng: random.Random, items: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
    return rng.choices(items, weights=[item[-1] for item in items])[0]


def _vehicle(rng: random.Random, printed: str | None = None, state: str | None = None) -> Vehicle:
    make, model, body, _ = _weighted(rng, VEHICLES)
    chosen_state = state or str(_weighted(rng, STATES)[0])
    return Vehicle(
        printed=printed or plate_for(chosen_state, rng),
        state=chosen_state,
        make=make,
        model=model,
        body_type=body,
        color=str(_weighted(rng, COLORS)[0]),
        features=[name for name, share in FEATURES if rng.random() < share],
    )


def _render_batch(args: tuple[str, list[SceneSpec]]) -> list[tuple[str, int, str, int]]:
    root, specs = args
    store = FolderImageStore(Path(root))
    out = []
    for spec in specs:
        scene, crop = render(spec)
        out.append((store.put(scene), len(scene), store.put(crop), len(crop)))
    return out


def _render_bytes(specs: list[SceneSpec]) -> list[tuple[bytes, bytes]]:
    return [render(spec) for spec in specs]


def render_scenes(specs: list[SceneSpec], workers: int) -> list[tuple[bytes, bytes]]:
    """Render every scene and crop as JPEG bytes, on `workers` processes, in input order."""
    chunk = 200
    batches = [specs[i : i + chunk] for i in range(0, len(specs), chunk)]
    if workers <= 1 or len(specs) < chunk:
        results = [_render_bytes(batch) for batch in batches]
    else:
        context = multiprocessing.get_context("fork")
        with context.Pool(workers) as pool:
            results = pool.map(_render_bytes, batches)
    return [item for batch in results for item in batch]


def default_workers() -> int:
    return max(1, min(4, multiprocessing.cpu_count()))


def write_bulk(
    database: Database,
    store: ImageStore,
    rows: list[dict[str, Any]],
    specs: list[SceneSpec],
    *,
    now: datetime,
    chunk: int = 5000,
) -> int:
    """Render, store and insert reads straight into the database (no API); the count."""
    rendered = render_all(store, specs, default_workers())
    for start in range(0, len(rows), chunk):
        with database.write() as connection:
            part = rows[start : start + chunk]
            for row, (image_sha, image_size, crop_sha, crop_size) in zip(
                part, rendered[start : start + chunk], strict=True
            ):
                row.update(
                    image_sha256=image_sha, image_size=image_size,
                    crop_sha256=crop_sha, crop_size=crop_size,
                )  # fmt: skip
            insert_reads(connection, part, now=now)
    return len(rows)


def store_sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def render_all(
    store: ImageStore, specs: list[SceneSpec], workers: int
) -> list[tuple[str, int, str, int]]:
    """Render and store every scene, on `workers` processes; results in input order.
    A folder store is written by the rendering processes, any other by this one."""
    if not isinstance(store, FolderImageStore):
        writer = store.writer()
        out = []
        for scene, crop in render_scenes(specs, workers):
            scene_sha, crop_sha = store_sha(scene), store_sha(crop)
            writer.add({scene_sha: scene, crop_sha: crop}, hashed=True)
            out.append((scene_sha, len(scene), crop_sha, len(crop)))
        writer.wait()
        return out
    chunk = 200
    batches = [(str(store.root), specs[i : i + chunk]) for i in range(0, len(specs), chunk)]
    if workers <= 1 or len(specs) < chunk:
        results = [_render_batch(batch) for batch in batches]
    else:
        context = multiprocessing.get_context("fork")
        with context.Pool(workers) as pool:
            results = pool.map(_render_batch, batches)
    return [item for batch in results for item in batch]


def ensure_cameras(connection: Connection, rng: random.Random, count: int) -> list[str]:
    """Cameras CAM-001..CAM-<count>: the ones missing are registered; returns their ids."""
    known = {row.camera_id for row in connection.execute(sa.select(cameras.c.camera_id))}
    camera_ids = []
    for index in range(count):
        camera_id = f"CAM-{index + 1:03d}"
        name = INTERSECTIONS[index % len(INTERSECTIONS)]
        if index >= len(INTERSECTIONS):
            name = f"{name} ({index // len(INTERSECTIONS) + 1})"
        latitude = round(CITY_LAT + rng.uniform(-0.04, 0.04), 5)
        longitude = round(CITY_LON + rng.uniform(-0.06, 0.06), 5)
        direction = rng.choice(DIRECTIONS)
        if camera_id not in known:
            add_camera(
                connection,
                CameraPublic(
                    camera_id=camera_id, name=name, agency=AGENCY, latitude=latitude,
                    longitude=longitude, direction=direction, active=True,
                ),
            )  # fmt: skip
        camera_ids.append(camera_id)
    return camera_ids


def _travel(rng: random.Random, facing: Mapping[str, str] | None, camera_id: str) -> str:
    drawn = rng.choice(DIRECTIONS)  # drawn either way: a seed gives the same traffic as before
    return (facing or {}).get(camera_id, drawn)


def read_id_for(rng: random.Random, captured: datetime) -> str:
    """A read id from the seed's stream and the capture time: the same traffic gives the
    same ids, and a later run (a later window) new ones."""
    digest = hashlib.sha256(
        rng.getrandbits(128).to_bytes(16, "big") + captured.isoformat().encode()
    )
    return uuid.UUID(bytes=digest.digest()[:16], version=4).hex


def camera_facing(connection: Connection) -> dict[str, str]:
    """Each registered camera's facing: the direction of the traffic it watches."""
    query = sa.select(cameras.c.camera_id, cameras.c.direction)
    return {row.camera_id: row.direction for row in connection.execute(query)}


def generate_traffic(
    rng: random.Random,
    camera_ids: list[str],
    *,
    days: int,
    reads_per_day: int,
    now: datetime,
    facing: Mapping[str, str] | None = None,
) -> tuple[list[dict[str, Any]], list[SceneSpec]]:
    """Reads and their scenes. With `facing` (camera_facing), a read travels the way its
    camera faces, as a camera watching one approach sees it; without, at random."""
    start = now - timedelta(days=days)
    total = len(camera_ids) * days * reads_per_day
    commuters = [_vehicle(rng) for _ in range(max(3, total // 120))]
    for commuter in commuters:
        commuter.cameras = rng.sample(camera_ids, k=min(len(camera_ids), rng.choice((1, 2))))
        commuter.hour = rng.choice((6, 7, 8, 16, 17))
    interest = [
        _vehicle(rng, "7K2-LMV", "CO"),
        _vehicle(rng, "7K2 481", "NE"),
        _vehicle(rng, "17K2-RTB", "TX"),
    ]
    # A vehicle that travels with the first vehicle of interest (the convoy analysis finds it).
    convoy = _vehicle(rng, "CVY 2291", "WY")
    pool = [_vehicle(rng) for _ in range(max(20, total // 3))]
    sightings: list[tuple[Vehicle, datetime, str]] = []

    def moment(day: int, local_hour: int) -> datetime:
        base = start.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=day + 1)
        return base + timedelta(hours=local_hour + UTC_OFFSET_HOURS, seconds=rng.uniform(0, 3600))

    for day in range(days):
        for commuter in commuters:
            for camera_id in commuter.cameras:
                sightings.append((commuter, moment(day, commuter.hour), camera_id))
        for vehicle in interest:
            for _ in range(rng.randint(1, 2)):
                when, camera_id = moment(day, rng.randrange(24)), rng.choice(camera_ids)
                sightings.append((vehicle, when, camera_id))
                if vehicle is interest[0]:
                    behind = timedelta(seconds=rng.uniform(5, 50))
                    sightings.append((convoy, when + behind, camera_id))
    while len(sightings) < total:
        hour = rng.choices(range(24), weights=HOURLY)[0]
        sightings.append(
            (rng.choice(pool), moment(rng.randrange(days), hour), rng.choice(camera_ids))
        )
    # Keep every sighting inside the window that ends now.
    span = (now - start).total_seconds()
    rows: list[dict[str, Any]] = []
    specs: list[SceneSpec] = []
    for vehicle, when, camera_id in sightings[:total]:
        captured = when
        if not start <= captured < now:
            offset = (captured - start).total_seconds() % span
            captured = start + timedelta(seconds=offset)
        local_hour = (captured.hour - UTC_OFFSET_HOURS) % 24
        night = local_hour < 6 or local_hour >= 20
        plate = normalize_plate(vehicle.printed)
        confidence = rng.uniform(0.72, 0.99) if not night else rng.uniform(0.6, 0.95)
        if rng.random() < MISREAD_SHARE:
            positions = [i for i, ch in enumerate(plate) if ch in CONFUSIONS]
            if positions:
                at = rng.choice(positions)
                plate = plate[:at] + CONFUSIONS[plate[at]] + plate[at + 1 :]
                confidence = rng.uniform(0.6, 0.8)
        rows.append(
            {
                "read_id": read_id_for(rng, captured),
                "plate": plate,
                "state": vehicle.state,
                "confidence": round(confidence, 3),
                "captured_at": captured,
                "camera_id": camera_id,
                "direction": _travel(rng, facing, camera_id),
                "make": vehicle.make,
                "model": vehicle.model,
                "color": vehicle.color,
                "body_type": vehicle.body_type,
                "features": vehicle.features,
            }
        )
        specs.append(
            SceneSpec(
                plate_text=vehicle.printed, state=vehicle.state, color=vehicle.color,
                body_type=vehicle.body_type, night=night, seed=rng.getrandbits(32),
            )
        )  # fmt: skip
    return rows, specs
