"""Images in bulk: the frames of POST /api/v1/images:batch (hub and workstation alike).

A reply is the images asked for, in the order asked, each as one frame:

    64 bytes   the image's SHA-256, lower-case hex (ASCII)
     4 bytes   its length, unsigned big-endian; ABSENT (0xFFFFFFFF) when the hub
               will not give it (not in the caller's slices or alerts, or gone)
     n bytes   the JPEG itself (none when ABSENT)

Each image is checked against its SHA-256 by the receiver, as a single image is: a
frame only says which image the hub meant to send.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MEDIA_TYPE = "application/vnd.platedesk.images"
MAX_IMAGES = 256  # per request
ABSENT = 0xFFFF_FFFF
_HEADER = struct.Struct(">64sI")
HEADER_SIZE = _HEADER.size


class BatchFormatError(ValueError):
    """A reply that is not a sequence of whole frames."""


def frame(sha256: str, data: bytes | None) -> bytes:
    """One frame: the image's header and its bytes (None: the hub will not give it)."""
    if data is None:
        return _HEADER.pack(sha256.encode("ascii"), ABSENT)
    return _HEADER.pack(sha256.encode("ascii"), len(data)) + data


def frames(body: bytes) -> Iterator[tuple[str, bytes | None]]:
    """The (sha256, bytes or None) of each frame of a whole reply."""
    view = memoryview(body)
    offset = 0
    while offset < len(view):
        if offset + HEADER_SIZE > len(view):
            raise BatchFormatError("the reply ends inside a frame's header")
        name, length = _HEADER.unpack_from(view, offset)
        offset += HEADER_SIZE
        try:
            sha256 = name.decode("ascii")
        except UnicodeDecodeError:
            raise BatchFormatError("a frame's name is not a SHA-256") from None
        if length == ABSENT:
            yield sha256, None
            continue
        if offset + length > len(view):
            raise BatchFormatError("the reply ends inside an image")
        yield sha256, bytes(view[offset : offset + length])
        offset += length


class ImageBatchQuery(BaseModel):
    """The body of POST /api/v1/images:batch: the images wanted, by SHA-256."""

    model_config = ConfigDict(extra="forbid")

    sha256: list[Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]] = Field(
        min_length=1, max_length=MAX_IMAGES
    )
