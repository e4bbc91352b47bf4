"""The hub context: what every request handler needs, built once per app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from hub.core.config import HubSettings
from hub.core.db import Database
from hub.core.security import CursorSigner, PasswordService, TokenService
from hub.db.types import to_ms
from hub.images import ImageStore
from hub.notify import ChangeListener

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Now, in UTC, to the millisecond."""
    return to_ms(datetime.now(UTC))


@dataclass
class HubContext:
    settings: HubSettings
    database: Database
    passwords: PasswordService
    tokens: TokenService
    cursors: CursorSigner
    images: ImageStore
    clock: Clock
    # On PostgreSQL, while the app runs: the other nodes' changes (hub.notify).
    listener: ChangeListener | None = None
