"""The packet written in a process of its own, so its CPU work never holds this one's GIL.

Writing a packet is mostly pure Python (the report's pages, the manifests, JSON,
the redacted copies' bookkeeping): on a thread of the window's process it takes
the GIL in 5 ms turns, and a search's first page waits behind each turn (issue 19:
p95 71 ms during a 1,000-read export against 33 ms idle). So `write_in_child`
spawns a process (spawned: no fork of a process with Qt threads) that runs
`write_packet`, while this process keeps what needs the cache: the images and the
audit excerpt's events reach the child over a pipe when it asks for them, one at a
time, so memory stays flat as it does in process.

The protocol (the child asks, the parent answers; the parent sends nothing unasked
but the job and "cancel"):

    parent -> child   the PacketJob; then one answer per question: an image's
                      bytes, or a batch of excerpt events (an empty one: no more);
                      or CANCEL, after which the parent answers nothing more
    child -> parent   ("image", index), ("events",), ("progress", stage, done,
                      total), then one of ("done", BuiltPacket), ("error",
                      KnownError), ("bug", type name, traceback without the message)

Progress arrives as ExportProgress calls on the caller's thread; a cancel Event set
there is passed on, and the child stops at its next step, removes its partial
packet and says so. A child that dies (killed, out of memory) ends the export with
a clear ExportFailed; the parent then removes what it left (the partial folder or
ZIP, and the packet itself if it died after the rename but before saying "done"),
so no half packet is left. The child dies with its parent (on Linux
PR_SET_PDEATHSIG; everywhere EOF on its pipe) and removes its partial packet when
it is sent SIGTERM. It runs at a lower priority (nice 10): where cores are few and
busy, the window's threads get the CPU first and the packet takes longer.

The signing key travels to the child over the pipe (never in a log, never on disk).
A packaged (frozen) workstation calls multiprocessing.freeze_support() at start
(packaging/platedesk_main.py, app/__main__.py) so the spawned child becomes this.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import select
import shutil
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.core.errors import BugError, KnownError
from app.export.packet import (
    AuditExcerpt,
    BuiltPacket,
    CancelFlag,
    Derived,
    ExportCancelled,
    ExportFailed,
    ExportProgress,
    HubCustody,
    Original,
    PacketInfo,
    packet_name,
    write_packet,
)
from app.spawn import die_with_parent, spawn, stop

log = logging.getLogger(__name__)

CANCEL = "cancel"
EVENT_BATCH = 2_000  # audit excerpt events per answer
CANCEL_GRACE_S = 10.0  # how long a cancelled child has to stop on its own before it is killed
NICENESS = 10  # the child's priority below the window's (POSIX nice)
POLL_S = 0.05  # how often the parent looks at the cancel Event while the child works
DIED = (
    "The packet writer stopped unexpectedly ({how}); no packet was written. Export again; "
    "if it stops again, the computer may be short of memory."
)
CANCELLED = "The export was cancelled; no packet was written."


@dataclass(frozen=True)
class OriginalRef:
    """An original image the child asks for by its index in the job's list."""

    name: str
    sha256: str
    read_id: str
    kind: str


@dataclass(frozen=True)
class PacketJob:
    """What the child needs besides the images and the excerpt's events (all picklable:
    each Derived's `make` must be a module-level function or a partial of one)."""

    info: PacketInfo
    reads: Sequence[Mapping[str, Any]]
    originals: Sequence[OriginalRef]
    custody: Sequence[Mapping[str, Any]]
    excerpt_device_id: str
    excerpt_first_seq: int
    excerpt_start_hash: str
    excerpt_case_seqs: Sequence[int]
    key: bytes  # the device key's 32 raw bytes
    out_dir: Path
    zip: bool = False
    derived: Mapping[str, Derived] = field(default_factory=dict)
    hub_custody: HubCustody | None = None

    def write(
        self,
        originals: list[Original],
        excerpt: AuditExcerpt,
        *,
        progress: Callable[[ExportProgress], None] | None,
        cancel: CancelFlag | None,
    ) -> BuiltPacket:
        """The packet written on the calling thread, its images and excerpt given."""
        return write_packet(
            info=self.info,
            reads=self.reads,
            originals=originals,
            custody=self.custody,
            excerpt=excerpt,
            key=Ed25519PrivateKey.from_private_bytes(self.key),
            out_dir=self.out_dir,
            zip=self.zip,
            derived=self.derived,
            hub_custody=self.hub_custody,
            progress=progress,
            cancel=cancel,
        )


