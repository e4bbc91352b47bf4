"""Searches and analyses over the cached slices (local), and saved searches.

Every search and analysis is journaled with its exact parameters and result count
before it is answered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.cache.analysis import AnalysisRepository
from app.cache.catalog import CatalogRepository
from app.cache.connection import CacheError, Database
from app.cache.review import ReviewRepository
from app.cache.search import SearchRepository
from app.core.canonical import utc_iso
from app.core.errors import KnownError
from app.core.plates import normalize_plate
from app.core.records import (
    NEWEST_FIRST,
    Associate,
    PlaceMatch,
    ReadRecord,
    SavedSearch,
    SearchCursor,
    SearchOrder,
    SearchPage,
    SearchQuery,
    query_to_dict,
)
from app.services.session import Session


class SearchService:
    def __init__(self, session: Session) -> None:
        self._s = session

    def _require_slice(self, case_number: str, purpose: str) -> Database:
        """This thread's cache, once it is sure the user holds reads for the case and purpose."""
        self._s.require()
        db = self._s.db()
        if not any(
            s.purpose == purpose for s in CatalogRepository(db).slices(case_number=case_number)
        ):
            raise KnownError(
                f"You hold no reads for case {case_number} under this purpose; request "
                "the reads the case needs first."
            )
        return db

    def _journal_search(self, params: dict[str, Any], *, result_count: int) -> None:
        """Record a search (its exact parameters and result count) before answering it."""
        try:
            with self._s.journaled(
                "search",
                object_refs={"case_number": params["case_number"]},
                params={**params, "result_count": result_count},
            ):
                pass
        except CacheError:
            raise
        except Exception as exc:
            raise KnownError(
                "The search was not run because the audit journal cannot record it; "
                "check the disk and try again."
            ) from exc

    def run(
        self,
        query: SearchQuery,
        *,
        order: SearchOrder = NEWEST_FIRST,
        after: SearchCursor | None = None,
        limit: int = 200,
    ) -> SearchPage:
        """A page of cached reads for the case and purpose, in `order`.

        The first page is journaled (with its order, when not newest first: a
        re-sort is a new look at the results); later pages continue the cursor.
        """
        repo = SearchRepository(self._require_slice(query.case_number, query.purpose))
        if after is not None:
            return repo.page(query, order=after.order, after=after, limit=limit)
        total = repo.count(query)
        params = query_to_dict(query)
        if order != NEWEST_FIRST:
            params["order"] = order.label
        self._journal_search(params, result_count=total)
        page = repo.page(query, order=order, after=None, limit=limit)
        return SearchPage(rows=page.rows, next_cursor=page.next_cursor, total=total)

    # analyses -----------------------------------------------------------------
    def sightings(self, *, case_number: str, purpose: str, plate: str) -> list[ReadRecord]:
        """Every cached read of one plate in the case, oldest first (journaled as a search)."""
        repo = AnalysisRepository(self._require_slice(case_number, purpose))
        found = repo.sightings(case_number=case_number, purpose=purpose, plate=plate)
        self._journal_search(
            {"analysis": "sightings", "case_number": case_number, "purpose": purpose,
             "plate": normalize_plate(plate)},
            result_count=len(found),
        )  # fmt: skip
        return found

    def associates(
        self,
        *,
        case_number: str,
        purpose: str,
        plate: str,
        window_seconds: int = 60,
        min_cameras: int = 2,
    ) -> list[Associate]:
        """Vehicles seen with a plate: same camera within the window, at several cameras."""
        repo = AnalysisRepository(self._require_slice(case_number, purpose))
        found = repo.associates(
            case_number=case_number,
            purpose=purpose,
            plate=plate,
            window_seconds=window_seconds,
            min_cameras=min_cameras,
        )
        self._journal_search(
            {"analysis": "associates", "case_number": case_number, "purpose": purpose,
             "plate": normalize_plate(plate), "window_seconds": window_seconds,
             "min_cameras": min_cameras},
            result_count=len(found),
        )  # fmt: skip
        return found

    def multi_place(
        self,
        *,
        case_number: str,
        purpose: str,
        places: list[list[str]],
        time_from: datetime | None = None,
        time_to: datetime | None = None,
    ) -> list[PlaceMatch]:
        """Plates seen at every one of several places (camera groups) within the window."""
        if len(places) < 2 or not all(places):
            raise KnownError("Choose at least two places, each with at least one camera.")
        repo = AnalysisRepository(self._require_slice(case_number, purpose))
        found = repo.multi_place(
            case_number=case_number,
            purpose=purpose,
            places=places,
            time_from=time_from,
            time_to=time_to,
        )
        self._journal_search(
            {"analysis": "multi_place", "case_number": case_number, "purpose": purpose,
             "places": places,
             "time_from": None if time_from is None else utc_iso(time_from),
             "time_to": None if time_to is None else utc_iso(time_to)},
            result_count=len(found),
        )  # fmt: skip
        return found

    # saved searches ---------------------------------------------------------------
    def save(self, *, name: str, query: SearchQuery) -> SavedSearch:
        """Keep a search under a name for its case (the case and purpose are not saved)."""
        name = " ".join(name.split())
        if not name:
            raise KnownError("Give the saved search a name.")
        self._s.require()
        kept = {
            k: v for k, v in query_to_dict(query).items() if k not in ("case_number", "purpose")
        }
        refs = {"case_number": query.case_number}
        with self._s.journaled(
            "search.save", object_refs=refs, params={"name": name, **kept}
        ) as db:
            saved_id = ReviewRepository(db).save_search(
                case_number=query.case_number, name=name, query=kept
            )
        return next(s for s in self.saved(case_number=query.case_number) if s.saved_id == saved_id)

    def saved(self, *, case_number: str) -> list[SavedSearch]:
        self._s.require()
        return ReviewRepository(self._s.db()).saved_searches(case_number=case_number)

    def delete_saved(self, saved_id: int) -> None:
        self._s.require()
        with self._s.journaled("search.unsave", params={"saved_id": saved_id}) as db:
            if not ReviewRepository(db).delete_saved_search(saved_id):
                raise KnownError("That saved search no longer exists.")
