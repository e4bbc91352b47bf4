"""The case's evidence record: hold states and the fixed list of legal bases.

A read marked as evidence is held for its case at the hub. A hold is "proposed"
(a detective marked it), "confirmed" (an evidence technician or a supervisor
accepted it), "refused" (they did not; the read is not protected), or "released"
(a supervisor let it go, with a reason; the purge may take the read once past
retention). Proposed and confirmed holds protect the read from the purge.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from app.core.errors import ErrorKind, KnownError
from app.core.image_batch import MEDIA_TYPE, BatchFormatError, frame, frames

HOLD_STATES = ("proposed", "confirmed", "released", "refused")
STANDING = frozenset({"proposed", "confirmed"})  # the holds that protect their read

# The legal basis of a hold: a short reason from this fixed list, plus free text.
LEGAL_BASES: dict[str, str] = {
    "active_investigation": "Evidence in an active criminal investigation",
    "search_warrant": "Named in or obtained under a search warrant",
    "court_order": "Preservation ordered by a court",
    "subpoena": "Subject of a subpoena",
    "prosecution": "Disclosed or to be disclosed to the prosecution",
    "defense_discovery": "Requested in defense discovery",
    "litigation_hold": "Litigation hold on the agency",
    "internal_affairs": "Internal affairs or complaint review",
}
DEFAULT_LEGAL_BASIS = "active_investigation"


class InvalidLegalBasis(KnownError):
    kind = ErrorKind.INVALID


def validate_legal_basis(code: str) -> str:
    """The legal basis code, or a message listing the codes there are."""
    value = code.strip().lower()
    if value not in LEGAL_BASES:
        raise InvalidLegalBasis(
            f"{code!r} is not a legal basis for a hold; use one of {', '.join(LEGAL_BASES)}."
        )
    return value


# Several images in one answer of the evidence grant: the frames of the image batch
# (app.core.image_batch: each image's SHA-256, its length and its bytes).
FRAMED = MEDIA_TYPE


class CorruptImages(KnownError):
    kind = ErrorKind.CORRUPT


def frame_images(images: Iterable[tuple[str, bytes]]) -> bytes:
    return b"".join(frame(sha256, data) for sha256, data in images)


def unframe_images(body: bytes, wanted: list[str]) -> dict[str, bytes]:
    """The images of a framed answer, each checked against its SHA-256, exactly the ones
    asked for; CorruptImages otherwise (nothing is kept)."""
    images: dict[str, bytes] = {}
    try:
        for sha256, data in frames(body):
            if data is None or hashlib.sha256(data).hexdigest() != sha256:
                raise CorruptImages(
                    f"An image from the hub ({sha256[:12]}…) does not match its fingerprint "
                    "(SHA-256); nothing was kept."
                )
            images[sha256] = data
    except BatchFormatError:
        raise CorruptImages("The hub's images arrived cut short; nothing was kept.") from None
    if sorted(images) != sorted(set(wanted)):
        raise CorruptImages("The hub did not send the images asked for; nothing was kept.")
    return images
