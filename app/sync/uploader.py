"""Delivering the journal to the hub's audit log.

Unsent events go in batches in sequence order; the hub acknowledges by
sequence number and event ids make a resend harmless. Offline, events wait in
the cache and survive restarts, and the upload raises HubUnreachable (kind
unreachable or timed out): the caller learns the truth and decides. A batch the
hub refuses (422: an event it cannot file, see hub.audit) also waits: nothing of
it is stored at the hub, the refusal is audited there, and `refusal` says why,
for the status line.
"""

from __future__ import annotations

import logging

from app.cache.journal import JournalRepository
from app.core.schemas import AuditBatch, AuditEventIn
from app.sync.client import HubClient, HubRefused

log = logging.getLogger(__name__)
BATCH = 500
UNPROCESSABLE = 422


class JournalUploader:
    def __init__(self, *, client: HubClient, journal: JournalRepository, device_id: str) -> None:
        self.client = client
        self.journal = journal
        self.device_id = device_id
        self.refusal: str | None = None  # the hub's reason, when it refused a batch

    def upload(self) -> int:
        """Send every pending event; return how many the hub acknowledged.

        Raises HubError when the hub cannot be reached (HubUnreachable) or answers
        something unreadable; the events not yet acknowledged wait for the next try."""
        delivered = 0
        while events := self.journal.pending(limit=BATCH):
            batch = AuditBatch(
                device_id=self.device_id,
                events=[AuditEventIn.model_validate(event) for event in events],
            )
            try:
                ack = self.client.post_audit(batch)
            except HubRefused as exc:
                if exc.status != UNPROCESSABLE:
                    raise
                self.refusal = str(exc)
                log.warning("the hub refused an audit batch; %d events wait", len(events))
                return delivered
            if ack.problems:
                log.warning("the hub reported audit chain problems: %s", "; ".join(ack.problems))
            marked = self.journal.mark_delivered(through_seq=ack.acked_seq)
            delivered += marked
            if marked == 0:
                return delivered
        return delivered
