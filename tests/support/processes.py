"""The processes a process started (Linux /proc), to check that none outlives a crash.
Elsewhere (no /proc) nothing is found."""

from __future__ import annotations

import time
from pathlib import Path


def _parents() -> dict[int, int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # it ended while we looked
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if fields[0] != "Z":  # a zombie has ended; it only waits to be reaped
            parents[int(stat.parent.name)] = int(fields[1])
    return parents


def descendants(pid: int) -> set[int]:
    """The live processes below `pid` (children, their children...)."""
    parents = _parents()
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        children = {child for child, parent in parents.items() if parent in frontier}
        frontier = children - found
        found |= children
    return found


def alive(pids: set[int]) -> set[int]:
    """Those of `pids` still running (not ended, not zombies)."""
    return pids & set(_parents())


def wait_gone(pids: set[int], *, within_s: float = 30.0) -> set[int]:
    """Wait until `pids` have all ended (or the time is up); the ones left."""
    deadline = time.monotonic() + within_s
    while (left := alive(pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left
