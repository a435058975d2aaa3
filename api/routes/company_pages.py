"""Pages of company accounts: «Пригласить пользователя», the invitation link's page
(«Принять приглашение»), the Profile's «Пользователи кабинета» buttons and «Журнал
действий». Plain POST forms behind the CSRF guard, redirect after success with a
server-signed notice (``api.flash``); a refusal shows the page again with its sentence."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ConfigDict, ValidationError
from sqlmodel import Session

from api.cookies import session_token_of, set_session_cookie
from api.csrf import CSRF_GUARD
from api.deps import (
    AppContext,
    CabinetAccount,
    Ctx,
    CurrentAccount,
    DbSession,
    cabinet_account,
    current_account,
    get_context,
)
from api.errors import refusal_for
from api.flash import Notice, set_flash
from api.forms import FormRoute, Submitted, form
from api.ratelimit import rate_limit
from api.routes.contracts_pages import render_profile
from api.services import company as svc
from api.templating import render
from lkk.company.errors import InvitationClosed, InvitationNotFound
from lkk.company.models import ROLE_LABELS, AuditAction, InvitationCreate, Role, RoleChange
from lkk.errors import ServiceError
from lkk.models import Account, InvitationAcceptance
from workflows.display import msk

router = APIRouter(include_in_schema=False, dependencies=[CSRF_GUARD], route_class=FormRoute)

# What «Журнал действий» calls each action.
AUDIT_LABELS: dict[AuditAction, str] = {
    AuditAction.BOUND: "Договор привязан",
    AuditAction.UNBOUND: "Договор отвязан",
    AuditAction.INVITED: "Приглашение отправлено",
    AuditAction.RESENT: "Приглашение отправлено повторно",
    AuditAction.ACCEPTED: "Приглашение принято",
    AuditAction.INVITATION_REVOKED: "Приглашение отозвано",
    AuditAction.INVITATION_EXPIRED: "Срок приглашения истёк",
    AuditAction.INVITATION_UNDELIVERABLE: "Письмо с приглашением не доставлено",
    AuditAction.ACCESS_REVOKED: "Доступ отозван",
    AuditAction.ROLE_CHANGED: "Права доступа изменены",
}


class InviteForm(InvitationCreate):
    """The page's «Пригласить пользователя»: ``InvitationCreate``, beside the CSRF field."""

    model_config = ConfigDict(extra="ignore")


def _refused_page(request: Request, error: ServiceError) -> HTMLResponse:
    refusal = refusal_for(error)
    context = {"title": "Действие недоступно", "text": refusal.message, "kind": "warning",
               "actions": [("/profile", "Вернуться в профиль")]}
    page = render(request, "message.html", context, status_code=refusal.status)
    page.headers.update(refusal.headers)
    return page


def _done(request: Request, ctx: AppContext, notice: Notice, subject: str, anchor: str = "company") -> Response:
    done = RedirectResponse(f"/profile#{anchor}", status_code=303)
    set_flash(done, ctx.settings, session_token_of(request, ctx.settings) or "", notice, subject)
    return done


async def _profile_refused(
    request: Request, ctx: AppContext, session: Session, account: Account, error: ServiceError
) -> Response:
    refusal = refusal_for(error)
    page = await render_profile(
        request, ctx, account, session=session, company_error=refusal.message, status_code=refusal.status
    )
    page.headers.update(refusal.headers)
    return page


# --- «Пригласить пользователя» -----------------------------------------------------------------


async def _invite_page(
    request: Request,
    numbers: list[str],
    values: dict[str, object] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "invite.html",
        {"numbers": numbers, "values": values or {}, "errors": errors or {}, "role_labels": ROLE_LABELS,
         "ttl_seconds": get_context(request).settings.invitation_ttl_seconds},
        status_code=status_code,
    )


async def _invite_again(request: Request, shown: Submitted) -> Response:
    ctx = get_context(request)
    with Session(ctx.engine, expire_on_commit=False) as session:
        account = cabinet_account(await current_account(request, ctx, session))
        try:
            numbers = await svc.administered(session, account)
        except ServiceError as refused:
            return _refused_page(request, refused)
    form_data = await request.form()
    values: dict[str, object] = {
        "email": shown.values.get("email", ""),
        "full_name": shown.values.get("full_name", ""),
        "role": shown.values.get("role", Role.VIEWER.value),
        "contract_numbers": [str(v) for v in form_data.getlist("contract_numbers")],
    }
    return await _invite_page(request, numbers, values, shown.errors, shown.status)


@router.get("/profile/invite", response_class=HTMLResponse)
async def invite_form(request: Request, session: DbSession, account: CabinetAccount) -> Response:
    try:
        numbers = await svc.administered(session, account)
    except ServiceError as refused:
        return _refused_page(request, refused)
    values = {"role": Role.VIEWER.value, "contract_numbers": numbers if len(numbers) == 1 else []}
    return await _invite_page(request, numbers, values)


@router.post("/profile/invite", response_class=HTMLResponse, dependencies=[rate_limit("invitations")])
@form(page=_invite_again)
async def invite_submit(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    account: CabinetAccount,
    invitation: Annotated[InviteForm, Form()],
) -> Response:
    created = await svc.invite(ctx, session, account, invitation)
    return _done(request, ctx, Notice.INVITED, created.email)


