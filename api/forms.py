"""Routes whose body is a form a customer fills in, as a page posts it or as JSON.

The endpoint takes its model (``Annotated[SignupCreate, Form()]`` on a page, ``SignupCreate``
in the JSON API) and holds only the happy path. A ``FormRoute`` router answers every
refusal of an endpoint marked with ``@form(...)``, whenever it happens:

- FastAPI's validation of the model becomes ``FormInvalid``, one Russian message per
  field (the model's annotated types write them, see ``lkk.validation``);
- a ``FormInvalid`` raised before the model was validated (the captcha, checked by a
  dependency) is told together with the model's own mistakes: one round, every problem;
- a ``ServiceError`` of the endpoint (``SignupTaken``...) is answered by ``api.errors``:
  as JSON (``ErrorOut``, or the endpoint's own ``body``), or on a page by the endpoint's
  ``page``, which shows the form again with what was typed and the messages (422 when
  they sit at fields, else the refusal's status; its headers, ``Retry-After``, kept);
- ``ShowAgain`` (a captcha button without JavaScript) shows the form again, unchecked.

A form whose validators word an empty field themselves («Укажите ИНН.») asks for
``blank=True``: a field left out (an empty form field arrives so) is checked as "";
otherwise it reads ``lkk.validation.FIELD_REQUIRED``. ``invalid`` is the refusal the
model's mistakes become (``FormInvalid``, or the form's own, e.g. ``BindingFieldsInvalid``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from api.errors import Refusal, json_refusal, refusal_for
from lkk.errors import FormInvalid, ServiceError
from lkk.validation import field_messages

FORM_STATUS = 422  # a page's refusal next to its fields: the customer corrects the form
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(frozen=True)
class Submitted:
    """What a page needs to show its form again."""

    values: Mapping[str, str]  # every field as typed (passwords too: never echo them)
    errors: dict[str, str] = field(default_factory=dict)  # field (or "form") -> message
    status: int = 200
    again: bool = False  # the customer asked for the form again (``ShowAgain``)
    message: str = ""  # the refusal's sentence, also when the fields carry their own


FormPage = Callable[[Request, Submitted], Awaitable[Response]]
# A JSON endpoint's own body for a refusal; None leaves it to ``api.errors`` (``ErrorOut``).
RefusalBody = Callable[[ServiceError, Refusal], BaseModel | None]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


class ShowAgain(Exception):
    """The customer asked for the same form again (a new code, the no-picture way):
    shown with its values kept, nothing checked and nothing consumed."""


@dataclass(frozen=True)
class _FormSpec:
    page: FormPage | None
    body: RefusalBody | None
    invalid: Callable[..., ServiceError]
    blank: bool


def form(
    page: FormPage | None = None,
    *,
    body: RefusalBody | None = None,
    invalid: Callable[..., ServiceError] = FormInvalid,
    blank: bool = False,
) -> Callable[[Endpoint], Endpoint]:
    """Mark an endpoint of a ``FormRoute`` router whose body is a form; ``page`` shows
    the form again on a refusal (none: a JSON endpoint, answered by ``body`` or
    ``api.errors``); ``invalid(fields=...)`` and ``blank``: see the module doc."""

    def mark(endpoint: Endpoint) -> Endpoint:
        endpoint.__form__ = _FormSpec(page, body, invalid, blank)  # type: ignore[attr-defined]
        return endpoint

    return mark


def is_form_post(request: Request) -> bool:
    """A page's form (urlencoded or multipart), not JSON."""
    return request.headers.get("content-type", "").startswith(FORM_TYPES)


async def submitted_values(request: Request) -> dict[str, str] | None:
    """The body as typed: a form's fields, or a JSON object's string members; None for
    a JSON body that is no object (FastAPI refuses it on its own). Read from the body
    FastAPI already parsed (Starlette keeps it on the request)."""
    if is_form_post(request):
        received: Mapping[str, Any] = await request.form()
    else:
        try:
            received = await request.json()
        except ValueError:
            return None
        if not isinstance(received, dict):
            return None
    return {name: value for name, value in received.items() if isinstance(value, str)}


class FormRoute(APIRoute):
    """See the module doc; endpoints without ``@form`` are plain routes."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()
        spec: _FormSpec | None = getattr(self.endpoint, "__form__", None)
        if spec is None:
            return handler
        model = self._body_model()
        page = spec.page

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                fields = _fields_of(exc, model, spec.blank)
                if fields is None:
                    raise  # not about the fields (a broken body): the app's own answer
                error: ServiceError = spec.invalid(fields=fields)
            except ShowAgain:
                if page is None:
                    raise
                return await page(request, Submitted(await submitted_values(request) or {}, again=True))
            except FormInvalid as invalid:
                error = FormInvalid({**await _model_mistakes(request, model, spec.blank), **invalid.fields})
            except ServiceError as refused:
                error = refused
            refusal = refusal_for(error)
            if page is None:
                out = spec.body(error, refusal) if spec.body is not None else None
                if out is None:
                    raise error
                return json_refusal(refusal, out)
            shown = Submitted(
                await submitted_values(request) or {},
                errors=refusal.fields or {"form": refusal.message},
                status=FORM_STATUS if refusal.fields else refusal.status,
                message=refusal.message,
            )
            answer = await page(request, shown)
            answer.headers.update(refusal.headers)
            return answer

        return route

    def _body_model(self) -> type[BaseModel] | None:
        for param in self.dependant.body_params:
            annotation = param.field_info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                return annotation
        return None


def _fields_of(exc: RequestValidationError, model: type[BaseModel] | None, blank: bool) -> dict[str, str] | None:
    errors = exc.errors()
    if not errors or any(len(err["loc"]) < 2 or err["loc"][0] != "body" for err in errors):
        return None
    if any(err["type"] == "json_invalid" for err in errors):
        return None
    if blank and model is not None and isinstance(exc.body, Mapping):
        return _mistakes(model, dict(exc.body), blank)  # the body as received, "" kept
    return field_messages(errors, skip=1)


async def _model_mistakes(request: Request, model: type[BaseModel] | None, blank: bool) -> dict[str, str]:
    """The model's own messages for the body, as FastAPI would have validated it."""
    values = await submitted_values(request)
    if model is None or values is None:
        return {}
    if not is_form_post(request):
        data: Mapping[str, Any] = await request.json()
    elif blank:
        data = values
    else:
        data = {name: value for name, value in values.items() if value != ""}  # as FastAPI reads a form
    return _mistakes(model, data, blank)


def _mistakes(model: type[BaseModel], data: Mapping[str, Any], blank: bool) -> dict[str, str]:
    """One message per field of ``data`` the model refuses; with ``blank`` a field left
    out is checked as "" (its validator asks for it)."""
    try:
        model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
    else:
        return {}
    missing = {str(err["loc"][0]) for err in errors if err["type"] == "missing" and err["loc"]}
    if blank and missing:
        return _mistakes(model, {**data, **dict.fromkeys(missing, "")}, blank=False)
    return field_messages(errors)
