"""The OpenAPI document tells the truth about error bodies.

FastAPI documents its own 422 body (``detail`` as a list of pydantic errors), but
this app answers every API error with ``ErrorOut`` (a Russian ``detail`` plus
per-field ``errors``), and the JSON API can also answer 400 (a body that is not
JSON at all), 413 (``LKK_MAX_BODY_BYTES``) and 415 (not ``application/json``,
``api.json_only``). schemathesis checks responses
against this document (tests/test_api_fuzz.py), so it must say so.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.requests import Request
from starlette.routing import Match

from api.json_only import CHECKED_METHODS, EXEMPT_PATHS

ERROR_REF = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}}
EXTRA_BODY_ERRORS = {
    "400": "Тело запроса не разобрано (не JSON или не UTF-8).",
    "413": "Слишком большой запрос.",
    "415": "Ожидается Content-Type: application/json.",
    "422": "Проверьте поля запроса.",
}


RATE_LIMITED = {
    "title": "RateLimitedOut",
    "type": "object",
    "required": ["detail", "retry_after_seconds"],
    "properties": {"detail": {"type": "string"}, "retry_after_seconds": {"type": "integer"}},
}


def allowed_methods(request: Request) -> str:
    """Every method some route serves on this path (the ``Allow`` header of a 405)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, summary=app.summary, description=app.description, routes=app.routes
        )
        _rewrite(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _rewrite(schema: dict[str, Any]) -> None:
    from api.routes.registration_api import ErrorOut

    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorOut"] = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    components["RateLimitedOut"] = RATE_LIMITED
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    for path, methods in schema.get("paths", {}).items():
        for method, operation in methods.items():
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = {"description": EXTRA_BODY_ERRORS["422"], **ERROR_REF}
            # A bodiless POST that changes something («Отправить повторно») is JSON-only too (api.json_only).
            json_only = method.upper() in CHECKED_METHODS and path not in EXEMPT_PATHS
            if path.startswith("/api/") and ("requestBody" in operation or json_only):
                for code in ("400", "413", "415"):
                    _also(responses, code, "#/components/schemas/ErrorOut", EXTRA_BODY_ERRORS[code])
                # Per-IP limits (api.ratelimit) answer 429 on any state-changing call.
                _also(responses, "429", "#/components/schemas/RateLimitedOut", "Слишком много запросов.")


def _also(responses: dict[str, Any], code: str, ref: str, description: str) -> None:
    """Document that ``code`` may carry ``ref``; an operation's own body for that code
    (e.g. 400 "invalid link", 429 "resend cooldown") stays possible beside it."""
    own = responses.get(code, {}).get("content", {}).get("application/json", {}).get("schema")
    schema = {"anyOf": [own, {"$ref": ref}]} if own and own.get("$ref") != ref else {"$ref": ref}
    responses[code] = {
        "description": responses.get(code, {}).get("description", description),
        "content": {"application/json": {"schema": schema}},
    }
