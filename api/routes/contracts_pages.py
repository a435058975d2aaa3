"""The Profile's contract section: the bound contracts with ТУ and ПУ, the binding
form and the unbind buttons (plain POST forms, redirect after success)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from api.cookies import session_token_of
from api.csrf import CSRF_GUARD
from api.deps import (
    AppContext,
    CabinetAccount,
    Ctx,
    DbSession,
    cabinet_account,
    current_account,
    get_context,
)
from api.errors import refusal_for
from api.flash import Notice, set_flash
from api.forms import FormRoute, Submitted, form
from api.ratelimit import rate_limit
from api.services import company as company_svc
from api.services import contracts as svc
from api.templating import render
from lkk.billing.errors import BindingFieldsInvalid
from lkk.billing.identifiers import normalize_contract_number
from lkk.billing.models import BindingRequestBase, BindingRequestCreate
from lkk.company.models import ROLE_LABELS
from lkk.errors import ServiceError
from lkk.models import Account
from lkk.ru_numbers import to_contracts
from workflows.display import msk
from workflows.messages import BindStatus

router = APIRouter(include_in_schema=False, dependencies=[CSRF_GUARD], route_class=FormRoute)

# What the binding form shows again after a refusal: its fields but the code.
KEPT_FIELDS = tuple(BindingRequestBase.model_fields)


async def render_profile(
    request: Request,
    ctx: AppContext,
    account: Account,
    *,
    session: Session | None = None,
    notice: str | None = None,
    values: Mapping[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    password_errors: dict[str, str] | None = None,
    unbind_error: str | None = None,
    company_error: str | None = None,
    status_code: int = 200,
    flash: tuple[Notice, str] | None = None,
) -> HTMLResponse:
    """The Profile. ``session``: the request's (``DbSession``); without one, a session
    is opened for this page alone."""
    if session is None:
        with Session(ctx.engine, expire_on_commit=False) as own:
            contracts = await svc.list_contracts(ctx, own, account)
            company = await company_svc.overview(own, account)
    else:
        contracts = await svc.list_contracts(ctx, session, account)
        company = await company_svc.overview(session, account)
    welcome = flash is not None and flash[0] is Notice.WELCOME
    if notice is None and flash is not None:
        notice = profile_notice(contracts, *flash)
    kept = {name: "" if (value := (values or {}).get(name)) is None else str(value) for name in KEPT_FIELDS}
    return render(
        request,
        "profile.html",
        {
            "account": account,
            "welcome": welcome,
            "notice": notice,
            "contracts": contracts,
            "values": kept,
            "errors": errors or {},
            "password_errors": password_errors or {},
            "unbind_error": unbind_error,
            "company": company,
            "company_error": company_error,
            "role_labels": ROLE_LABELS,
            "msk": msk,
        },
        status_code=status_code,
    )


async def _bind_again(request: Request, shown: Submitted) -> Response:
    """The Profile with the binding form again after a refusal: its sentence above, each
    field's below, the typed values but the code kept. ``api.forms`` hands over no
    dependencies, so the account is looked up again (the gate as the endpoint's)."""
    ctx = get_context(request)
    with Session(ctx.engine, expire_on_commit=False) as session:
        account = cabinet_account(await current_account(request, ctx, session))
        errors = {**shown.errors, "form": shown.message}
        return await render_profile(
            request, ctx, account, session=session, values=shown.values, errors=errors, status_code=shown.status
        )


@router.post("/profile/contracts/bind", response_class=HTMLResponse, dependencies=[rate_limit("binding")])
@form(page=_bind_again, invalid=BindingFieldsInvalid, blank=True)
async def bind_submit(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    account: CabinetAccount,
    attempt: Annotated[BindingRequestCreate, Form()],
) -> Response:
    result = await svc.bind(ctx, session, account, attempt)
    done = RedirectResponse("/profile#contracts", status_code=303)
    kind = Notice.BOUND if result.status is BindStatus.BOUND else Notice.ALREADY_BOUND
    number = result.contract_number or attempt.contract_number
    set_flash(done, ctx.settings, session_token_of(request, ctx.settings) or "", kind, number)
    return done


@router.post("/profile/contracts/unbind", response_class=HTMLResponse)
async def unbind_submit(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    account: CabinetAccount,
    contract_number: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    try:
        number = await svc.unbind(ctx, session, account, contract_number)
    except ServiceError as refused:
        message = refusal_for(refused)
        return await render_profile(
            request, ctx, account, session=session, unbind_error=message.message, status_code=message.status
        )
    done = RedirectResponse("/profile#contracts", status_code=303)
    set_flash(done, ctx.settings, session_token_of(request, ctx.settings) or "", Notice.UNBOUND, number)
    return done


PASSWORD_CHANGED = "Пароль изменён. Все другие сеансы входа завершены."

# After a company action (the subject: an e-mail, a login or contract numbers, put there by the server).
COMPANY_NOTICES: dict[Notice, str] = {
    Notice.INVITED: "Приглашение отправлено на адрес {subject}.",
    Notice.INVITATION_RESENT: "Письмо с приглашением отправлено повторно. Прежняя ссылка больше не действует.",
    Notice.INVITATION_REVOKED: "Приглашение для {subject} отозвано.",
    Notice.ROLE_CHANGED: "Права доступа пользователя {subject} изменены.",
    Notice.ACCESS_REVOKED: "Доступ пользователя {subject} отозван.",
    Notice.INVITATION_ACCEPTED: "Приглашение принято. Вам открыт доступ к {contracts}.",
}


def profile_notice(contracts: list[svc.BoundContractPublic], notice: Notice, number: str) -> str | None:
    """The message after a redirect, from the server's signed flash (``api.flash``); a
    contract notice is shown only while it still matches the cabinet's contracts."""
    if notice is Notice.PASSWORD_CHANGED:
        return PASSWORD_CHANGED
    if notice in COMPANY_NOTICES:
        return COMPANY_NOTICES[notice].format(subject=number, contracts=to_contracts(number.split(", ")))
    held = {card.number for card in contracts}
    normalized = _normalized(number)
    if notice in (Notice.BOUND, Notice.ALREADY_BOUND) and normalized and normalized in held:
        status = BindStatus.BOUND if notice is Notice.BOUND else BindStatus.ALREADY_BOUND_TO_YOU
        return svc.bound_message(status, normalized)
    if notice is Notice.UNBOUND and normalized and normalized not in held:
        return f"Договор № {normalized} отвязан от вашего личного кабинета."
    return None


def _normalized(value: str) -> str | None:
    try:
        return normalize_contract_number(value) if value else None
    except ValueError:
        return None
