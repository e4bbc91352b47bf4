"""Errors the hub answers with: a status code and one sentence for the user."""

from __future__ import annotations

from app.core.errors import ErrorKind, KnownError


class HubError(KnownError):
    """A refusal the API turns into `{"detail": message}` with `status_code`, and
    `"kind"` when the refusal has one the workstation decides on (ErrorKind)."""

    def __init__(self, status_code: int, message: str, kind: ErrorKind | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.kind = kind


def not_found(message: str) -> HubError:
    return HubError(404, message)


def forbidden(message: str, kind: ErrorKind | None = None) -> HubError:
    return HubError(403, message, kind)


def unprocessable(message: str) -> HubError:
    return HubError(422, message)


def unauthorized(message: str) -> HubError:
    return HubError(401, message)
