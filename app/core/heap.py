"""Long-lived start-up objects kept out of the garbage collector's full passes."""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Collect once, then freeze what is alive (gc.freeze), so later passes skip it.

    Python's full (oldest-generation) collection walks every tracked object and
    holds the GIL while it does. After start-up a process holds a few hundred
    thousand long-lived objects (modules, Qt wrappers, the FastAPI app and its
    schemas, SQLAlchemy's tables): in the window a full pass over them during a
    large sync took 100-370 ms, the window frozen all that time; in a hub worker
    they were walked again for each request's garbage, some 12% of the CPU of a
    batch ingest. What is allocated afterwards is collected as usual, and frozen
    objects still die by reference counting.
    """
    gc.collect()
    gc.freeze()