def raw_key(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        encoding=serialization.Encoding.Raw,
        format=serialization.PrivateFormat.Raw,
        encryption_algorithm=serialization.NoEncryption(),
    )


def write_in_child(
    job: PacketJob,
    *,
    image: Callable[[int], bytes],
    events: Iterable[Mapping[str, Any]],
    progress: Callable[[ExportProgress], None] | None = None,
    cancel: threading.Event | None = None,
    started: Callable[[int], None] | None = None,
) -> BuiltPacket:
    """Write the job's packet in a spawned process; `image(i)` gives the bytes of
    job.originals[i] and `events` the audit excerpt's events, both on this thread as the
    child asks for them. Raises what write_packet raises (ExportCancelled, ExportFailed,
    another KnownError such as a redaction that cannot be applied), ExportFailed when
    the child dies, BugError when it fails on a defect. `started(pid)` is told the
    child's process id once it runs (tests kill it)."""
    name = packet_name(
        case_number=job.info.case_number,
        packet_id=job.info.packet_id,
        bagged_at=job.info.bagged_at,
    )
    final = job.out_dir / (f"{name}.zip" if job.zip else name)
    existed = final.exists()
    try:
        child = spawn(_serve, name="platedesk-packet-writer")
    except OSError as exc:
        raise ExportFailed(
            f"The packet writer could not start ({exc.strerror or exc}); no packet was "
            "written. Close other programs and export again."
        ) from exc
    process = child.process
    ended = False
    try:
        if started is not None and process.pid is not None:
            started(process.pid)
        child.requests.send(job)
        built = _serve_child(
            process, child.requests, child.replies, image, iter(events), progress, cancel
        )
        ended = True
        return built
    except BaseException:
        stop(process)  # SIGTERM: the child removes its partial packet
        if not existed:
            _remove_left(job.out_dir, name, final)
        raise
    finally:
        # it ends by itself once it has said how the packet ended
        stop(process, wait_s=5 if ended else 0)
        child.close()


def _serve_child(
    process: BaseProcess,
    requests: Connection,
    replies: Connection,
    image: Callable[[int], bytes],
    events: Iterator[Mapping[str, Any]],
    progress: Callable[[ExportProgress], None] | None,
    cancel: threading.Event | None,
) -> BuiltPacket:
    """Answer the child's questions until it says how the packet ended."""
    cancelled_at: float | None = None
    ready = _waiter(replies)
    while True:
        if cancel is not None and cancel.is_set() and cancelled_at is None:
            cancelled_at = time.monotonic()
            _send(requests, CANCEL)
        if cancelled_at is not None and time.monotonic() - cancelled_at > CANCEL_GRACE_S:
            log.warning("the cancelled packet writer did not stop; ending it")
            raise ExportCancelled(CANCELLED)
        try:
            if not ready():
                continue
            message = replies.recv()
        except (EOFError, OSError):
            raise ExportFailed(DIED.format(how=_how_it_ended(process))) from None
        what = message[0]
        if what == "image":
            if cancelled_at is None:
                _send(requests, image(int(message[1])))
        elif what == "events":
            if cancelled_at is None:
                batch = [dict(event) for _, event in zip(range(EVENT_BATCH), events, strict=False)]
                _send(requests, batch)
        elif what == "progress":
            if progress is not None:
                progress(ExportProgress(stage=message[1], done=message[2], total=message[3]))
        elif what == "done":
            built: BuiltPacket = message[1]
            return built
        elif what == "error":
            raise message[1]
        elif what == "bug":
            log.error("the packet writer failed on a defect (%s):\n%s", message[1], message[2])
            raise BugError(f"The packet writer failed ({message[1]}); see the log.")
        else:
            raise BugError(f"The packet writer sent an unknown message: {what!r}")


def _waiter(replies: Connection) -> Callable[[], bool]:
    """Whether the child said something, waiting up to POLL_S: one select.poll call where
    there is one (Connection.poll goes through the selectors module, several times the
    Python per message on the thread that shares the GIL with the window's searches)."""
    if not hasattr(select, "poll"):  # Windows
        return lambda: replies.poll(POLL_S)
    poller = select.poll()
    poller.register(replies.fileno(), select.POLLIN | select.POLLHUP | select.POLLERR)
    timeout_ms = int(POLL_S * 1000)
    return lambda: bool(poller.poll(timeout_ms))


