"""Helpers for the hub tests: the fixture object, the clock, the small seed."""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pyotp
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.core.schemas import CameraPublic, Role
from hub.catalog import add_camera, create_case
from hub.core.config import HubSettings
from hub.core.db import Database
from hub.core.security import PasswordService
from hub.db.tables import case_assignments, users
from hub.db.types import to_ms
from hub.images import open_image_store
from hub.reads import insert_reads
from hub.users import create_user

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
PASSWORD = "correct-horse-battery"
CASE = "2026-004211"
OTHER_CASE = "2026-000999"
CLOSED_CASE = "2026-000100"
PARTNER_AGENCY = "Laramie County Sheriff's Office"


def pg_reachable() -> bool:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def pg_url(name: str) -> str:
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


class FakeClock:
    def __init__(self) -> None:
        self.now = to_ms(datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now = self.now + delta


@dataclass
class HubFixture:
    settings: HubSettings
    database: Database
    client: TestClient
    clock: FakeClock
    totp: dict[str, str]
    reads: list[dict[str, Any]] = field(default_factory=list)
    last_steps: dict[str, int] = field(default_factory=dict)

    def code(self, username: str) -> str:
        """A code the hub has not accepted yet: the hub takes each code once, from the
        step before, this one or the next; when all three are spent, the clock moves on
        to the next 30 s step, as a user would wait for their app's next code."""
        totp = pyotp.TOTP(self.totp[username])
        current = totp.timecode(self.clock.now)
        step = max(current - 1, self.last_steps.get(username, current - 2) + 1)
        while step > current + 1:
            self.clock.advance(timedelta(seconds=totp.interval))
            current = totp.timecode(self.clock.now)
        self.last_steps[username] = step
        return str(totp.generate_otp(step))

    def login(self, username: str = "detective", password: str = PASSWORD) -> dict[str, Any]:
        reply = self.client.post(
            "/api/v1/auth/login",
            json={"username": username, "password": password, "totp": self.code(username)},
        )
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()
        return body

    def headers(self, username: str = "detective") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.login(username)['access_token']}"}

    def feed_token(self, camera_id: str | None = None) -> str:
        reply = self.client.post(
            "/api/v1/admin/feeds",
            json={"name": "test feed", "camera_id": camera_id},
            headers=self.headers("admin"),
        )
        assert reply.status_code == 201, reply.text
        token: str = reply.json()["token"]
        return token

    def slice_body(self, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "case_number": CASE,
            "purpose": "robbery",
            "justification": "Suspect vehicle seen leaving the robbery scene on Lincolnway.",
            "time_from": (self.clock.now - timedelta(days=2)).isoformat(),
            "time_to": self.clock.now.isoformat(),
        }
        body.update(overrides)
        return body


def tiny_jpeg(tag: str) -> bytes:
    return b"\xff\xd8\xff\xe0" + tag.encode() + b"\xff\xd9"


def seed_small(hub: HubFixture, passwords: PasswordService, count: int = 250) -> None:
    """Users of every role, cases, two cameras and `count` reads over the last 2 days."""
    now = hub.clock.now
    store = open_image_store(hub.settings)
    with hub.database.write() as connection:
        ids = {}
        for username, role, training in (
            ("detective", Role.DETECTIVE, now.date() + timedelta(days=365)),
            ("detective2", Role.DETECTIVE, now.date() + timedelta(days=365)),
            ("technician", Role.EVIDENCE_TECHNICIAN, now.date() + timedelta(days=365)),
            ("supervisor", Role.SUPERVISOR, now.date() + timedelta(days=365)),
            ("admin", Role.ADMIN, now.date() + timedelta(days=365)),
            ("lapsed", Role.DETECTIVE, date(2020, 1, 31)),
        ):
            hub.totp[username] = pyotp.random_base32()
            ids[username] = create_user(
                connection, passwords, username=username, password=PASSWORD, role=role,
                totp_secret=hub.totp[username], now=now, training_valid_until=training,
            )  # fmt: skip
        pattern = hub.settings.case_number_pattern
        create_case(
            connection, case_number=CASE, title="Robbery", offense_category="robbery",
            now=now, pattern=pattern, assigned_user_ids=[ids["detective"], ids["detective2"]],
        )  # fmt: skip
        create_case(
            connection, case_number=OTHER_CASE, title="Burglary", offense_category="burglary",
            now=now, pattern=pattern, assigned_user_ids=[ids["technician"]],
        )  # fmt: skip
        create_case(
            connection, case_number=CLOSED_CASE, title="Old", offense_category="fraud",
            now=now, pattern=pattern, assigned_user_ids=[ids["detective"]], status="closed",
        )  # fmt: skip
        for camera_id in ("CAM-001", "CAM-002"):
            add_camera(
                connection,
                CameraPublic(
                    camera_id=camera_id, name=f"Camera {camera_id}", agency="Test PD",
                    latitude=41.14, longitude=-104.82, direction="NB", active=True,
                ),
            )  # fmt: skip
        rows = []
        writer = store.writer()  # an object store's threads write them side by side
        for index in range(count):
            scene_jpeg, crop_jpeg = tiny_jpeg(f"scene-{index}"), tiny_jpeg(f"crop-{index}")
            image, crop = _sha(scene_jpeg), _sha(crop_jpeg)
            writer.add({image: scene_jpeg, crop: crop_jpeg}, hashed=True)
            plate = f"7K2{index:03d}" if index % 10 == 0 else f"ABC{index:04d}"
            rows.append(
                {
                    "read_id": uuid.uuid4().hex, "plate": plate, "state": "WY",
                    "confidence": 0.9,
                    "captured_at": now - timedelta(minutes=10 * (index + 1), milliseconds=index),
                    "camera_id": "CAM-001" if index % 2 else "CAM-002", "direction": "NB",
                    "make": "Ford", "model": "F-150", "color": "white", "body_type": "pickup",
                    "features": ["roof rack"] if index % 3 == 0 else [],
                    "image_sha256": image, "image_size": len(tiny_jpeg(f"scene-{index}")),
                    "crop_sha256": crop, "crop_size": len(tiny_jpeg(f"crop-{index}")),
                }
            )  # fmt: skip
        writer.wait()
        insert_reads(connection, rows, now=now)
    hub.reads = rows


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fast_settings(data_dir: Path, db_url: str | None) -> HubSettings:
    return HubSettings(
        data_dir=data_dir,
        database_url=db_url,
        argon2_time_cost=1,
        argon2_memory_cost=8192,
        argon2_parallelism=1,
        retention_job=False,
        totp_drift_steps=1,  # the product's default, whatever the live hubs' setting
    )


