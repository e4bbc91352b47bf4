"""What the user sees when a background task fails."""

from __future__ import annotations

from app.core.errors import KnownError

BUG_MESSAGE = "Something went wrong inside Platedesk; the details are in the log."
UNREACHABLE_PREFIX = "Cannot reach the hub"


def user_message(exc: BaseException) -> str:
    """A KnownError's own text; anything else is a bug (already logged by the runner)."""
    if isinstance(exc, KnownError):
        return str(exc)
    return BUG_MESSAGE


def is_unreachable(exc: BaseException) -> bool:
    """Whether a failure means the hub could not be reached (the workstation is offline)."""
    return isinstance(exc, KnownError) and str(exc).startswith(UNREACHABLE_PREFIX)
