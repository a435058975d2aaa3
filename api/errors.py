"""The one place that turns a typed refusal (``lkk.errors.ServiceError``) into an HTTP
status and the Russian sentence the customer reads.

JSON routes let the error propagate to the handler installed by ``install``; page
routes catch ``ServiceError`` and render their form with ``refusal_for(error)``.
Add a row to ``REFUSALS`` next to each new error type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api import unavailable
from lkk.billing import errors as contract_errors
from lkk.company import errors as company_errors
from lkk.company.models import InvitationStatus
from lkk.errors import FormInvalid, NotSignedIn, PasswordRejected, ServiceError, SignupTaken, TooManyAttempts
from lkk.ru_numbers import wait


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str  # shown above the form, and as ``detail`` in JSON
    fields: dict[str, str] = field(default_factory=dict)  # shown next to each field, and as ``errors``
    headers: dict[str, str] = field(default_factory=dict)  # ``Retry-After`` of a lockout


class ErrorOut(BaseModel):
    """The JSON body of a refusal (and of every other API error, ``api.main``)."""

    detail: str
    errors: dict[str, str] = {}


# A message is a sentence, or a function of the error for one that depends on it (a wait).
Message = str | Callable[[Any], str]

# type -> (status, message); looked up along the error's MRO, so a base type's row
# covers its subclasses unless they have their own.
REFUSALS: dict[type[ServiceError], tuple[int, Message]] = {}


def refusal_for(error: ServiceError) -> Refusal:
    for kind in type(error).__mro__:
        if kind in REFUSALS:
            status, message = REFUSALS[kind]
            headers = {}
            if isinstance(error, TooManyAttempts) and error.retry_after_seconds:
                headers["Retry-After"] = str(error.retry_after_seconds)
            text = message if isinstance(message, str) else message(error)
            return Refusal(status=status, message=text, fields=error.fields, headers=headers)
    raise LookupError(f"{type(error).__name__} has no row in api/errors.py REFUSALS")


def json_refusal(refusal: Refusal, body: BaseModel | None = None) -> JSONResponse:
    """The refusal as JSON: ``body`` (a route's own shape of it), else ``ErrorOut``."""
    out = body if body is not None else ErrorOut(detail=refusal.message, errors=refusal.fields)
    return JSONResponse(out.model_dump(mode="json"), status_code=refusal.status, headers=refusal.headers)


async def _as_json(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ServiceError)
    return json_refusal(refusal_for(error))


def install(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _as_json)


# --- every route --------------------------------------------------------------------------

REFUSALS[unavailable.ServiceUnavailable] = (unavailable.STATUS, unavailable.MESSAGE)
REFUSALS[NotSignedIn] = (401, "Войдите в личный кабинет.")

# --- sign-up and password forms (api/forms.py shows a page's refusal at its fields, 422) -
REFUSALS[FormInvalid] = (422, "Проверьте поля формы.")  # CaptchaFailed too
REFUSALS[SignupTaken] = (409, "Регистрация невозможна.")
REFUSALS[PasswordRejected] = (422, "Пароль не изменён.")

# --- contract binding and unbinding (lkk/billing/errors.py) ------------------------------

REFUSALS.update(
    {
        contract_errors.BindingFieldsInvalid: (422, "Проверьте правильность заполнения полей."),
        contract_errors.ContractDataMismatch: (
            422,
            "Данные договора не найдены. Проверьте номер договора, ИНН, КПП и код подтверждения.",
        ),
        contract_errors.ContractBoundToAnother: (
            409,
            "Этот договор уже привязан к другому личному кабинету. Обратитесь в офис поставщика.",
        ),
        contract_errors.ContractClosed: (409, "Договор закрыт. Привязка невозможна."),
        contract_errors.BindingLocked: (
            429,
            lambda e: "Слишком много неудачных попыток привязки. Повторите попытку через "
            f"{wait(e.retry_after_seconds)}.",
        ),
        contract_errors.ContractNotBound: (404, "Договор не привязан к вашему личному кабинету."),
    }
)

# --- company accounts (lkk/company/errors.py) ----------------------------------------------

INVITATION_CLOSED: dict[InvitationStatus, str] = {
    InvitationStatus.ACCEPTED: "Приглашение уже принято. Войдите в личный кабинет.",
    InvitationStatus.REVOKED: "Приглашение отозвано администратором договора.",
    InvitationStatus.EXPIRED: "Срок действия приглашения истёк. Попросите администратора договора отправить новое.",
    InvitationStatus.UNDELIVERABLE: "Приглашение недействительно. Попросите администратора договора отправить новое.",
    InvitationStatus.PENDING: "Приглашение ещё действует.",
}

REFUSALS.update(
    {
        company_errors.NoRights: (
            403,
            "Недостаточно прав: это действие доступно только администратору договора.",
        ),
        company_errors.LastAdministrator: (
            409,
            "У договора должен остаться хотя бы один администратор. Сначала назначьте администратором другого пользователя.",
        ),
        company_errors.MemberNotFound: (404, "Пользователь не найден среди пользователей договора."),
        company_errors.ContractFull: (409, "Достигнут предел числа пользователей договора."),
        company_errors.TooManyPendingInvitations: (
            429,
            lambda e: f"У вас уже {e.limit} действующих приглашений — это предел. "
            "Отзовите ненужные или дождитесь ответа на них.",
        ),
        company_errors.TooManyInvitations: (
            429,
            lambda e: f"Слишком много приглашений за последний час. Повторите через {wait(e.retry_after_seconds)}.",
        ),
        company_errors.InvitationNotFound: (404, "Приглашение не найдено. Проверьте ссылку из письма."),
        company_errors.InvitationClosed: (410, lambda e: INVITATION_CLOSED[e.status]),
        company_errors.EmailMismatch: (
            409,
            "Приглашение отправлено на другой адрес электронной почты. Войдите под учётной записью "
            "с этим адресом или выйдите, чтобы создать новую.",
        ),
        company_errors.ResendTooSoon: (
            429,
            lambda e: f"Письмо с приглашением можно отправить повторно через {wait(e.retry_after_seconds)}.",
        ),
        company_errors.ResendsUsedUp: (
            409,
            "Письмо с приглашением больше нельзя отправить повторно. Отзовите приглашение и отправьте новое.",
        ),
    }
)
