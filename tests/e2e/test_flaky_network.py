"""Sync and journal delivery through a network that drops, cuts and corrupts responses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest

from app.demo import totp_now
from app.workstation import Workstation
from tests.support.flaky_proxy import FlakyProxy
from tests.support.live_hub import JUSTIFICATION, SeededHub

pytestmark = pytest.mark.e2e


def test_sync_through_a_flaky_network_gets_exactly_the_hubs_reads(
    seeded_hub: SeededHub, tmp_path: Path
) -> None:
    proxy = FlakyProxy(
        upstream_port=int(urlparse(seeded_hub.url).port or 0),
        schedule=("ok", "truncate", "ok", "drop", "corrupt", "ok"),
    )
    url = proxy.start()
    user = seeded_hub.user("detective")
    workstation = Workstation.open(profile_dir=tmp_path / "profile", hub_url=url)
    try:
        workstation.login(
            username=user["username"], password=user["password"], totp=totp_now(user["totp_secret"])
        )
        settings = workstation.settings
        settings.feed_page_size = 50
        now = datetime.now(UTC)
        created = workstation.slices.request(
            case_number=seeded_hub.case_for(user["username"]),
            purpose="robbery",
            justification=JUSTIFICATION,
            time_from=now - timedelta(days=5),
            time_to=now,
        )
        proxy.enabled = True
        result = workstation.sync(slice_id=created.slice_id)
        assert proxy.seen["truncate"] >= 2
        assert proxy.seen["drop"] >= 2
        assert proxy.seen["corrupt"] >= 2
        assert result.reads == created.estimated_reads
        rows = workstation.db().execute(
            "SELECT read_id FROM slice_reads WHERE slice_id = ?", (created.slice_id,)
        )
        cached = [row[0] for row in rows]
        assert len(cached) == len(set(cached)) == created.estimated_reads

        proxy.enabled = False
        while workstation.audit.status().pending:
            assert workstation.audit.upload() > 0
        assert workstation.audit.status().chain_ok
    finally:
        workstation.close()
        proxy.stop()
    verified = seeded_hub.hub_cli("audit-verify")
    assert '"chains_ok": true' in verified.stdout
