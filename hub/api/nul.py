"""NUL characters are refused at the API edge, in every text input, with one clear 422.

Why: PostgreSQL cannot store U+0000 in text (it refused with a vague error) while
SQLite stored it, so the same request did different things on the two databases, and
a NUL in a stored name or note cuts it short in C-based tools. No field of the API has
a use for it. Checked before routing: the path, the query string, the headers, and a text body
(JSON, CSV, form); a binary body (images, the binary read batch) is left to its route.
A pure ASGI middleware placed inside BodyLimitMiddleware, so the body it reads is
already bounded (and replayed to the app).
"""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# \u0000 escaped in JSON: an odd number of backslashes before "u0000" (an even number
# is a literal backslash followed by the text "u0000").
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded")
NO_BODY_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})


def nul_message(where: str) -> str:
    return (
        f"The request holds a NUL character (U+0000) in {where}; no text the hub "
        "takes may contain it. Remove it and send the request again."
    )


def _refusal(where: str) -> JSONResponse:
    return JSONResponse({"detail": nul_message(where)}, status_code=422)


def holds_nul(value: Any) -> bool:
    """Whether parsed JSON (a binary body's header) has a NUL in a string or a key."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(key) or holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(holds_nul(item) for item in value)
    return False


def _is_text(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media.startswith(_TEXT_TYPES) or media.endswith("+json")


def body_has_nul(body: bytes, content_type: str) -> bool:
    if b"\x00" in body:
        return True
    media = content_type.split(";")[0].strip().lower()
    if b"\\u0000" in body and _JSON_NUL.search(body):
        return "json" in media
    return media == "application/x-www-form-urlencoded" and b"%00" in body


class NulRefusalMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"]:
            await _refusal("the path")(scope, receive, send)
            return
        query: bytes = scope.get("query_string", b"")
        if b"\x00" in query or b"%00" in query:
            await _refusal("the query string")(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if any(b"\x00" in value for value in headers.values()):
            await _refusal("a header")(scope, receive, send)
            return
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        if scope["method"] in NO_BODY_METHODS or not _is_text(content_type):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body_has_nul(body, content_type):
            await _refusal("the body")(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
