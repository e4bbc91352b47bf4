"""Hotlist alerts: my alerts at the hub, a listener for new ones, their images, and the
verification steps and outcome of each (all remote; every step journaled)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.cache.reads import ReadRepository
from app.core.errors import KnownError, PolicyRefusal
from app.core.records import ALERT_OUTCOMES, AlertRecord
from app.core.schemas import AlertAcknowledgeCreate, AlertOutcome, acknowledgement_problem
from app.services.session import Session
from app.sync.alerts import AlertListener, alert_record
from app.sync.client import HubRefused


class AlertService:
    def __init__(self, session: Session) -> None:
        self._s = session

    def list(self, *, after: int = 0, limit: int = 100) -> list[AlertRecord]:
        """My hotlist alerts at the hub (assigned cases, my unit) after an alert id."""
        self._s.require()
        page = self._s.client.alerts(after=after, limit=limit)
        return [alert_record(alert) for alert in page.alerts]

    def listener(
        self,
        *,
        on_alert: Callable[[AlertRecord], None],
        on_state: Callable[[str], None] | None = None,
        after: int | None = None,
    ) -> AlertListener:
        """A listener for new alerts (not started: call start(), and stop() when done).

        `on_alert` runs on the listener's thread; a window marshals it to the GUI thread.
        """
        self._s.require()
        client = self._s.client
        return AlertListener(
            base_url=client.base_url,
            access_token=lambda: client.access_token,
            renew=self._s.renew_access,
            on_alert=on_alert,
            on_state=on_state,
            after=after,
            device_id=client.device_id,
            transport=self._s.transport,
        )

    def images(self, alert: AlertRecord) -> tuple[bytes, bytes] | None:
        """The scene and plate crop behind a hotlist alert, for the visual confirmation
        the policy requires: from the cache when the read is there, else from the hub
        (not kept: the read is not in a slice). Journaled as a view of the alert's
        read. None once the hub has purged the read."""
        self._s.require()
        if alert.image_sha256 is None or alert.crop_sha256 is None:
            return None
        repo = ReadRepository(self._s.db())
        images = []
        for sha256 in (alert.image_sha256, alert.crop_sha256):
            data = repo.image(sha256)
            images.append(self._s.client.image(sha256) if data is None else data)
        refs = {"alert_id": alert.alert_id, "read_id": alert.read_id,
                "image_sha256": alert.image_sha256}  # fmt: skip
        with self._s.journaled("image.view", object_refs=refs):
            pass
        return images[0], images[1]

    def acknowledge(
        self,
        *,
        alert_id: int,
        outcome: str,
        visual_confirmed: bool,
        state_match: bool,
        entry_confirmed: bool,
        note: str = "",
    ) -> AlertRecord:
        """Record the verification steps and the hit's outcome at the hub; journaled.

        An outcome of action_taken needs all three steps (the policy); a refusal, here
        or at the hub, is journaled too and raised with the reason.
        """
        if outcome not in ALERT_OUTCOMES:
            raise KnownError(
                f"'{outcome}' is not an alert outcome; choose one of: {', '.join(ALERT_OUTCOMES)}"
            )
        self._s.require()
        request = AlertAcknowledgeCreate(
            visual_confirmed=visual_confirmed,
            state_match=state_match,
            entry_confirmed=entry_confirmed,
            outcome=AlertOutcome(outcome),
            note=note,
        )
        params: dict[str, Any] = request.model_dump(mode="json")
        refs: dict[str, Any] = {"alert_id": alert_id}
        problem = acknowledgement_problem(request)
        try:
            if problem is not None:
                raise PolicyRefusal(problem)
            done = self._s.client.acknowledge_alert(alert_id, request)
        except (PolicyRefusal, HubRefused):
            with self._s.journaled(
                "alert.acknowledge", object_refs=refs, params=params, outcome="refused"
            ):
                pass
            raise
        refs.update(case_number=done.case_number, read_id=done.read_id, entry_id=done.entry_id)
        with self._s.journaled("alert.acknowledge", object_refs=refs, params=params):
            pass
        return alert_record(done)
