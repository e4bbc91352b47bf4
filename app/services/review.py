"""Reviewing reads: the read and its images, misread marks, the case's outcomes.

Images come from the cache (`cached_image`, local) or the hub (`fetch_image`,
remote, kept in the cache); a caller that wants either composes the two."""

from __future__ import annotations

from collections.abc import Callable

from app.cache.connection import Database
from app.cache.reads import ReadRepository
from app.cache.review import ReviewRepository
from app.core.errors import KnownError
from app.core.plates import normalize_plate
from app.core.records import SEARCH_OUTCOMES, ReadRecord, ReviewMark
from app.services.session import Session


class ReviewService:
    def __init__(self, session: Session) -> None:
        self._s = session

    # reads and images ---------------------------------------------------------------
    def read(self, read_id: str) -> ReadRecord:
        self._s.require()
        record = ReadRepository(self._s.db()).get(read_id)
        if record is None:
            raise KnownError(f"The read {read_id} is not in this cache (it may have been purged).")
        return record

    def cached_image(self, sha256: str, *, read_id: str) -> bytes | None:
        """A read's image or plate crop from the cache, journaled as a view (local);
        None when it is not cached yet (then `fetch_image`)."""
        self._s.require()
        repo = ReadRepository(self._s.db())
        if not repo.uses_image(read_id, sha256):
            raise KnownError("That image does not belong to a read in this cache.")
        data = repo.image(sha256)
        if data is None:
            return None
        with self._s.journaled(
            "image.view", object_refs={"read_id": read_id, "image_sha256": sha256}
        ):
            pass
        return data

    def fetch_image(self, sha256: str, *, read_id: str) -> bytes:
        """A read's image fetched from the hub (remote), kept in the cache and journaled
        as a view in the same transaction."""
        self._s.require()
        if not ReadRepository(self._s.db()).uses_image(read_id, sha256):
            raise KnownError("That image does not belong to a read in this cache.")
        data = self._s.client.image(sha256)
        with self._s.journaled(
            "image.view", object_refs={"read_id": read_id, "image_sha256": sha256}, mirror=True
        ) as db:
            ReadRepository(db).put_image(sha256, data)
        return data

    def cached_crop(self, read_id: str) -> tuple[str, bytes | None]:
        """The plate crop shown beside a result row, from the cache (local): its SHA-256,
        and its bytes or None when not cached (then `fetch_crop`).

        Not journaled on its own: the crop belongs to a result row, which was
        journaled with its search; opening the read's image is journaled as a view."""
        self._s.require()
        repo = ReadRepository(self._s.db())
        sha256 = repo.crop_sha256(read_id)
        if sha256 is None:
            raise KnownError("That read is not in this cache.")
        return sha256, repo.image(sha256)

    def fetch_crop(self, sha256: str) -> bytes:
        """A plate crop from the hub (remote), kept in the cache."""
        self._s.require()
        data = self._s.client.image(sha256)
        ReadRepository(self._s.db()).put_image(sha256, data)
        return data

    # marks ---------------------------------------------------------------------------
    def mark_misread(
        self, *, read_id: str, case_number: str, corrected_plate: str, note: str = ""
    ) -> ReviewMark:
        """Record that the reader got a plate wrong, with the plate the image shows."""
        corrected = normalize_plate(corrected_plate)
        if not corrected:
            raise KnownError("Give the plate as the image shows it (letters and digits).")
        return self.add_mark(
            "misread", read_id=read_id, case_number=case_number, corrected=corrected, note=note
        )

    def add_mark(
        self,
        kind: str,
        *,
        read_id: str,
        case_number: str,
        corrected: str | None,
        note: str,
        also: Callable[[Database], None] | None = None,
    ) -> ReviewMark:
        """A review mark and its journal event (and `also`'s effect) in one transaction."""
        session = self._s.require()
        if ReadRepository(self._s.db()).get(read_id) is None:
            raise KnownError(f"The read {read_id} is not in this cache (it may have been purged).")
        refs = {"read_id": read_id, "case_number": case_number}
        params = {"corrected_plate": corrected, "note": note}
        with self._s.journaled(f"review.{kind}", object_refs=refs, params=params) as db:
            mark_id = ReviewRepository(db).add_mark(
                read_id=read_id,
                case_number=case_number,
                kind=kind,
                corrected_plate=corrected,
                note=note,
                marked_by=session.username,
            )
            if also is not None:
                also(db)
        return next(m for m in self.marks(read_id=read_id) if m.mark_id == mark_id)

    def marks(
        self, *, read_id: str | None = None, case_number: str | None = None
    ) -> list[ReviewMark]:
        self._s.require()
        return ReviewRepository(self._s.db()).marks(read_id=read_id, case_number=case_number)

    def record_outcome(
        self, *, case_number: str, purpose: str, outcome: str, note: str = ""
    ) -> None:
        """Record what the case's searches led to, so the agency can report results."""
        if outcome not in SEARCH_OUTCOMES:
            raise KnownError(
                f"'{outcome}' is not a search outcome; choose one of: {', '.join(SEARCH_OUTCOMES)}"
            )
        self._s.require()
        refs = {"case_number": case_number}
        with self._s.journaled(
            "search.outcome", object_refs=refs, params={"purpose": purpose, "outcome": outcome,
                                                        "note": note}
        ):  # fmt: skip
            pass
