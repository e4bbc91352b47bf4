"""The error base classes: KnownError is for the user, BugError is for us."""

from __future__ import annotations


class PlatedeskError(Exception):
    """Base class of every error Platedesk raises on purpose."""


class KnownError(PlatedeskError):
    """A problem the user can understand and act on; its text is shown as it is."""


class BugError(PlatedeskError):
    """A broken invariant: a defect in Platedesk, reported with its details."""


class PatternError(KnownError):
    """A plate pattern that cannot be parsed; names the 1-based position."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at position {position}")
        self.position = position


class PolicyRefusal(KnownError):
    """A request the agency's policy refuses; the text is the policy reason."""
