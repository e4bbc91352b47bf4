"""The evidence grant's framing of several images, and the fixed list of legal bases."""

from __future__ import annotations

import hashlib

import pytest

from app.core.evidence import (
    CorruptImages,
    InvalidLegalBasis,
    frame_images,
    unframe_images,
    validate_legal_basis,
)


def _image(tag: bytes) -> tuple[str, bytes]:
    data = b"\xff\xd8" + tag * 50
    return hashlib.sha256(data).hexdigest(), data


def test_images_come_back_as_sent_and_checked() -> None:
    first, second = _image(b"a"), _image(b"b")
    body = frame_images([first, second])
    assert unframe_images(body, [second[0], first[0]]) == dict([first, second])


def test_a_flipped_byte_a_cut_or_a_missing_image_keeps_nothing() -> None:
    first, second = _image(b"a"), _image(b"b")
    body = bytearray(frame_images([first, second]))
    body[-1] ^= 0xFF
    with pytest.raises(CorruptImages, match="does not match its fingerprint"):
        unframe_images(bytes(body), [first[0], second[0]])
    with pytest.raises(CorruptImages, match="cut short"):
        unframe_images(frame_images([first])[:40], [first[0]])
    with pytest.raises(CorruptImages, match="not send the images asked for"):
        unframe_images(frame_images([first]), [first[0], second[0]])


def test_a_legal_basis_from_the_list_or_a_message_listing_them() -> None:
    assert validate_legal_basis(" Search_Warrant ") == "search_warrant"
    with pytest.raises(InvalidLegalBasis, match="use one of active_investigation"):
        validate_legal_basis("hunch")
