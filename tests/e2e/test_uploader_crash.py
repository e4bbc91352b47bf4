"""The journal uploader killed at random points loses and duplicates nothing at the hub."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.demo import totp_now
from app.workstation import Workstation
from tests.support.live_hub import SeededHub

pytestmark = pytest.mark.e2e
EVENTS = 4000


def _hub_events(hub: SeededHub) -> int:
    report = json.loads(hub.hub_cli("audit-verify").stdout)
    assert report["chains_ok"], report["problems"]
    return int(report["events"])


def test_killing_the_uploader_loses_and_duplicates_no_event(
    seeded_hub: SeededHub, tmp_path: Path
) -> None:
    user = seeded_hub.user("detective")
    profile = tmp_path / "profile"
    workstation = Workstation.open(profile_dir=profile, hub_url=seeded_hub.url)
    workstation.login(
        username=user["username"], password=user["password"], totp=totp_now(user["totp_secret"])
    )
    for n in range(EVENTS):
        with workstation.core.journaled("test.event", params={"n": n}):
            pass
    assert workstation.audit.status().pending == EVENTS
    before = _hub_events(seeded_hub)

    rng = random.Random(20261123)
    kills = 0
    for _ in range(3):
        delivered = workstation.audit.status().delivered
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "--profile", str(profile), "journal", "upload"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Wait until this uploader has delivered a batch, then kill it at a random moment.
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            if workstation.audit.status().delivered > delivered:
                time.sleep(rng.uniform(0.0, 0.3))
                break
            time.sleep(0.02)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait(timeout=30)

    while workstation.audit.status().pending:
        assert workstation.audit.upload() > 0
    status = workstation.audit.status()
    workstation.close()
    assert status.chain_ok
    assert status.delivered == EVENTS + 1  # and the sign-in
    assert _hub_events(seeded_hub) == before + EVENTS
    assert kills >= 1, "no upload was interrupted: the test proved nothing"