def real_jpeg(seed: int, size: tuple[int, int] = (48, 64)) -> bytes:
    """A small, decodable JPEG whose pixels depend on `seed`."""
    import cv2
    import numpy as np

    pixels = np.random.default_rng(seed).integers(0, 255, size=(*size, 3), dtype=np.uint8)
    ok, encoded = cv2.imencode(".jpg", pixels)
    assert ok
    return bytes(encoded.tobytes())


def ingest_body(
    now: datetime, *, read_id: str | None = None, image: bytes | None = None, **overrides: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "read_id": read_id or uuid.uuid4().hex,
        "plate": "7k2-lmv",
        "state": "CO",
        "confidence": 0.91,
        "captured_at": (now - timedelta(minutes=5)).isoformat(),
        "camera_id": "CAM-001",
        "direction": "NB",
        "attributes": {
            "make": "Toyota",
            "model": "RAV4",
            "color": "blue",
            "body_type": "suv",
            "features": ["roof rack"],
        },
        "image_jpeg": base64.b64encode(image or real_jpeg(1)).decode(),
        "crop_jpeg": base64.b64encode(real_jpeg(2, (20, 40))).decode(),
    }
    body.update(overrides)
    return body


def add_partner(
    hub: HubFixture,
    username: str = "partner",
    *,
    role: str = "detective",
    unit: str | None = None,
    cases: tuple[str, ...] = (CASE,),
    agency: str = PARTNER_AGENCY,
) -> dict[str, Any]:
    """A partner agency's user (through the admin API), assigned to `cases`."""
    body: dict[str, Any] = {
        "username": username,
        "display_name": f"Dep. {username}",
        "role": role,
        "password": PASSWORD,
        "training_valid_until": (hub.clock.now.date() + timedelta(days=365)).isoformat(),
        "partner_agency": agency,
    }
    if unit is not None:
        body["unit"] = unit
    reply = hub.client.post("/api/v1/admin/users", json=body, headers=hub.headers("admin"))
    assert reply.status_code == 201, reply.text
    hub.totp[username] = reply.json()["totp_secret"]
    with hub.database.write() as connection:
        user_id = connection.execute(
            sa.select(users.c.user_id).where(users.c.username == username)
        ).scalar_one()
        for number in cases:
            connection.execute(
                case_assignments.insert().values(case_number=number, user_id=user_id)
            )
    created: dict[str, Any] = reply.json()["user"]
    return created


def old_read(hub: HubFixture, tag: str, *, days: int = 31, image: str | None = None) -> Any:
    """A read captured `days` ago with its own crop (and scene, unless `image` is given)."""
    now = hub.clock.now
    store = open_image_store(hub.settings)
    with hub.database.write() as connection:
        scene = image or store.put(tiny_jpeg(f"old-{tag}"))
        crop = store.put(tiny_jpeg(f"old-crop-{tag}"))
        row = {
            "read_id": uuid.uuid4().hex, "plate": f"OLD{tag}", "state": "WY", "confidence": 0.9,
            "captured_at": now - timedelta(days=days), "camera_id": "CAM-001", "direction": "NB",
            "make": "Ford", "model": "F-150", "color": "white", "body_type": "pickup",
            "features": [], "image_sha256": scene, "image_size": 10, "crop_sha256": crop,
            "crop_size": 10,
        }  # fmt: skip
        insert_reads(connection, [row], now=now)
    return row


def stored_count(hub: HubFixture, table: sa.Table, read_ids: list[str]) -> int:
    """How many rows of `table` (reads, read_changes) hold these read ids (UUIDs, with
    or without their dashes: the hub keeps the 32 hex digits)."""
    ids = [read_id.replace("-", "") for read_id in read_ids]
    with hub.database.read() as connection:
        count: int = connection.execute(
            sa.select(sa.func.count()).select_from(table).where(table.c.read_id.in_(ids))
        ).scalar_one()
    return count


def assign(hub: HubFixture, username: str, case_number: str) -> None:
    """Assign a user to a case (what an administrator's case tools record); once."""
    with hub.database.write() as connection:
        user_id = connection.execute(
            sa.select(users.c.user_id).where(users.c.username == username)
        ).scalar_one()
        done = connection.execute(
            sa.select(case_assignments.c.user_id).where(
                case_assignments.c.case_number == case_number,
                case_assignments.c.user_id == user_id,
            )
        ).first()
        if done is None:
            connection.execute(
                case_assignments.insert().values(case_number=case_number, user_id=user_id)
            )
