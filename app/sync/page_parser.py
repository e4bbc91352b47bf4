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

A packaged (frozen) workstation must call multiprocessing.freeze_support() at start
for the spawned process to run this module (the installer's job).
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import signal
import sys
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from pydantic import TypeAdapter, ValidationError

from app.cache.reads import CacheRow, cache_row
from app.core.canonical import canonical_json, page_checksum
from app.core.schemas import FeedPage

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

    It ends with its parent however the parent ends: on Linux the kernel sends it
    SIGTERM (PR_SET_PDEATHSIG); everywhere its request pipe reaches EOF, since only the
    parent holds the writing end (no pool's queue keeps a copy here).
    """
    _die_with_parent()
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        return
    while True:
        try:
            body = requests.recv_bytes()
        except (EOFError, OSError):
            return
        replies.send(parse_page(body))


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class PageParser:
    """Parses pages on the calling thread until `use_process`, then in a spawned process.

    Use it as a context manager: leaving it stops the process without waiting for a
    page it may still be parsing (a cancelled sync). Should the process die, the
    pages are parsed on the calling thread again. The process dies with its parent,
    even one killed with SIGKILL (see `_serve`).
    """

    def __init__(self) -> None:
        self._process: BaseProcess | None = None
        self._requests: Connection | None = None
        self._replies: Connection | None = None

    def __enter__(self) -> PageParser:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def in_process(self) -> bool:
        return self._process is not None

    @property
    def pid(self) -> int | None:
        """The parser process's id while it runs."""
        return self._process.pid if self._process is not None else None

    def use_process(self) -> None:
        """Parse the pages from now on in a process of their own (started now)."""
        if self._process is not None:
            return
        context = multiprocessing.get_context("spawn")
        child_requests, requests = context.Pipe(duplex=False)
        replies, child_replies = context.Pipe(duplex=False)
        process = context.Process(
            target=_serve,
            args=(child_requests, child_replies, os.getpid()),
            name="platedesk-page-parser",
            daemon=True,
        )
        process.start()
        # Only the child keeps its ends: the request pipe then ends when this process does.
        child_requests.close()
        child_replies.close()
        self._process, self._requests, self._replies = process, requests, replies

    def __call__(self, body: bytes) -> ParsedPage | str:
        requests, replies = self._requests, self._replies
        if requests is None or replies is None:
            return parse_page(body)
        try:
            requests.send_bytes(body)
            parsed: ParsedPage | str = replies.recv()
        except (EOFError, OSError):
            log.warning("the feed page parser process stopped; parsing on this thread")
            self.close()
            return parse_page(body)
        return parsed

    def close(self) -> None:
        process, self._process = self._process, None
        requests, self._requests = self._requests, None
        replies, self._replies = self._replies, None
        if process is not None:  # first, so a page being read on another thread ends (EOF)
            if process.is_alive():
                process.terminate()
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
            process.close()
        for end in (requests, replies):
            if end is not None:
                end.close()
