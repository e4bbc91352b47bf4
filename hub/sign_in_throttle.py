"""Sign-in throttling: failed sign-ins counted by name and by address.

Failed sign-ins are counted by the name tried (known or not) and by the client's
address, and throttle further tries (429 with Retry-After) without checking the
password: five failures of one name from one address within 15 minutes, twenty from
one address, a hundred of one name from anywhere. They never lock an account, so a
guesser cannot keep the real user out from another address (an administrator locks
an account: hub.admin routes).
"""

from __future__ import annotations

import math
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.policy import FAILED_SIGN_IN_WINDOW, MAX_FAILED_SIGN_INS
from hub.db.tables import failed_sign_ins
from hub.errors import HubError

# Failed sign-ins that throttle further tries within FAILED_SIGN_IN_WINDOW.
MAX_FAILED_PER_NAME_AND_ADDRESS = MAX_FAILED_SIGN_INS
MAX_FAILED_PER_ADDRESS = 20
MAX_FAILED_PER_NAME = 100


class Throttled(HubError):
    """Too many failed sign-ins for this name or from this address: 429, Retry-After."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            429,
            "Too many failed sign-ins from this address or for this user name; "
            f"try again in {retry_after} seconds.",
        )
        self.retry_after = retry_after


def _wait_for(failures: list[datetime], limit: int, *, now: datetime) -> int | None:
    """Seconds until fewer than `limit` of these failures (newest first) are recent."""
    if len(failures) < limit:
        return None
    free_at = failures[limit - 1] + FAILED_SIGN_IN_WINDOW
    return max(1, math.ceil((free_at - now).total_seconds()))


def throttle_wait(
    connection: Connection, *, username: str, address: str, now: datetime
) -> int | None:
    """Seconds this name or address must wait before another try, or None."""
    since = now - FAILED_SIGN_IN_WINDOW
    waits = []
    for condition, limit in (
        (
            sa.and_(failed_sign_ins.c.username == username, failed_sign_ins.c.address == address),
            MAX_FAILED_PER_NAME_AND_ADDRESS,
        ),
        (failed_sign_ins.c.address == address, MAX_FAILED_PER_ADDRESS),
        (failed_sign_ins.c.username == username, MAX_FAILED_PER_NAME),
    ):
        recent = list(
            connection.execute(
                sa.select(failed_sign_ins.c.failed_at)
                .where(condition, failed_sign_ins.c.failed_at > since)
                .order_by(failed_sign_ins.c.failed_at.desc())
                .limit(limit)
            ).scalars()
        )
        wait = _wait_for(recent, limit, now=now)
        if wait is not None:
            waits.append(wait)
    return max(waits) if waits else None


def record_failure(connection: Connection, *, username: str, address: str, now: datetime) -> None:
    """Count one failed sign-in (and forget those older than the window)."""
    connection.execute(
        failed_sign_ins.delete().where(failed_sign_ins.c.failed_at <= now - FAILED_SIGN_IN_WINDOW)
    )
    connection.execute(
        failed_sign_ins.insert().values(username=username, address=address, failed_at=now)
    )


def forget_failures(connection: Connection, *, username: str, address: str | None = None) -> None:
    """Clear a name's failures (from one address, or from every one)."""
    condition = failed_sign_ins.c.username == username
    if address is not None:
        condition = sa.and_(condition, failed_sign_ins.c.address == address)
    connection.execute(failed_sign_ins.delete().where(condition))
