"""Work in a process of its own: spawned (never forked: the window's process has Qt
threads), talking to its parent over two one-way pipes, and dying with it.

Used by the sync's page parser (app.sync.page_parser) and the packet writer
(app.export.worker), so that their pure-Python work never holds the window
process's GIL. A packaged (frozen) workstation calls multiprocessing.freeze_support()
at start (packaging/platedesk_main.py, app/__main__.py) so a spawned child runs.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

# The child's entry point: its request pipe (read), its reply pipe (write), and the
# parent's process id (it stops at once if its parent is already gone).
Serve = Callable[[Connection, Connection, int], None]


@dataclass(frozen=True)
class Child:
    """A started child and this process's ends of its pipes."""

    process: BaseProcess
    requests: Connection  # to the child
    replies: Connection  # from the child

    def close(self) -> None:
        """Close this side's pipe ends and release the process (stop it first)."""
        self.requests.close()
        self.replies.close()
        self.process.close()


def spawn(serve: Serve, *, name: str) -> Child:
    """Start `serve` in a spawned process; raises OSError when it cannot start.

    Only the child keeps its ends of the pipes, so its request pipe reaches EOF when
    this process ends, however it ends.
    """
    context = multiprocessing.get_context("spawn")
    child_requests, requests = context.Pipe(duplex=False)
    replies, child_replies = context.Pipe(duplex=False)
    process = context.Process(
        target=serve, args=(child_requests, child_replies, os.getpid()), name=name, daemon=True
    )
    try:
        process.start()
    except BaseException:
        for end in (requests, replies):
            end.close()
        raise
    finally:
        child_requests.close()
        child_replies.close()
    return Child(process, requests, replies)


def stop(process: BaseProcess, *, wait_s: float = 0) -> None:
    """End a child: wait `wait_s` for it to end by itself, then SIGTERM, then SIGKILL."""
    if process.pid is None:  # never started
        return
    if wait_s and process.is_alive():
        process.join(timeout=wait_s)
    if process.is_alive():
        process.terminate()
        process.join(timeout=5)
    if process.is_alive():
        process.kill()
    process.join(timeout=5)


def die_with_parent(parent_pid: int) -> bool:
    """In the child: be sent SIGTERM when the parent dies (Linux; elsewhere the request
    pipe's EOF ends the child). False when the parent died before that took effect."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    return os.getppid() == parent_pid
