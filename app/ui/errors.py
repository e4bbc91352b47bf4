"""What the user sees when a background task fails."""

from __future__ import annotations

from app.core.errors import KnownError, is_offline

BUG_MESSAGE = "Something went wrong inside Platedesk; the details are in the log."


def user_message(exc: BaseException) -> str:
    """A KnownError's own text; anything else is a bug (already logged by the runner)."""
    if isinstance(exc, KnownError):
        return str(exc)
    return BUG_MESSAGE


def is_unreachable(exc: BaseException) -> bool:
    """Whether a failure means the hub could not be reached (the workstation is offline):
    decided on the error's kind (unreachable or timed out), never on its text."""
    return is_offline(exc)
