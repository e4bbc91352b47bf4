"""`platedesk-hub demo-seed`: users, cases, cameras and days of simulated reads.

Everything derives from --seed: the same seed gives the same users, passwords,
TOTP secrets, cameras, vehicles and plates (read ids and capture times follow
the moment of seeding, which ends the window).
"""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from app.core.schemas import HotlistEntryCreate, Role
from hub.catalog import create_case
from hub.core.config import HubSettings
from hub.core.db import Database
from hub.core.security import PasswordService
from hub.hotlists import add_entry, record_hits
from hub.images import open_image_store
from hub.simulate.traffic import camera_facing, ensure_cameras, generate_traffic, write_bulk
from hub.slices import Caller
from hub.users import create_user

DEMO_UNIT = "Investigations"  # the supervisor reviews the flagged searches of this unit
USERS = (
    ("detective", "Det. Dana Ruiz", Role.DETECTIVE, DEMO_UNIT),
    ("technician", "Evidence Tech. Sam Okafor", Role.EVIDENCE_TECHNICIAN, DEMO_UNIT),
    ("supervisor", "Sgt. Lee Harmon", Role.SUPERVISOR, DEMO_UNIT),
    ("admin", "Admin Pat Kim", Role.ADMIN, None),
)
CASES = (
    ("2026-004211", "Armed robbery, Frontier Mall parking lot", "robbery"),
    ("2026-004387", "Hit and run, Dell Range Blvd", "hit_and_run"),
    ("2026-004502", "Stolen pickup, Pershing Blvd", "stolen_vehicle"),
)
# A partner agency's detective on the robbery case: their slices await the supervisor's
# approval (hub.partners). Seeded after the home-agency users.
PARTNER = ("partner", "Dep. Chris Vale", Role.DETECTIVE, "Laramie County Sheriff's Office")
PARTNER_CASE = CASES[0][0]
HOTLIST_PLATE = "17K2RTB"  # a vehicle of interest of hub.simulate.traffic


def derive_secret(seed: int, username: str) -> tuple[str, str]:
    """A user's demo password (>= 12 characters) and base32 TOTP secret, from the seed."""
    rng = random.Random(f"{seed}:{username}")
    words = ("juniper", "prairie", "antelope", "granite", "meadow", "bison", "canyon", "aspen")
    first, second = rng.sample(words, 2)  # one word twice scored too weak (hub.passwords)
    password = f"{first}-{second}-{rng.randint(1000, 9999)}"
    totp_secret = base64.b32encode(rng.randbytes(20)).decode("ascii").rstrip("=")
    return password, totp_secret


@dataclass(frozen=True)
class SeedOptions:
    cameras: int = 6
    days: int = 3
    reads_per_day: int = 400  # per camera
    seed: int = 7


def seed_demo(
    settings: HubSettings, database: Database, options: SeedOptions, *, now: datetime
) -> dict[str, Any]:
    """Fill an empty hub with demo data; returns what `demo-seed` prints."""
    rng = random.Random(options.seed)
    passwords = PasswordService(settings)
    store = open_image_store(settings)
    training = date(now.year + 1, now.month, min(now.day, 28))
    ids: dict[str, int] = {}
    with database.write() as connection:

        def add_user(
            username: str, display: str, role: Role, unit: str | None, agency: str | None = None
        ) -> dict[str, str]:
            password, totp_secret = derive_secret(options.seed, username)
            ids[username] = create_user(
                connection, passwords, username=username, password=password, role=role,
                totp_secret=totp_secret, now=now, display_name=display,
                training_valid_until=training, unit=unit, partner_agency=agency,
            )  # fmt: skip
            printed = {"username": username, "password": password, "totp_secret": totp_secret,
                       "role": role.value}  # fmt: skip
            return printed | ({"partner_agency": agency} if agency else {})

        users_out = [add_user(*user) for user in USERS]
        username, display, role, agency = PARTNER
        partners_out = [add_user(username, display, role, None, agency)]
        cases_out = []
        for number, title, offense in CASES:
            assigned = ["detective", "technician"]
            if number == PARTNER_CASE:
                assigned.append(PARTNER[0])
            create_case(
                connection, case_number=number, title=title, offense_category=offense, now=now,
                pattern=settings.case_number_pattern,
                assigned_user_ids=[ids[name] for name in assigned],
            )  # fmt: skip
            cases_out.append({"case_number": number, "assigned": assigned})
        camera_ids = ensure_cameras(connection, rng, options.cameras)
        facing = camera_facing(connection)

    rows, specs = generate_traffic(
        rng, camera_ids, days=options.days, reads_per_day=options.reads_per_day, now=now,
        facing=facing,
    )  # fmt: skip
    count = write_bulk(database, store, rows, specs, now=now)
    with database.write() as connection:
        alerts = seed_hotlist(
            connection, rows, supervisor_id=ids["supervisor"], now=now,
            case_number_pattern=settings.case_number_pattern,
        )  # fmt: skip
    return {
        "users": users_out,
        "partner_users": partners_out,  # apart: "users" lists the home agency's accounts
        "cases": cases_out,
        "reads": count,
        "alerts": alerts,
    }


def seed_hotlist(
    connection: Connection,
    rows: list[dict[str, Any]],
    *,
    supervisor_id: int,
    now: datetime,
    case_number_pattern: str,
) -> int:
    """The stolen pickup of case 2026-004502 on the hotlist (added by the supervisor),
    and the alerts its seeded sightings (misreads too) would have raised."""
    supervisor = Caller(user_id=supervisor_id, username="supervisor", role=Role.SUPERVISOR,
                        session_id="demo-seed")  # fmt: skip
    add_entry(
        connection,
        supervisor,
        HotlistEntryCreate(
            plate=HOTLIST_PLATE, state="TX", reason="Pickup stolen from Pershing Blvd",
            source="NCIC stolen vehicle", case_number=CASES[2][0],
            expires_at=now + timedelta(days=30),
        ),
        now=now,
        case_number_pattern=case_number_pattern,
    )  # fmt: skip
    return record_hits(connection, rows, now=now)
