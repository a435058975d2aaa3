"""The Profile's contract section: the bound contracts with ТУ and ПУ, the binding
form and the unbind buttons (plain POST forms, redirect after success)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.cookies import session_token_of
from api.csrf import CSRF_GUARD
from api.flash import Notice, set_flash
from api.deps import AppContext, Ctx, CurrentAccount, cabinet_gate
from api.ratelimit import rate_limit
from api.routes.contracts_api import BIND_CODES
from api.services import contracts as svc
from api.templating import render
from lkk.billing.identifiers import normalize_contract_number
from lkk.models import Account
from workflows.display import msk
from workflows.messages import BindStatus

router = APIRouter(include_in_schema=False, dependencies=[CSRF_GUARD])


async def render_profile(
    request: Request,
    ctx: AppContext,
    account: Account,
    *,
    notice: str | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    password_errors: dict[str, str] | None = None,
    unbind_error: str | None = None,
    status_code: int = 200,
    flash: tuple[Notice, str] | None = None,
) -> HTMLResponse:
    contracts = await svc.list_contracts(ctx, account)
    welcome = flash is not None and flash[0] is Notice.WELCOME
    if notice is None and flash is not None:
        notice = profile_notice(contracts, *flash)
    return render(
        request,
        "profile.html",
        {
            "account": account,
            "welcome": welcome,
            "notice": notice,
            "contracts": contracts,
            "values": values or {},
            "errors": errors or {},
            "password_errors": password_errors or {},
            "unbind_error": unbind_error,
            "msk": msk,
        },
        status_code=status_code,
    )


@router.post("/profile/contracts/bind", response_class=HTMLResponse, dependencies=[rate_limit("binding")])
async def bind_submit(
    request: Request,
    ctx: Ctx,
    account: CurrentAccount,
    contract_number: Annotated[str, Form(max_length=100)] = "",
    inn: Annotated[str, Form(max_length=40)] = "",
    kpp: Annotated[str, Form(max_length=40)] = "",
    code: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    if (redirect := cabinet_gate(account)) is not None:
        return redirect
    assert account is not None
    kept = {"contract_number": contract_number, "inn": inn, "kpp": kpp}  # never the code
    try:
        result = await svc.bind(ctx, account, contract_number, inn, kpp or None, code)
    except svc.ServiceUnavailable:
        return await render_profile(
            request, ctx, account, values=kept, errors={"form": svc.SERVICE_UNAVAILABLE}, status_code=503
        )
    if result.succeeded:
        done = RedirectResponse("/profile#contracts", status_code=303)
        kind = Notice.BOUND if result.status is BindStatus.BOUND else Notice.ALREADY_BOUND
        set_flash(done, ctx.settings, session_token_of(request, ctx.settings) or "", kind, result.contract_number or "")
        return done
    errors = dict(result.field_errors)
    errors["form"] = result.message
    response = await render_profile(
        request, ctx, account, values=kept, errors=errors, status_code=BIND_CODES[result.status]
    )
    if result.retry_after_seconds:
        response.headers["Retry-After"] = str(result.retry_after_seconds)
    return response


@router.post("/profile/contracts/unbind", response_class=HTMLResponse)
async def unbind_submit(
    request: Request, ctx: Ctx, account: CurrentAccount, contract_number: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    if (redirect := cabinet_gate(account)) is not None:
        return redirect
    assert account is not None
    try:
        unbound = await svc.unbind(ctx, account, contract_number)
    except svc.ServiceUnavailable:
        return await render_profile(request, ctx, account, unbind_error=svc.SERVICE_UNAVAILABLE, status_code=503)
    if not unbound:
        return await render_profile(
            request, ctx, account, unbind_error="Договор не привязан к вашему личному кабинету.", status_code=404
        )
    done = RedirectResponse("/profile#contracts", status_code=303)
    set_flash(done, ctx.settings, session_token_of(request, ctx.settings) or "", Notice.UNBOUND, contract_number.strip())
    return done


PASSWORD_CHANGED = "Пароль изменён. Все другие сеансы входа завершены."


def profile_notice(contracts: list[svc.ContractCard], notice: Notice, number: str) -> str | None:
    """The message after a redirect, from the server's signed flash (``api.flash``); a
    contract notice is shown only while it still matches the cabinet's contracts."""
    if notice is Notice.PASSWORD_CHANGED:
        return PASSWORD_CHANGED
    held = {card.number for card in contracts}
    normalized = _normalized(number)
    if notice in (Notice.BOUND, Notice.ALREADY_BOUND) and normalized and normalized in held:
        if notice is Notice.ALREADY_BOUND:
            return f"Договор № {normalized} уже привязан к вашему личному кабинету."
        return f"Договор № {normalized} привязан к вашему личному кабинету."
    if notice is Notice.UNBOUND and normalized and normalized not in held:
        return f"Договор № {normalized} отвязан от вашего личного кабинета."
    return None


def _normalized(value: str) -> str | None:
    try:
        return normalize_contract_number(value) if value else None
    except ValueError:
        return None
