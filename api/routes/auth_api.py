"""JSON API of login, logout, password recovery and password change.

State-changing calls require ``Content-Type: application/json`` (``api.json_only``):
that, the SameSite=Lax session cookie and no CORS grants are the JSON API's CSRF defence.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.cookies import clear_session_cookie, session_token_of, set_session_cookie
from api.deps import Ctx, CurrentAccount, DbSession
from api.ratelimit import client_ip, limiter_of, rate_limit
from api.services import login as login_svc
from api.services import passwords as password_svc
from api.services import registration as registration_svc
from lkk.models import PasswordChange, ResetRequest
from lkk.store import web_sessions

router = APIRouter(prefix="/api/v1", tags=["login"])


class LoginIn(BaseModel):
    login: str = Field(min_length=1, max_length=200, examples=["ooo-romashka"])
    password: str = Field(min_length=1, max_length=1024)
    captcha_id: str = Field(default="", max_length=64)
    captcha_answer: str = Field(default="", max_length=32)
    captcha_solution: str = Field(default="", max_length=16, description="Or the number solving the captcha's puzzle.")


class LoginOut(BaseModel):
    outcome: login_svc.LoginOutcome
    must_change_password: bool = Field(description="True after logging in with the mailed password: PUT /password next.")


class LoginProblem(BaseModel):
    detail: str
    outcome: login_svc.LoginOutcome
    captcha_required: bool = Field(description="Send captcha_id + captcha_answer, or captcha_solution (POST /captcha), with the next attempt.")
    retry_after_seconds: int = 0
    registration_handle: str | None = Field(
        default=None, description="email_not_confirmed only: pass it to POST /registrations/resend to get the link again."
    )


class MessageOut(BaseModel):
    detail: str


class PasswordProblem(BaseModel):
    detail: str
    errors: dict[str, str] = {}


@router.post(
    "/session",
    response_model=LoginOut,
    responses={401: {"model": LoginProblem}, 403: {"model": LoginProblem}, 429: {"model": LoginProblem}},
)
async def create_session(body: LoginIn, request: Request, ctx: Ctx, db: DbSession) -> JSONResponse:
    """Log in. Unknown login and wrong password give the same 401 and message. The right
    password of a sign-up not confirmed yet gives 403 ``email_not_confirmed`` with a
    ``registration_handle`` for resending the link."""
    result = await login_svc.login(
        ctx, db, limiter_of(request), client_ip(request), body.login.strip(), body.password, body.captcha_id, body.captcha_answer,
        body.captcha_solution,
    )
    if result.session_token is not None:
        must_change = result.outcome is login_svc.LoginOutcome.MUST_CHANGE_PASSWORD
        response = JSONResponse(LoginOut(outcome=result.outcome, must_change_password=must_change).model_dump())
        set_session_cookie(response, ctx.settings, result.session_token)
        return response
    detail = {
        login_svc.LoginOutcome.RATE_LIMITED: login_svc.rate_limited_message(result.retry_after_seconds),
        login_svc.LoginOutcome.LOCKED: login_svc.locked_message(result.retry_after_seconds),
        login_svc.LoginOutcome.CAPTCHA: login_svc.CAPTCHA_WRONG if body.captcha_answer or body.captcha_solution else login_svc.CAPTCHA_NEEDED,
        login_svc.LoginOutcome.EMAIL_NOT_CONFIRMED: login_svc.EMAIL_NOT_CONFIRMED,
    }.get(result.outcome, login_svc.INVALID_CREDENTIALS)
    unconfirmed = result.outcome is login_svc.LoginOutcome.EMAIL_NOT_CONFIRMED
    limited = result.outcome in (login_svc.LoginOutcome.RATE_LIMITED, login_svc.LoginOutcome.LOCKED)
    problem = LoginProblem(
        detail=detail,
        outcome=result.outcome,
        captcha_required=result.captcha_required,
        retry_after_seconds=result.retry_after_seconds,
        registration_handle=registration_svc.handle_for(ctx, result.account_id) if unconfirmed and result.account_id else None,
    )
    return JSONResponse(
        problem.model_dump(),
        status_code=429 if limited else 403 if unconfirmed else 401,
        headers={"Retry-After": str(result.retry_after_seconds)} if limited else None,
    )


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT)
async def delete_session(request: Request, ctx: Ctx, db: DbSession) -> Response:
    """Log out this session."""
    token = session_token_of(request, ctx.settings)
    if token:
        await run_in_threadpool(web_sessions.close_session, db, token)
    response = Response(status_code=204)
    clear_session_cookie(response, ctx.settings)
    return response


@router.delete("/sessions", status_code=status.HTTP_204_NO_CONTENT, responses={401: {"model": MessageOut}})
async def delete_all_sessions(ctx: Ctx, db: DbSession, account: CurrentAccount) -> Response:
    """Log out everywhere: every session of the account, this one included."""
    if account is None:
        return JSONResponse({"detail": "Войдите в личный кабинет."}, status_code=401)
    await password_svc.log_out_everywhere(ctx, db, account.id)
    response = Response(status_code=204)
    clear_session_cookie(response, ctx.settings)
    return response


@router.post(
    "/password-resets",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MessageOut,
    dependencies=[rate_limit("password_reset")],
)
async def request_password_reset(body: ResetRequest, ctx: Ctx, db: DbSession) -> MessageOut:
    """«Сбросить пароль». Always 202 with the same text: it never tells whether the pair matched."""
    await password_svc.request_reset(ctx, db, body.login, body.email)
    return MessageOut(detail=password_svc.RESET_ANSWER)


@router.put(
    "/password",
    response_model=MessageOut,
    responses={401: {"model": MessageOut}, 422: {"model": PasswordProblem}},
    dependencies=[rate_limit("password_change")],
)
async def change_password(body: PasswordChange, ctx: Ctx, db: DbSession, account: CurrentAccount) -> JSONResponse:
    """Change the password (current + new twice), or set one right after recovery.
    Every session is revoked; the response carries a new session cookie. A refusal is
    422 ``PasswordProblem`` (``api.errors``)."""
    if account is None:
        return JSONResponse({"detail": "Войдите в личный кабинет."}, status_code=401)
    if account.must_change_password:
        changed = await password_svc.set_own_password(ctx, db, account, body)
    else:
        changed = await password_svc.change_password(ctx, db, account, body)
    response = JSONResponse(MessageOut(detail="Пароль изменён. Все другие сеансы входа завершены.").model_dump())
    set_session_cookie(response, ctx.settings, changed.session_token)
    return response
