"""Russian pages of login (fig. 1), logout, password recovery (fig. 4) and the
forced choice of a new password after recovery."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api import captcha_view
from api.captcha_view import Mode
from api.cookies import clear_session_cookie, session_token_of, set_session_cookie, set_signup_cookie
from api.csrf import CSRF_GUARD
from api.deps import Ctx, CurrentAccount, DbSession
from api.flash import Notice, set_flash
from api.forms import FormRoute, Submitted, form
from api.ratelimit import client_ip, limiter_of, rate_limit
from api.services import login as login_svc
from api.services import passwords as password_svc
from api.services import registration as registration_svc
from api.templating import render
from lkk.models import PasswordChange, ResetRequest
from lkk.store import web_sessions
from lkk.validation import FIELD_REQUIRED

router = APIRouter(include_in_schema=False, dependencies=[CSRF_GUARD], route_class=FormRoute)

# Wrong login and wrong password share the status as well as the text.
INVALID_STATUS = 401


async def _login_page(
    request: Request,
    ctx: Ctx,
    *,
    username: str = "",
    errors: dict[str, str] | None = None,
    with_captcha: bool = False,
    unconfirmed: bool = False,
    mode: Mode = Mode.IMAGE,
    focus_captcha: bool = False,
    code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    view = await captcha_view.issue(request, ctx, mode, focus=focus_captcha) if with_captcha else None
    context = {
        "values": {"username": username},
        "errors": errors or {},
        "captcha": view,
        "unconfirmed": unconfirmed,
        "next_path": await _return_path(request),
    }
    response = render(request, "login.html", context, status_code=code)
    response.headers.update(headers or {})
    return response


# Where a login may lead back to: only an invitation's link (the colleague with an account
# logs in to accept it). Anything else is ignored, so the parameter cannot redirect elsewhere.
_RETURN_PATH = re.compile(r"/invitation\?token=[A-Za-z0-9_-]{1,128}")


async def _return_path(request: Request) -> str:
    value = request.query_params.get("next", "")
    if not value and request.method == "POST":
        value = str((await request.form()).get("next", ""))
    return value if _RETURN_PATH.fullmatch(value) else ""


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, ctx: Ctx) -> HTMLResponse:
    return await _login_page(request, ctx)


@router.post("/login", response_class=HTMLResponse)
async def login_submit(
    request: Request,
    ctx: Ctx,
    db: DbSession,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    captcha_id: Annotated[str, Form()] = "",
    captcha_answer: Annotated[str, Form()] = "",
    captcha_solution: Annotated[str, Form()] = "",
    captcha_mode: Annotated[str, Form()] = "",
    captcha_action: Annotated[str, Form()] = "",
) -> Response:
    username = username.strip()[:200]
    mode = captcha_view.parse_mode(captcha_mode, captcha_action)
    if captcha_view.parse_action(captcha_action) is not None:
        # «Другой код» / «Не могу прочитать код» without JavaScript: a new code, nothing checked.
        return await _login_page(request, ctx, username=username, with_captcha=True, mode=mode, focus_captcha=True)
    if mode is Mode.NONVISUAL:
        captcha_answer = ""
    else:
        captcha_solution = ""
    empty = {name: FIELD_REQUIRED for name, value in (("username", username), ("password", password)) if not value}
    if empty:
        # Keep the code on the form if it was there (it was not used).
        return await _login_page(
            request, ctx, username=username, errors=empty, code=422, with_captcha=bool(captcha_id), mode=mode
        )
    result = await login_svc.login(
        ctx, db, limiter_of(request), client_ip(request), username, password[:1024], captcha_id, captcha_answer,
        captcha_solution,
    )
    outcome = result.outcome
    if result.session_token is not None:
        old = session_token_of(request, ctx.settings)
        if old:  # a fresh token on every login: no session fixation
            await run_in_threadpool(web_sessions.close_session, db, old)
        target = "/password/set" if outcome is login_svc.LoginOutcome.MUST_CHANGE_PASSWORD else "/profile"
        if target == "/profile":
            target = await _return_path(request) or target
        response = RedirectResponse(target, status_code=303)
        set_session_cookie(response, ctx.settings, result.session_token)
        return response
    retry = {"Retry-After": str(result.retry_after_seconds)} if result.retry_after_seconds else None
    if outcome is login_svc.LoginOutcome.RATE_LIMITED:
        message = login_svc.rate_limited_message(result.retry_after_seconds)
        return await _login_page(request, ctx, username=username, errors={"form": message}, code=429, headers=retry)
    if outcome is login_svc.LoginOutcome.LOCKED:
        message = login_svc.locked_message(result.retry_after_seconds)
        return await _login_page(
            request, ctx, username=username, errors={"form": message}, code=429, headers=retry,
            with_captcha=result.captcha_required, mode=mode,
        )
    if outcome is login_svc.LoginOutcome.EMAIL_NOT_CONFIRMED and result.account_id:
        # The right password: say so, and offer the link again (the sign-up's cookie
        # makes the resend button below work as on the "check your mail" page).
        page = await _login_page(
            request, ctx, username=username, errors={"form": login_svc.EMAIL_NOT_CONFIRMED}, unconfirmed=True, code=403
        )
        set_signup_cookie(page, ctx.settings, registration_svc.handle_for(ctx, result.account_id))
        return page
    if outcome is login_svc.LoginOutcome.CAPTCHA:
        if mode is Mode.NONVISUAL:
            message = captcha_view.NONVISUAL_FAILED
        else:
            message = login_svc.CAPTCHA_WRONG if captcha_answer.strip() else login_svc.CAPTCHA_NEEDED
        return await _login_page(
            request, ctx, username=username, errors={captcha_view.error_key(mode): message}, with_captcha=True,
            mode=mode, code=INVALID_STATUS,
        )
    return await _login_page(
        request,
        ctx,
        username=username,
        errors={"form": login_svc.INVALID_CREDENTIALS},
        with_captcha=result.captcha_required,
        mode=mode,
        code=INVALID_STATUS,
    )


@router.post("/logout")
async def logout(request: Request, ctx: Ctx, db: DbSession) -> RedirectResponse:
    token = session_token_of(request, ctx.settings)
    if token:
        await run_in_threadpool(web_sessions.close_session, db, token)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, ctx.settings)
    return response


@router.post("/logout/all")
async def logout_everywhere(ctx: Ctx, db: DbSession, account: CurrentAccount) -> RedirectResponse:
    if account is not None:
        await password_svc.log_out_everywhere(ctx, db, account.id)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, ctx.settings)
    return response


@router.get("/password/forgot", response_class=HTMLResponse)
async def forgot_page(request: Request) -> HTMLResponse:
    return render(request, "forgot_password.html", {"values": {}, "errors": {}})


async def _forgot_again(request: Request, shown: Submitted) -> Response:
    values = {name: shown.values.get(name, "").strip() for name in ResetRequest.model_fields}
    errors = {name: FIELD_REQUIRED if not values[name] else text for name, text in shown.errors.items()}
    return render(request, "forgot_password.html", {"values": values, "errors": errors}, status_code=shown.status)


@router.post("/password/forgot", response_class=HTMLResponse, dependencies=[rate_limit("password_reset")])
@form(page=_forgot_again)
async def forgot_submit(
    request: Request, ctx: Ctx, db: DbSession, reset: Annotated[ResetRequest, Form()]
) -> HTMLResponse:
    await password_svc.request_reset(ctx, db, reset.login, reset.email)
    # The same page whether or not the pair matched (see docs/security.md).
    return render(request, "forgot_password.html", {"values": {}, "errors": {}, "sent": password_svc.RESET_ANSWER})


@router.get("/password/set", response_class=HTMLResponse)
async def set_password_page(request: Request, account: CurrentAccount) -> Response:
    if account is None:
        return RedirectResponse("/login", status_code=303)
    if not account.must_change_password:
        return RedirectResponse("/profile#password", status_code=303)
    return render(request, "set_password.html", {"errors": {}})


async def _set_password_again(request: Request, shown: Submitted) -> Response:
    return render(request, "set_password.html", {"errors": shown.errors}, status_code=shown.status)


@router.post("/password/set", response_class=HTMLResponse, dependencies=[rate_limit("password_change")])
@form(page=_set_password_again)
async def set_password_submit(
    ctx: Ctx, db: DbSession, account: CurrentAccount, change: Annotated[PasswordChange, Form()]
) -> Response:
    if account is None:
        return RedirectResponse("/login", status_code=303)
    changed = await password_svc.set_own_password(ctx, db, account, change)
    response = RedirectResponse("/profile", status_code=303)
    set_session_cookie(response, ctx.settings, changed.session_token)
    set_flash(response, ctx.settings, changed.session_token, Notice.PASSWORD_CHANGED)
    return response
