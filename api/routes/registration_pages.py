"""Russian pages of sign-up: «Регистрация пользователя», "check your mail", confirmation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api import captcha_view
from api.captcha_view import Mode, checked_captcha
from api.cookies import clear_signup_cookie, set_session_cookie, set_signup_cookie, signup_handle_of
from api.csrf import CSRF_GUARD
from api.deps import Ctx, DbSession, get_context
from api.flash import Notice, set_flash
from api.forms import FormRoute, Submitted, form
from api.ratelimit import rate_limit
from api.services import registration as svc
from api.templating import render
from lkk.models import SignupBase, SignupCreate
from lkk.ru_numbers import plural
from lkk.store import signups
from lkk.store.signups import ConfirmOutcome
from lkk.timeutil import utcnow

router = APIRouter(include_in_schema=False, dependencies=[CSRF_GUARD], route_class=FormRoute)

CONFIRM_MESSAGES = {
    ConfirmOutcome.ALREADY_CONFIRMED: (
        "Адрес уже подтверждён",
        "Эта ссылка уже использована. Войдите в личный кабинет с вашим логином и паролем.",
    ),
    ConfirmOutcome.EXPIRED: (
        "Срок действия ссылки истёк",
        "Регистрация не была подтверждена вовремя и удалена. Зарегистрируйтесь заново — логин и адрес снова свободны.",
    ),
    ConfirmOutcome.SUPERSEDED: (
        "Адрес уже подтверждён в другой регистрации",
        "Этот адрес электронной почты уже подтверждён в другой регистрации, поэтому эта регистрация отменена. "
        "Если адрес ваш, войдите в личный кабинет или восстановите пароль.",
    ),
    ConfirmOutcome.INVALID: (
        "Ссылка недействительна",
        "Ссылка неверна, устарела или заменена более новой. Откройте ссылку из последнего письма "
        "или зарегистрируйтесь заново.",
    ),
}

RESEND_MESSAGES = {
    svc.ResendOutcome.SENT: "Новое письмо отправлено. Предыдущие ссылки больше не действуют.",
    # {times}: LKK_MAX_RESENDS, «5 раз».
    svc.ResendOutcome.LIMIT: "Письмо можно отправить повторно не более {times}. Обратитесь в службу поддержки.",
    svc.ResendOutcome.ALREADY_CONFIRMED: "Адрес уже подтверждён. Войдите в личный кабинет.",
    svc.ResendOutcome.GONE: "Срок регистрации истёк. Зарегистрируйтесь заново.",
}


async def _register_page(
    request: Request,
    ctx: Ctx,
    values: dict[str, str],
    errors: dict[str, str],
    code: int,
    mode: Mode = Mode.IMAGE,
    *,
    focus_captcha: bool = False,
) -> HTMLResponse:
    view = await captcha_view.issue(request, ctx, mode, focus=focus_captcha)
    return render(request, "register.html", {"values": values, "errors": errors, "captcha": view}, status_code=code)


async def _register_again(request: Request, shown: Submitted) -> Response:
    """The form again: what the customer told about themselves kept (``SignupBase``'s
    fields, never the passwords), the messages, a new captcha in the chosen mode."""
    kept = {name: shown.values.get(name, "") for name in SignupBase.model_fields}
    values = shown.values
    mode = captcha_view.parse_mode(values.get("captcha_mode", ""), values.get("captcha_action", ""))
    ctx = get_context(request)
    return await _register_page(request, ctx, kept, shown.errors, shown.status, mode, focus_captcha=shown.again)


@router.get("/register", response_class=HTMLResponse)
async def register_form(request: Request, ctx: Ctx) -> HTMLResponse:
    return await _register_page(request, ctx, {}, {}, 200)


@router.post("/register", response_class=HTMLResponse, dependencies=[rate_limit("register"), Depends(checked_captcha)])
@form(page=_register_again)
async def register_submit(
    ctx: Ctx, db: DbSession, signup: Annotated[SignupCreate, Form()]
) -> Response:
    registered = await svc.register(ctx, db, signup)
    response = RedirectResponse("/register/sent", status_code=303)
    set_signup_cookie(response, ctx.settings, registered.handle)
    return response


async def _sent_page(request: Request, ctx: Ctx, message: str | None = None, code: int = 200) -> HTMLResponse:
    account_id = svc.read_handle(ctx, signup_handle_of(request, ctx.settings))
    try:
        state = await svc.signup_state(ctx, account_id) if account_id else None
    except svc.ServiceUnavailable:
        # The letter went out (or will): say so, and that resending must wait.
        context = {"state": None, "message": message or svc.SERVICE_UNAVAILABLE, "unavailable": True, "notice": None}
        return render(request, "register_sent.html", {**context, "wait_seconds": 0}, status_code=code)
    wait_seconds = 0
    if state is not None and state.next_resend_at is not None:
        wait_seconds = max(int((state.next_resend_at - utcnow()).total_seconds()) + 1, 0)
    return render(
        request,
        "register_sent.html",
        {"state": state, "message": message, "wait_seconds": wait_seconds, "notice": svc.ended_notice(state)},
        status_code=code,
    )


@router.get("/register/sent", response_class=HTMLResponse)
async def register_sent(request: Request, ctx: Ctx) -> HTMLResponse:
    return await _sent_page(request, ctx)


@router.post("/register/resend", response_class=HTMLResponse, dependencies=[rate_limit("resend")])
async def register_resend(request: Request, ctx: Ctx) -> HTMLResponse:
    account_id = svc.read_handle(ctx, signup_handle_of(request, ctx.settings))
    if account_id is None:
        return await _sent_page(request, ctx, RESEND_MESSAGES[svc.ResendOutcome.GONE], 410)
    try:
        result = await svc.resend(ctx, account_id)
    except svc.ServiceUnavailable:
        return await _sent_page(request, ctx, svc.SERVICE_UNAVAILABLE, 503)
    if result.outcome is svc.ResendOutcome.COOLDOWN:
        message = f"Повторно отправить письмо можно через {result.retry_after_seconds} с."
        return await _sent_page(request, ctx, message, 429)
    times = ctx.settings.max_resends
    message = RESEND_MESSAGES[result.outcome].format(times=f"{times} {plural(times, 'раза', 'раз', 'раз')}")
    return await _sent_page(request, ctx, message)


@router.get("/confirm", response_class=HTMLResponse)
async def confirm_page(request: Request, db: DbSession, token: str = "") -> HTMLResponse:
    # Only a button here: mail scanners that prefetch the link confirm nothing.
    result = await run_in_threadpool(signups.peek_confirmation, db, token, now=utcnow())
    if result.outcome is not ConfirmOutcome.CONFIRMED:
        return _confirm_problem(request, result.outcome)
    return render(request, "confirm.html", {"token": token})


@router.post("/confirm", response_class=HTMLResponse)
async def confirm_submit(
    request: Request, ctx: Ctx, db: DbSession, token: Annotated[str, Form()] = ""
) -> Response:
    result = await svc.confirm(ctx, db, token)
    if result.outcome is not ConfirmOutcome.CONFIRMED or result.session_token is None:
        return _confirm_problem(request, result.outcome)
    response = RedirectResponse("/profile", status_code=303)
    set_session_cookie(response, ctx.settings, result.session_token)
    set_flash(response, ctx.settings, result.session_token, Notice.WELCOME)
    clear_signup_cookie(response, ctx.settings)
    return response


def _confirm_problem(request: Request, outcome: ConfirmOutcome) -> HTMLResponse:
    title, text = CONFIRM_MESSAGES[outcome]
    code = {
        ConfirmOutcome.ALREADY_CONFIRMED: 409,
        ConfirmOutcome.SUPERSEDED: 409,
        ConfirmOutcome.EXPIRED: 410,
    }.get(outcome, 400)
    if outcome is ConfirmOutcome.ALREADY_CONFIRMED:
        kind, actions = "info", [("/login", "Войти в Личный кабинет")]
    elif outcome is ConfirmOutcome.SUPERSEDED:
        kind, actions = "warning", [("/login", "Вход в систему"), ("/password/forgot", "Восстановить пароль")]
    else:
        kind, actions = "warning", [("/register", "Зарегистрироваться заново"), ("/login", "Вход в систему")]
    context = {"title": title, "text": text, "outcome": outcome.value, "kind": kind, "actions": actions}
    return render(request, "message.html", context, status_code=code)
