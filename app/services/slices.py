"""Slices: asking the hub for the reads a case needs, and pulling them into the cache."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from app.cache.catalog import CatalogRepository
from app.cache.reads import ReadRepository
from app.core.errors import ErrorKind, KnownError, PolicyRefusal
from app.core.plates import parse_pattern
from app.core.records import SliceInfo, SyncProgress, SyncResult
from app.core.schemas import SliceCreate
from app.services.session import Session
from app.sync.client import HubRefused
from app.sync.feed import FeedPuller
from app.sync.images import ImagePipeline


class SliceService:
    def __init__(self, session: Session) -> None:
        self._s = session

    def request(
        self,
        *,
        case_number: str,
        purpose: str,
        justification: str,
        time_from: datetime,
        time_to: datetime,
        camera_ids: list[str] | None = None,
        plate_pattern: str | None = None,
    ) -> SliceInfo:
        """Ask the hub for the reads a case needs (remote); the hub validates and records
        the request, and the slice is kept with its journal event."""
        self._s.require()
        if plate_pattern:
            plate_pattern = parse_pattern(plate_pattern).text
        request = SliceCreate(
            case_number=case_number.strip(),
            purpose=purpose,
            justification=justification,
            time_from=time_from,
            time_to=time_to,
            camera_ids=camera_ids,
            plate_pattern=plate_pattern,
        )
        params = request.model_dump(mode="json", exclude={"justification"})
        try:
            created = self._s.client.create_slice(request)
        except HubRefused as exc:
            with self._s.journaled("slice.refused", params={**params, "reason": str(exc)}):
                pass
            if exc.kind is ErrorKind.POLICY_REFUSED:
                raise PolicyRefusal(str(exc)) from exc
            raise
        refs = {"slice_id": created.slice_id, "case_number": created.case_number}
        params["estimated_reads"] = created.estimated_reads
        with self._s.journaled("slice.request", object_refs=refs, params=params, mirror=True) as db:
            CatalogRepository(db).save_slice(created)
        slice_ = CatalogRepository(self._s.db()).slice(created.slice_id)
        assert slice_ is not None
        return slice_

    def list(self, *, case_number: str | None = None) -> list[SliceInfo]:
        """The slices in this profile (local)."""
        self._s.require()
        return CatalogRepository(self._s.db()).slices(case_number=case_number)

    def sync(
        self,
        *,
        slice_id: str | None = None,
        images: bool = False,
        progress: Callable[[SyncProgress], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> SyncResult:
        """Pull the change feed of one slice (or of every unexpired slice) into the cache
        (remote). The audit events it journaled are the caller's to send."""
        self._s.require()
        db = self._s.db()
        catalog = CatalogRepository(db)
        now = datetime.now(UTC)
        if slice_id is not None:
            one = catalog.slice(slice_id)
            if one is None:
                raise KnownError(f"There is no slice {slice_id} in this profile.")
            targets = [one]
        else:
            targets = [s for s in catalog.slices() if s.expires_at > now]
        puller = FeedPuller(client=self._s.client, reads=ReadRepository(db), catalog=catalog)
        reads = deleted = fetched = 0
        cancelled = False
        for target in targets:
            refs = {"slice_id": target.slice_id, "case_number": target.case_number}
            with self._s.journaled("sync.start", object_refs=refs):
                pass
            fetching = self._image_pipeline(cancel=cancel) if images else None
            try:
                result = puller.pull(
                    target.slice_id,
                    page_size=self._s.settings.feed_page_size,
                    estimated=target.estimated_reads,
                    progress=self._fetching_while(fetching, progress),
                    cancel=cancel,
                )
                cancelled = result.cancelled
                if fetching is not None and not cancelled:
                    fetched += self._finish_images(fetching, target.slice_id)
            finally:
                if fetching is not None:
                    fetching.pipeline.close()
            reads += result.added
            deleted += result.deleted
            counts = {"reads": result.applied, "deleted": result.deleted, "cancelled": cancelled}
            with self._s.journaled("sync.end", object_refs=refs, params=counts):
                pass
            if cancelled:
                break
        repo = ReadRepository(db)
        remaining = sum(repo.missing_image_count(slice_id=t.slice_id) for t in targets)
        return SyncResult(reads, fetched, deleted, cancelled, images_remaining=remaining)

    def _image_pipeline(self, *, cancel: threading.Event | None) -> _Images:
        repo = ReadRepository(self._s.db())
        pipeline = ImagePipeline(
            self._s.client, lambda batch: repo.put_images(batch.images), cancel=cancel
        )
        return _Images(pipeline, repo, repo.last_read_row())

    @staticmethod
    def _fetching_while(
        images: _Images | None, progress: Callable[[SyncProgress], None] | None
    ) -> Callable[[SyncProgress], None] | None:
        """After each applied page: queue the images of its reads (they travel while
        the next pages are pulled) and keep those that arrived; then report."""
        if images is None:
            return progress

        def after_page(report: SyncProgress) -> None:
            crops, scenes, images.last_row = images.repo.missing_images_since(images.last_row)
            images.pipeline.add(crops=crops, scenes=scenes)
            images.pipeline.drain()
            if progress is not None:
                progress(report)

        return after_page

    @staticmethod
    def _finish_images(images: _Images, slice_id: str) -> int:
        """The slice's images still missing (crops first), then wait for all of them:
        how many were kept."""
        crops, scenes = images.repo.missing_images_by_kind(slice_id=slice_id)
        images.pipeline.add(crops=crops, scenes=scenes)
        return images.pipeline.finish()


@dataclass
class _Images:
    """A sync's image pipeline, its cache repository and the last read row queued."""

    pipeline: ImagePipeline
    repo: ReadRepository
    last_row: int
