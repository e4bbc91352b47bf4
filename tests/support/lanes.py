"""Asking the window's lanes for work, as the desk does, from a GUI test."""

from __future__ import annotations

from app.core.records import SearchQuery
from app.ui.workers import Lane, TaskRunner
from app.workstation import Workstation


def search_total_on_cache_lane(
    runner: TaskRunner, workstation: Workstation, query: SearchQuery
) -> list[int]:
    """Run a search's first page on the cache lane; its total (-1 if it failed) lands in
    the returned list on the GUI thread."""
    answered: list[int] = []
    runner.run(
        lambda: workstation.search.run(query, limit=200).total,
        on_success=answered.append,
        on_failure=lambda exc: answered.append(-1),
        lane=Lane.CACHE,
    )
    return answered
