"""The Profile («Профиль», fig. 3): the customer's data, password change, sessions.
Its contract forms are in ``contracts_pages``; login and logout in ``auth_pages``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.cookies import session_token_of, set_session_cookie
from api.csrf import CSRF_GUARD
from api.deps import CabinetAccount, Ctx, CurrentAccount, DbSession
from api.errors import refusal_for
from api.flash import Notice, clear_flash, read_flash, set_flash
from api.ratelimit import rate_limit
from api.routes.contracts_pages import render_profile
from api.services import passwords as password_svc
from lkk.errors import PasswordRejected
from lkk.models import PasswordChange

router = APIRouter(include_in_schema=False, dependencies=[CSRF_GUARD])

@router.get("/")
async def home(account: CurrentAccount) -> RedirectResponse:
    return RedirectResponse("/profile" if account else "/login", status_code=303)



@router.get("/profile", response_class=HTMLResponse)
async def profile(request: Request, ctx: Ctx, account: CabinetAccount) -> Response:
    # Notices come only from the server (a signed one-shot cookie), never from the URL.
    flash = read_flash(request, ctx.settings, session_token_of(request, ctx.settings))
    page = await render_profile(request, ctx, account, flash=flash)
    if flash is not None:
        clear_flash(page, ctx.settings)
    return page


@router.post("/profile/password", response_class=HTMLResponse, dependencies=[rate_limit("password_change")])
async def change_password(
    request: Request,
    ctx: Ctx,
    db: DbSession,
    account: CabinetAccount,
    change: Annotated[PasswordChange, Form()],
) -> Response:
    try:
        changed = await password_svc.change_password(ctx, db, account, change)
    except PasswordRejected as rejected:
        errors = refusal_for(rejected).fields
        return await render_profile(request, ctx, account, password_errors=errors, status_code=422)
    response = RedirectResponse("/profile", status_code=303)
    set_session_cookie(response, ctx.settings, changed.session_token)
    set_flash(response, ctx.settings, changed.session_token, Notice.PASSWORD_CHANGED)
    return response
