"""The one place that turns a typed refusal (``lkk.errors.ServiceError``) into an HTTP
status and the Russian sentence the customer reads.

JSON routes let the error propagate to the handler installed by ``install``; page
routes catch ``ServiceError`` and render their form with ``refusal_for(error)``.
Add a row to ``REFUSALS`` next to each new error type.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api import unavailable
from lkk.errors import FormInvalid, PasswordRejected, ServiceError, SignupTaken


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str  # shown above the form, and as ``detail`` in JSON
    fields: dict[str, str] = field(default_factory=dict)  # shown next to each field, and as ``errors``


# type -> (status, message); looked up along the error's MRO, so a base type's row
# covers its subclasses unless they have their own.
REFUSALS: dict[type[ServiceError], tuple[int, str]] = {}

# Sign-up and password forms (api/forms.py shows a page's refusal at its fields with 422).
REFUSALS[FormInvalid] = (422, "Проверьте поля формы.")  # CaptchaFailed too
REFUSALS[SignupTaken] = (409, "Регистрация невозможна.")
REFUSALS[PasswordRejected] = (422, "Пароль не изменён.")
REFUSALS[unavailable.ServiceUnavailable] = (unavailable.STATUS, unavailable.MESSAGE)


def refusal_for(error: ServiceError) -> Refusal:
    for kind in type(error).__mro__:
        if kind in REFUSALS:
            status, message = REFUSALS[kind]
            return Refusal(status=status, message=message, fields=error.fields)
    raise LookupError(f"{type(error).__name__} has no row in api/errors.py REFUSALS")


async def _as_json(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ServiceError)
    refusal = refusal_for(error)
    return JSONResponse({"detail": refusal.message, "errors": refusal.fields}, status_code=refusal.status)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _as_json)
