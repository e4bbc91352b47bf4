"""Change-feed pages parsed into the cache's row form, on the fetching thread or in a
process of their own.

Parsing a page of 1,000 reads (pydantic validation, then the cache's row form) is
pure Python and C that holds the GIL for 7 ms on a quiet machine and far longer
when the OS takes the CPU from that thread mid-parse: meanwhile the window's thread
cannot run, and the window stalls. A sync of one page parses it where it was
fetched; once the first page says more follow, PageParser starts a process
(spawned: no fork of a process with Qt threads) and the rest of the pages are
parsed there. What comes back is plain tuples, which unpickle in well under a
millisecond a page.

The process is app.spawn's: spawned, and dying with its parent.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from multiprocessing.connection import Connection

from pydantic import TypeAdapter, ValidationError

from app.cache.reads import CacheRow, cache_row
from app.core.canonical import canonical_json, page_checksum
from app.core.schemas import FeedPage
from app.spawn import Child, die_with_parent, spawn, stop

log = logging.getLogger(__name__)

_PAGE = TypeAdapter(FeedPage)
NOT_JSON = "The hub sent a change-feed page that is not JSON (it was cut off or damaged)."
NOT_READS = "The hub sent reads Platedesk cannot read; the page was not stored."
BAD_CHECKSUM = "The hub sent a change-feed page that fails its checksum."


@dataclass(frozen=True)
class ParsedPage:
    """A feed page that passed its checks, its reads in the cache's row form."""

    slice_id: str
    rows: list[CacheRow]
    tombstones: list[str]
    next_cursor: str
    has_more: bool


def parse_page(body: bytes) -> ParsedPage | str:
    """The page in `body`, or what is wrong with it (NOT_JSON, NOT_READS, BAD_CHECKSUM)."""
    try:
        page = _PAGE.validate_json(body)
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors()):
            return NOT_JSON
        return NOT_READS
    if not checksum_matches(body, page):
        return BAD_CHECKSUM
    return ParsedPage(
        slice_id=page.slice_id,
        rows=[cache_row(read) for read in page.reads],
        tombstones=page.tombstones,
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )


def checksum_matches(body: bytes, page: FeedPage) -> bool:
    """Whether the page's reads and tombstones are those its checksum covers.

    The checksum is page_checksum: SHA-256 over the canonical JSON of
    {"reads": ..., "tombstones": ...}. The hub sends that canonical JSON as is, so
    when the body is exactly `{"slice_id":..,` + those bytes + `,"next_cursor":..}`,
    hashing the bytes as received is the same check without encoding the page again.
    A body in any other (equivalent) form is checked the long way.
    """
    head = b'{"slice_id":' + canonical_json(page.slice_id) + b","
    tail = (
        b',"next_cursor":'
        + canonical_json(page.next_cursor)
        + (b',"has_more":true' if page.has_more else b',"has_more":false')
        + b',"checksum":'
        + canonical_json(page.checksum)
        + b"}"
    )
    if body.startswith(head) and body.endswith(tail) and len(body) > len(head) + len(tail):
        covered = body[len(head) : len(body) - len(tail)]
        if hashlib.sha256(b"{" + covered + b"}").hexdigest() == page.checksum:
            return True
    try:
        raw = json.loads(body)
    except ValueError:
        return False
    if not isinstance(raw, dict):
        return False
    return page_checksum(raw.get("reads", []), raw.get("tombstones", [])) == page.checksum


def _serve(requests: Connection, replies: Connection, parent_pid: int) -> None:
    """The parser process: parse each page body that arrives, until the pipe ends.

    It ends with its parent however the parent ends (app.spawn.die_with_parent, and
    its request pipe's EOF: only the parent holds the writing end).
    """
    if not die_with_parent(parent_pid):
        return
    while True:
        try:
            body = requests.recv_bytes()
        except (EOFError, OSError):
            return
        replies.send(parse_page(body))


class PageParser:
    """Parses pages on the calling thread until `use_process`, then in a spawned process.

    Use it as a context manager: leaving it stops the process without waiting for a
    page it may still be parsing (a cancelled sync). Should the process die, the
    pages are parsed on the calling thread again. The process dies with its parent,
    even one killed with SIGKILL (see `_serve`).
    """

    def __init__(self) -> None:
        self._child: Child | None = None

    def __enter__(self) -> PageParser:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def in_process(self) -> bool:
        return self._child is not None

    @property
    def pid(self) -> int | None:
        """The parser process's id while it runs."""
        return self._child.process.pid if self._child is not None else None

    def use_process(self) -> None:
        """Parse the pages from now on in a process of their own (started now)."""
        if self._child is None:
            self._child = spawn(_serve, name="platedesk-page-parser")

    def __call__(self, body: bytes) -> ParsedPage | str:
        child = self._child
        if child is None:
            return parse_page(body)
        try:
            child.requests.send_bytes(body)
            parsed: ParsedPage | str = child.replies.recv()
        except (EOFError, OSError):
            log.warning("the feed page parser process stopped; parsing on this thread")
            self.close()
            return parse_page(body)
        return parsed

    def close(self) -> None:
        child, self._child = self._child, None
        if child is not None:  # stopped first, so a page being read on another thread ends (EOF)
            stop(child.process)
            child.close()
