"""A route whose body is a ``…Create`` model with Russian validators, answering a body
that fails only those validators through its own ``on_invalid`` — the page's form again
with each field's message and the typed values kept, or the API's refusal body —
instead of the app-wide generic 422 (``api.main``).

FastAPI validates the body (``Annotated[Model, Form()]`` or a JSON model) before the
endpoint runs, after the route's dependencies (CSRF, rate limit, the sign-in gate): so
``on_invalid`` is reached only by a request those let through. A body that is not even
the model's shape (wrong types, a field too long) still gets the generic answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

from lkk.billing.identifiers import field_messages

# (request, field → Russian message, the submitted body) -> the answer
OnInvalid = Callable[[Request, dict[str, str], Mapping[str, Any]], Awaitable[Response]]
_Endpoint = TypeVar("_Endpoint", bound=Callable[..., Any])
_ON_INVALID = "__lkk_on_invalid__"
_FIELD_ERRORS = frozenset({"value_error", "missing"})  # our validators' refusals; a field left out


def on_invalid(answer: OnInvalid) -> Callable[[_Endpoint], _Endpoint]:
    """Decorate an endpoint (under ``@router.post``) of a router with ``route_class=FormRoute``."""

    def mark(endpoint: _Endpoint) -> _Endpoint:
        setattr(endpoint, _ON_INVALID, answer)
        return endpoint

    return mark


class FormRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()
        answer: OnInvalid | None = getattr(self.endpoint, _ON_INVALID, None)
        if answer is None:
            return handler

        async def answer_invalid_fields(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                errors = exc.errors()
                if not errors or not all(_is_field_error(e) for e in errors):
                    raise
                body = exc.body if isinstance(exc.body, Mapping) else {}
                return await answer(request, self._field_messages(errors, body), body)

        return answer_invalid_fields

    def _field_messages(self, errors: list[Any], body: Mapping[str, Any]) -> dict[str, str]:
        """Each field's Russian message. A field left out (an empty form field arrives
        so) is validated as "" instead, for its validator's own «Укажите …»."""
        model = self._body_model()
        missing = {str(e["loc"][1]) for e in errors if e["type"] == "missing"}
        if model is not None and missing:
            try:
                model.model_validate({**body, **dict.fromkeys(missing, "")})
            except ValidationError as again:
                return field_messages(again.errors())
        return field_messages(errors, skip=1)

    def _body_model(self) -> type[BaseModel] | None:
        params = self.dependant.body_params
        annotation = params[0].field_info.annotation if len(params) == 1 else None
        return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _is_field_error(error: Mapping[str, Any]) -> bool:
    loc = error["loc"]
    return len(loc) >= 2 and loc[0] == "body" and error["type"] in _FIELD_ERRORS