def _send(requests: Connection, answer: Any) -> None:
    with contextlib.suppress(OSError):  # the child has ended: its last words (or EOF) come next
        requests.send(answer)


def _how_it_ended(process: BaseProcess) -> str:
    process.join(timeout=5)
    code = process.exitcode
    if code is None:
        return "it stopped answering"
    if code < 0:
        try:
            return f"ended by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"ended by signal {-code}"
    return f"exit code {code}"


def _remove_left(out_dir: Path, name: str, final: Path) -> None:
    """Whatever a child that did not finish left behind: never a half packet."""
    shutil.rmtree(out_dir / f".{name}.partial", ignore_errors=True)
    (out_dir / f".{name}.zip.partial").unlink(missing_ok=True)
    if final.is_dir():
        shutil.rmtree(final, ignore_errors=True)
    else:
        final.unlink(missing_ok=True)


# the child ---------------------------------------------------------------------------


class _Parent:
    """The child's side of the pipes: questions and their answers, and whether the
    parent said "cancel" (it may say so in place of any answer)."""

    def __init__(self, requests: Connection, replies: Connection) -> None:
        self._requests = requests
        self._replies = replies
        self._cancelled = False

    def is_set(self) -> bool:  # the cancel Event write_packet checks at each step
        if not self._cancelled:
            try:
                while self._requests.poll(0):
                    if self._requests.recv() == CANCEL:
                        self._cancelled = True
            except (EOFError, OSError):
                self._cancelled = True  # the parent is gone: stop
        return self._cancelled

    def ask(self, *question: Any) -> Any:
        if self.is_set():
            raise ExportCancelled(CANCELLED)
        self.say(*question)
        try:
            answer = self._requests.recv()
        except (EOFError, OSError):
            answer = CANCEL
        if isinstance(answer, str) and answer == CANCEL:
            self._cancelled = True
            raise ExportCancelled(CANCELLED)
        return answer

    def say(self, *message: Any) -> None:
        self._replies.send(message)


def _serve(requests: Connection, replies: Connection, parent_pid: int) -> None:
    """The child: write the one packet it is sent, then end."""
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # write_packet removes its partial
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _yield_cpu()
    if not die_with_parent(parent_pid):
        return
    parent = _Parent(requests, replies)
    try:
        job: PacketJob = requests.recv()
    except (EOFError, OSError):
        return
    try:
        built = _write(job, parent)
    except KnownError as exc:
        exc.__traceback__ = None
        try:
            parent.say("error", exc)
        except (TypeError, AttributeError, pickle.PicklingError):  # one that cannot travel
            parent.say("error", ExportFailed(str(exc)))
    except SystemExit:
        return
    except BaseException as exc:  # a defect: its type and where, not its message (data)
        parent.say("bug", type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__)))
    else:
        parent.say("done", built)


def _write(job: PacketJob, parent: _Parent) -> BuiltPacket:
    def loader(index: int) -> Callable[[], bytes]:
        def load() -> bytes:
            data: bytes = parent.ask("image", index)
            return data

        return load

    def events() -> Iterator[Mapping[str, Any]]:
        while batch := parent.ask("events"):
            yield from batch

    def progress(step: ExportProgress) -> None:
        parent.say("progress", step.stage, step.done, step.total)

    originals = [
        Original(name=ref.name, sha256=ref.sha256, load=loader(index), read_id=ref.read_id,
                 kind=ref.kind)
        for index, ref in enumerate(job.originals)
    ]  # fmt: skip
    excerpt = AuditExcerpt(
        device_id=job.excerpt_device_id,
        first_seq=job.excerpt_first_seq,
        start_hash=job.excerpt_start_hash,
        case_seqs=job.excerpt_case_seqs,
        events=events(),
    )
    return job.write(originals, excerpt, progress=progress, cancel=parent)


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _yield_cpu() -> None:
    """Background work: where the cores are few and busy, the window's threads come first."""
    with contextlib.suppress(AttributeError, OSError):  # os.nice is POSIX only
        os.nice(NICENESS)
