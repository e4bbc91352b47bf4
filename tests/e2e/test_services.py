"""The services over a real hub: each method is local (works with the network cable
out) or remote (says the hub cannot be reached, by its kind), never both."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.core.errors import ErrorKind
from app.core.records import SearchQuery
from app.demo import totp_now
from app.sync.client import HubUnreachable
from app.workstation import Workstation
from tests.support.edge import SwitchableTransport
from tests.support.live_hub import JUSTIFICATION, SeededHub

pytestmark = pytest.mark.e2e


@pytest.fixture
def cable() -> SwitchableTransport:
    return SwitchableTransport()


@pytest.fixture
def desk(
    seeded_hub: SeededHub, tmp_path: Path, cable: SwitchableTransport
) -> Iterator[tuple[Workstation, str]]:
    user = seeded_hub.user("detective")
    ws = Workstation.open(profile_dir=tmp_path / "profile", hub_url=seeded_hub.url, transport=cable)
    ws.login(
        username=user["username"], password=user["password"], totp=totp_now(user["totp_secret"])
    )
    case = seeded_hub.case_for(user["username"])
    now = datetime.now(UTC)
    created = ws.slices.request(
        case_number=case, purpose="robbery", justification=JUSTIFICATION,
        time_from=now - timedelta(days=5), time_to=now,
    )  # fmt: skip
    ws.sync(slice_id=created.slice_id)
    yield ws, case
    ws.close()


def test_local_methods_answer_with_the_cable_out_and_remote_ones_say_so(
    desk: tuple[Workstation, str], cable: SwitchableTransport
) -> None:
    ws, case = desk
    cable.down = True
    # local: the cache alone
    assert ws.catalog.cases()
    assert ws.catalog.purposes()
    assert ws.catalog.cameras()
    assert ws.slices.list(case_number=case)
    page = ws.search.run(SearchQuery(case_number=case, purpose="robbery", pattern=None), limit=5)
    read = page.rows[0]
    mark = ws.evidence.mark(read_id=read.read_id, case_number=case, note="leaving the lot")
    assert mark.kind == "evidence"
    assert [h.status for h in ws.evidence.holds(case_number=case)] == ["pending"]
    assert ws.review.marks(read_id=read.read_id) == [mark]
    plan = ws.export.plan(case_number=case)
    assert plan.read_ids == [read.read_id]
    pending = ws.audit.status().pending
    assert pending > 0
    assert ws.audit.purge() == {"purged": 0, "kept_on_hold": 0}
    # remote: the hub, which is out of reach
    for remote in (ws.catalog.refresh, ws.alerts.list, ws.audit.upload):
        with pytest.raises(HubUnreachable) as caught:
            remote()
        assert caught.value.kind is ErrorKind.UNREACHABLE
    assert ws.evidence.deliver() == {"holds": 0, "refused": 0, "receipts": 0}  # it waits
    assert not ws.audit.check_hub().online

    cable.down = False  # back: the remote calls deliver what waited
    assert ws.audit.check_hub().online
    ws.evidence.deliver()
    assert [h.status for h in ws.evidence.holds(case_number=case)] == ["proposed"]
    assert ws.audit.upload() >= pending
    assert ws.audit.status().pending == 0