# --- the Profile's buttons -------------------------------------------------------------------------


@router.post("/profile/invitations/resend", response_class=HTMLResponse, dependencies=[rate_limit("invitations")])
async def resend_submit(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    account: CabinetAccount,
    invitation_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    try:
        await svc.resend(ctx, session, account, invitation_id)
    except ServiceError as refused:
        return await _profile_refused(request, ctx, session, account, refused)
    return _done(request, ctx, Notice.INVITATION_RESENT, "")


@router.post("/profile/invitations/revoke", response_class=HTMLResponse)
async def revoke_invitation_submit(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    account: CabinetAccount,
    invitation_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    try:
        email = await svc.revoke_invitation(ctx, session, account, invitation_id)
    except ServiceError as refused:
        return await _profile_refused(request, ctx, session, account, refused)
    return _done(request, ctx, Notice.INVITATION_REVOKED, email)


@router.post("/profile/members/role", response_class=HTMLResponse)
async def role_submit(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    account: CabinetAccount,
    contract_number: Annotated[str, Form(max_length=100)] = "",
    login: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    try:
        change = RoleChange(role=role)  # type: ignore[arg-type]
    except ValidationError:
        page = await render_profile(
            request, ctx, account, session=session, company_error="Выберите права доступа.", status_code=422
        )
        return page
    try:
        member = await svc.change_role(session, account, contract_number, login, change.role)
    except ServiceError as refused:
        return await _profile_refused(request, ctx, session, account, refused)
    return _done(request, ctx, Notice.ROLE_CHANGED, member.login)


@router.post("/profile/members/revoke", response_class=HTMLResponse)
async def revoke_access_submit(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    account: CabinetAccount,
    contract_number: Annotated[str, Form(max_length=100)] = "",
    login: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    try:
        await svc.revoke_access(session, account, contract_number, login)
    except ServiceError as refused:
        return await _profile_refused(request, ctx, session, account, refused)
    return _done(request, ctx, Notice.ACCESS_REVOKED, login)


# --- «Журнал действий» -----------------------------------------------------------------------------


@router.get("/profile/audit", response_class=HTMLResponse)
async def audit_page(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    account: CabinetAccount,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    try:
        trail = await svc.audit_page(ctx, session, account, page)
    except ServiceError as refused:
        return _refused_page(request, refused)
    context = {"trail": trail, "labels": AUDIT_LABELS, "role_labels": ROLE_LABELS, "msk": msk}
    return render(request, "audit.html", context)


# --- the invitation link ---------------------------------------------------------------------------


async def _invitation_page(
    request: Request,
    session: Session,
    account: Account | None,
    token: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    try:
        view = await svc.peek(session, token)
    except (InvitationNotFound, InvitationClosed) as closed:
        return _closed_page(request, closed)
    context = {
        "view": view,
        "token": token,
        "account": account,
        "values": values or {},
        "errors": errors or {},
        "role_labels": ROLE_LABELS,
        "msk": msk,
    }
    return render(request, "invitation.html", context, status_code=status_code)


def _closed_page(request: Request, error: ServiceError) -> HTMLResponse:
    refusal = refusal_for(error)
    title = "Приглашение недействительно" if isinstance(error, InvitationClosed) else "Приглашение не найдено"
    context = {"title": title, "text": refusal.message, "kind": "warning",
               "actions": [("/login", "Войти в Личный кабинет")]}
    return render(request, "message.html", context, status_code=refusal.status)


@router.get("/invitation", response_class=HTMLResponse)
async def invitation_page(
    request: Request, session: DbSession, account: CurrentAccount, token: Annotated[str, Query(max_length=128)] = ""
) -> Response:
    # Only a button here: a mail scanner that opens the link accepts nothing.
    return await _invitation_page(request, session, account, token)


async def _accept_again(request: Request, shown: Submitted) -> Response:
    ctx = get_context(request)
    with Session(ctx.engine, expire_on_commit=False) as session:
        account = await current_account(request, ctx, session)
        kept = {name: shown.values.get(name, "") for name in ("login", "phone")}
        return await _invitation_page(
            request, session, account, shown.values.get("token", ""), values=kept, errors=shown.errors,
            status_code=shown.status,
        )


@router.post("/invitation", response_class=HTMLResponse, dependencies=[rate_limit("invitations")])
@form(page=_accept_again)
async def invitation_accept(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    account: CurrentAccount,
    acceptance: Annotated[InvitationAcceptance, Form()],
) -> Response:
    if account is not None and account.must_change_password:
        return RedirectResponse("/password/set", status_code=303)
    try:
        accepted = await svc.accept(ctx, session, account, acceptance)
    except (InvitationNotFound, InvitationClosed) as closed:  # the link itself says so, no form
        return _closed_page(request, closed)
    done = RedirectResponse("/profile#contracts", status_code=303)
    token = accepted.session_token or session_token_of(request, ctx.settings) or ""
    if accepted.session_token is not None:
        set_session_cookie(done, ctx.settings, accepted.session_token)
    set_flash(done, ctx.settings, token, Notice.INVITATION_ACCEPTED, ", ".join(accepted.contract_numbers))
    return done
