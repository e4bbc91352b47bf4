"""Cases, purposes and cameras: fetched from the hub, kept in the cache for offline use."""

from __future__ import annotations

from app.cache.catalog import CatalogRepository
from app.core.records import CameraInfo, CaseInfo, PurposeInfo
from app.services.session import Session


class CatalogService:
    def __init__(self, session: Session) -> None:
        self._s = session

    def refresh(self) -> None:
        """Fetch cases, purposes and cameras from the hub and keep them (remote)."""
        self._s.require()
        catalog = CatalogRepository(self._s.db())
        client = self._s.client
        catalog.replace_cases(client.cases())
        catalog.replace_purposes(client.purposes())
        catalog.replace_cameras(client.cameras())

    def cases(self) -> list[CaseInfo]:
        self._s.require()
        return CatalogRepository(self._s.db()).cases()

    def purposes(self) -> list[PurposeInfo]:
        self._s.require()
        return CatalogRepository(self._s.db()).purposes()

    def cameras(self) -> list[CameraInfo]:
        self._s.require()
        return CatalogRepository(self._s.db()).cameras()
