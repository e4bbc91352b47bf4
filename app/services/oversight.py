"""Oversight: the supervisors' review queue of flagged searches, and the questions
(justification requests) a user must answer (all remote; decisions and answers
journaled).

Who may do what is the hub's to say: a supervisor reviews their unit's items, an
administrator every unit's, and nobody their own searches; anyone else is refused
(and the hub audits the attempt). A refusal is journaled here too and raised with
the hub's sentence."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from app.core.errors import ErrorKind, KnownError
from app.core.schemas import (
    JustificationAnswerCreate,
    JustificationRequestPublic,
    RecentSearchPublic,
    ReviewBulkApproveCreate,
    ReviewDecisionCreate,
    ReviewItemPublic,
    ReviewReadsPublic,
)
from app.services.session import Session
from app.sync.client import HubRefused

DECISIONS = ("approve", "request_justification", "refer")
STATUSES = ("pending", "all", "open", "justification_requested", "answered", "approved",
            "referred")  # fmt: skip
DECISION_ACTION = "review.decision"
ANSWER_ACTION = "review.answer"
READS_ACTION = "review.reads"  # a reviewer viewed the reads a flagged search returned
IMAGE_ACTION = "review.image"  # ... and one of their images
MAX_BULK = 200
T = TypeVar("T")


class ReviewInputError(KnownError):
    """A decision, status or answer that cannot be sent as it is."""

    kind = ErrorKind.INVALID


class OversightService:
    def __init__(self, session: Session) -> None:
        self._s = session

    # the supervisor's queue ----------------------------------------------------------
    def queue(
        self,
        *,
        status: str = "pending",
        rule: str | None = None,
        user: str | None = None,
        case_number: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> list[ReviewItemPublic]:
        """The flagged searches of my unit (every unit for an administrator), never my
        own; by status, rule, user, case and time of the search (`since` inclusive,
        `until` exclusive), all chosen at the hub; most severe first, then newest first,
        as the hub orders them; a page of `limit`, the next one `after` its last item."""
        if status not in STATUSES:
            raise ReviewInputError(
                f"'{status}' is not a review status; use one of: {', '.join(STATUSES)}."
            )
        self._s.require()
        return self._s.client.review_items(
            status=status, limit=limit, user=user, case_number=case_number, rule=rule,
            since=since, until=until, after=after,
        )  # fmt: skip

    def item(self, item_id: str) -> ReviewItemPublic:
        """One flagged search with its whole context (rules, history, recent searches)."""
        self._s.require()
        return self._s.client.review_item(item_id)

    def searches_around(self, item_id: str, *, hours: int = 24) -> list[RecentSearchPublic]:
        """The flagged user's searches from `hours` before to `hours` after this one."""
        self._s.require()
        return self._s.client.review_searches(item_id, hours=hours)

    def reads(self, item_id: str) -> ReviewReadsPublic:
        """The reads the flagged search returned: no case assignment needed; the hub
        audits the viewing and it is journaled here (never the plates)."""
        self._s.require()
        refs: dict[str, Any] = {"item_id": item_id}
        try:
            shown = self._s.client.review_reads(item_id)
        except HubRefused:
            with self._s.journaled(READS_ACTION, object_refs=refs, outcome="refused"):
                pass
            raise
        params = {"basis": shown.basis, "total": shown.total, "shown": len(shown.reads)}
        with self._s.journaled(READS_ACTION, object_refs=refs, params=params):
            pass
        return shown

    def image(self, item_id: str, sha256: str) -> bytes:
        """An image of one of those reads (the hub grants it for a while after reads());
        journaled; never kept in the cache, which holds only my own slices."""
        self._s.require()
        refs: dict[str, Any] = {"item_id": item_id, "image_sha256": sha256}
        return self._journaled(IMAGE_ACTION, refs, {}, lambda: self._s.client.image(sha256))

    def approve_sample(self, item_ids: list[str], *, note: str = "") -> list[ReviewItemPublic]:
        """Approve low-severity random-sample items together: the hub refuses the whole
        batch if any is not one; each approval journaled (a refusal once)."""
        ids = list(dict.fromkeys(item_ids))
        if not ids:
            raise ReviewInputError("Choose at least one random-sample item to approve.")
        if len(ids) > MAX_BULK:
            raise ReviewInputError(
                f"Approve at most {MAX_BULK} items at once; you chose {len(ids)}."
            )
        self._s.require()
        body = ReviewBulkApproveCreate(item_ids=ids, note=note)
        params: dict[str, Any] = {"decision": "approve", "note": note, "bulk": True}
        try:
            decided = self._s.client.approve_sample(body)
        except HubRefused:
            refused: dict[str, Any] = {"item_ids": ids}
            with self._s.journaled(
                DECISION_ACTION, object_refs=refused, params=params, outcome="refused"
            ):
                pass
            raise
        for item in decided:
            refs = {"item_id": item.item_id, "case_number": item.case_number,
                    "username": item.username}  # fmt: skip
            with self._s.journaled(DECISION_ACTION, object_refs=refs, params=params):
                pass
        return decided

    def decide(self, item_id: str, *, decision: str, note: str = "") -> ReviewItemPublic:
        """Approve, request a justification (the note is the question) or refer (the
        note says why and to whom); journaled, a refusal too."""
        if decision not in DECISIONS:
            raise ReviewInputError(
                f"'{decision}' is not a review decision; use one of: {', '.join(DECISIONS)}."
            )
        self._s.require()
        body = ReviewDecisionCreate(decision=decision, note=note)
        refs: dict[str, Any] = {"item_id": item_id}
        params: dict[str, Any] = {"decision": decision, "note": note}
        return self._journaled(
            DECISION_ACTION, refs, params, lambda: self._s.client.decide_review(item_id, body)
        )

    # the user's side: questions about my flagged searches ------------------------------
    def inbox(self) -> list[JustificationRequestPublic]:
        """The justification requests waiting for my answer, oldest first."""
        self._s.require()
        return self._s.client.justification_requests()

    def answer(self, item_id: str, *, text: str) -> None:
        """Answer a supervisor's question; the item goes back to the queue ("answered")."""
        if not text.strip():
            raise ReviewInputError("The answer is empty; say what the case needed this search for.")
        self._s.require()
        body = JustificationAnswerCreate(answer=text.strip())
        self._journaled(
            ANSWER_ACTION,
            {"item_id": item_id},
            {"answer": body.answer},
            lambda: self._s.client.answer_justification(item_id, body.answer),
        )

    def _journaled(
        self, action: str, refs: dict[str, Any], params: dict[str, Any], call: Callable[[], T]
    ) -> T:
        """Run the remote call, then journal it: "ok", or "refused" and raise."""
        try:
            done = call()
        except HubRefused:
            with self._s.journaled(action, object_refs=refs, params=params, outcome="refused"):
                pass
            raise
        if isinstance(done, ReviewItemPublic):
            refs = {**refs, "case_number": done.case_number, "username": done.username}
        with self._s.journaled(action, object_refs=refs, params=params):
            pass
        return done
