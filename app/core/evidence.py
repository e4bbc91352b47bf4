"""The case's evidence record: hold states and the fixed list of legal bases.

A read marked as evidence is held for its case at the hub. A hold is "proposed"
(a detective marked it), "confirmed" (an evidence technician or a supervisor
accepted it), "refused" (they did not; the read is not protected), or "released"
(a supervisor let it go, with a reason; the purge may take the read once past
retention). Proposed and confirmed holds protect the read from the purge.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable

from app.core.errors import ErrorKind, KnownError

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


# Several images in one answer of the evidence grant: for each, its SHA-256 (64 hex
# characters), its length (8 bytes, big-endian) and its bytes.
FRAMED = "application/x-platedesk-images"
_LENGTH = struct.Struct(">Q")


class CorruptImages(KnownError):
    kind = ErrorKind.CORRUPT


def frame_images(images: Iterable[tuple[str, bytes]]) -> bytes:
    parts = []
    for sha256, data in images:
        parts += [sha256.encode("ascii"), _LENGTH.pack(len(data)), data]
    return b"".join(parts)


def unframe_images(body: bytes, wanted: list[str]) -> dict[str, bytes]:
    """The images of a framed answer, each checked against its SHA-256, exactly the ones
    asked for; CorruptImages otherwise (nothing is kept)."""
    images: dict[str, bytes] = {}
    view, position = memoryview(body), 0
    while position < len(body):
        head = position + 64 + _LENGTH.size
        if head > len(body):
            raise CorruptImages("The hub's images arrived cut short; nothing was kept.")
        sha256 = bytes(view[position : position + 64]).decode("ascii", "replace")
        (length,) = _LENGTH.unpack(view[position + 64 : head])
        data = bytes(view[head : head + length])
        if len(data) != length or hashlib.sha256(data).hexdigest() != sha256:
            raise CorruptImages(
                f"An image from the hub ({sha256[:12]}…) does not match its fingerprint "
                "(SHA-256); nothing was kept."
            )
        images[sha256] = data
        position = head + length
    if sorted(images) != sorted(set(wanted)):
        raise CorruptImages("The hub did not send the images asked for; nothing was kept.")
    return images
