"""What the published OpenAPI says about errors, derived from how the hub answers them.

Every error the hub sends is `{"detail": "<one sentence>"}` (ErrorPublic): its own
refusals (HubError), request validation (a 422 with a sentence, not FastAPI's list of
errors), the body limit (413), NUL characters (422) and routing (404, 405). FastAPI's
generated schema documents 422 as `HTTPValidationError` (`detail` an array) and knows
nothing of the refusals made by dependencies, so after generation every operation's
error responses are rewritten from the same facts the hub acts on:
- 422 on every operation (validation, and NUL characters in the path or query), as
  ErrorPublic;
- 401, 403 (a revoked device, a revoked feed token) and 423 (a locked account) on
  every operation that takes a signed-in user's token; 401 and 403 on those that take
  a camera feed token;
- 413 on every operation with a request body (BodyLimitMiddleware).
Codes a route documents itself (error_responses) are kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute, compile_path

from hub.api.deps import get_current_user, get_feed

ERROR_SCHEMA = "ErrorPublic"
_ERROR_REF = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")
USER_TOKEN_ERRORS = (401, 403, 423)
FEED_TOKEN_ERRORS = (401, 403)
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def error_codes(route: APIRoute) -> set[int]:
    """The error statuses the hub itself may answer on this route (besides its own)."""
    calls = set(_calls(route.dependant))
    codes = {422}
    if get_current_user in calls:
        codes.update(USER_TOKEN_ERRORS)
    if get_feed in calls:
        codes.update(FEED_TOKEN_ERRORS)
    if (route.methods or set()) & BODY_METHODS:
        codes.add(413)
    return codes


def _error_response(code: int) -> dict[str, Any]:
    return {
        "description": HTTPStatus(code).phrase,
        "content": {"application/json": {"schema": dict(_ERROR_REF)}},
    }


def api_routes(routes: Sequence[BaseRoute]) -> Iterator[tuple[str, APIRoute]]:
    """Each API route with its full path (prefixes of included routers applied)."""
    for context in iter_route_contexts(routes):
        route = context.original_route
        if isinstance(route, APIRoute) and context.path_format:
            yield context.path_format, route


def document_errors(schema: dict[str, Any], routes: Sequence[BaseRoute]) -> None:
    """Rewrite `schema` (an OpenAPI document FastAPI generated) in place."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault(
        ERROR_SCHEMA,
        {
            "title": ERROR_SCHEMA,
            "type": "object",
            "description": "Every 4xx and 5xx body: a sentence naming the problem and what to do.",
            "properties": {"detail": {"title": "Detail", "type": "string"}},
            "required": ["detail"],
            "additionalProperties": False,
        },
    )
    for path, route in api_routes(routes):
        if not route.include_in_schema:
            continue
        operations = schema["paths"].get(path, {})
        for method in route.methods or ():
            operation = operations.get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for code in error_codes(route):
                responses.setdefault(str(code), _error_response(code))
            for code, response in responses.items():
                if code.startswith(("4", "5")):
                    for media in response.get("content", {}).values():
                        if media.get("schema", {}).get("$ref", "").endswith(_FASTAPI_VALIDATION):
                            media["schema"] = dict(_ERROR_REF)
                    if code == "422":
                        response["description"] = HTTPStatus(422).phrase
    for name in _FASTAPI_VALIDATION:
        components.pop(name, None)


def install_error_docs(app: FastAPI) -> None:
    """Make `app.openapi()` (and /openapi.json) publish the errors as the hub sends them."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            document_errors(schema, list(app.routes))
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def method_table(routes: Sequence[BaseRoute]) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """Each route's path pattern and methods, API routes and the docs' routes alike."""
    table: list[tuple[re.Pattern[str], frozenset[str]]] = []
    for context in iter_route_contexts(routes):
        methods = context.methods
        if context.path_format and methods:
            table.append((compile_path(context.path_format)[0], frozenset(methods)))
    return table


def allowed_methods(table: list[tuple[re.Pattern[str], frozenset[str]]], path: str) -> list[str]:
    """Every method some route answers on `path`, and OPTIONS (for the Allow header)."""
    allowed = {"OPTIONS"}
    for regex, methods in table:
        if regex.match(path):
            allowed.update(methods)
    return sorted(allowed)
