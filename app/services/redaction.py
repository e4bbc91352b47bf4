"""A packet's derived copy (redacted and/or enhanced) of one original.

A module-level function, so the packet writer's process (app.export.worker) gets it
by reference, as a partial over the read's DerivedSpec, and imports only this, the
redaction and the packet modules to run it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from app.export.packet import DerivedCopy
from app.vision.redact import DerivedSpec, derive


def derived_copy(spec: DerivedSpec, original: bytes) -> DerivedCopy:
    image = derive(original, spec)
    return DerivedCopy(data=image.png, preview_jpeg=image.preview_jpeg, operations=image.operations)


def deriver(spec: DerivedSpec) -> Callable[[bytes], DerivedCopy]:
    """What the packet writer calls with the original's bytes (picklable)."""
    return functools.partial(derived_copy, spec)
