"""The error base classes: KnownError is for the user, BugError is for us.

A KnownError may carry a kind (ErrorKind): code decides on the kind, people read
the message. The hub sends the kind of its refusals on the wire (`"kind"` beside
`"detail"`), so the workstation never has to read a sentence to know what happened.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    """What went wrong, for code to decide on (the message is for people)."""

    UNREACHABLE = "unreachable"  # no connection to the hub (refused, no route, reset)
    TIMED_OUT = "timed_out"  # connected (or trying), but the hub did not answer in time
    POLICY_REFUSED = "policy_refused"  # the agency's policy refuses the request
    SESSION_EXPIRED = "session_expired"  # the tokens are no longer good: sign in again
    DEVICE_REVOKED = "device_revoked"  # the agency revoked this workstation
    CONFLICT = "conflict"  # the request clashes with the hub's current state
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"  # signed in, but not allowed
    INVALID = "invalid"  # the request itself is wrong (a bad value)
    REFUSED = "refused"  # any other refusal (e.g. too many attempts)
    HUB_FAILED = "hub_failed"  # the hub had an internal problem (HTTP 5xx)
    CORRUPT = "corrupt"  # the hub's answer cannot be read or does not match its checksum
    INSECURE = "insecure"  # plain http:// to another computer: refused before connecting
    UNTRUSTED = "untrusted"  # the hub's TLS certificate is not trusted (no or wrong CA bundle)

    @property
    def offline(self) -> bool:
        """Whether this kind means the hub could not be reached: the desk works offline."""
        return self in (ErrorKind.UNREACHABLE, ErrorKind.TIMED_OUT)


KIND_FIELD = "kind"  # the field of a hub error body that carries its ErrorKind


class PlatedeskError(Exception):
    """Base class of every error Platedesk raises on purpose."""


class KnownError(PlatedeskError):
    """A problem the user can understand and act on; its text is shown as it is.

    `kind` says what happened, for code; None where no kind applies."""

    kind: ErrorKind | None = None


class BugError(PlatedeskError):
    """A broken invariant: a defect in Platedesk, reported with its details."""


class PatternError(KnownError):
    """A plate pattern that cannot be parsed; names the 1-based position."""

    kind = ErrorKind.INVALID

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at position {position}")
        self.position = position


class PolicyRefusal(KnownError):
    """A request the agency's policy refuses; the text is the policy reason."""

    kind = ErrorKind.POLICY_REFUSED


def error_kind(exc: BaseException) -> ErrorKind | None:
    """The kind of a failure: a KnownError's own, None for anything else (a bug)."""
    return exc.kind if isinstance(exc, KnownError) else None


def is_offline(exc: BaseException) -> bool:
    """Whether a failure means the hub could not be reached (unreachable or timed out)."""
    kind = error_kind(exc)
    return kind is not None and kind.offline
