"""JSON API of sign-up: register, resend the link, read the sign-up's state, confirm."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.captcha_view import checked_captcha
from api.cookies import set_session_cookie
from api.deps import Ctx, DbSession
from api.errors import ErrorOut
from api.forms import FormRoute, form
from api.ratelimit import rate_limit
from api.services import registration as svc
from lkk.models import SignupCreate
from lkk.store.signups import ConfirmOutcome
from workflows.messages import OnboardingStage

router = APIRouter(prefix="/api/v1", tags=["registration"], route_class=FormRoute)


class RegistrationOut(BaseModel):
    registration_handle: str = Field(description="Opaque; pass it to resend and status.")
    stage: OnboardingStage


class HandleIn(BaseModel):
    registration_handle: str = Field(max_length=512)


class ResendOut(BaseModel):
    outcome: svc.ResendOutcome
    retry_after_seconds: int = 0
    resends_left: int = 0


class SignupStateOut(BaseModel):
    stage: OnboardingStage
    emails_sent: int
    resends_left: int
    next_resend_at: datetime | None
    signup_expires_at: datetime
    notice: str | None = Field(
        default=None,
        description="Why the sign-up ended early (e-mail undeliverable, address confirmed elsewhere) and what to do.",
    )


class ConfirmIn(BaseModel):
    token: str = Field(max_length=512)


class ConfirmOut(BaseModel):
    outcome: ConfirmOutcome


def _error(code: int, detail: str, errors: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(ErrorOut(detail=detail, errors=errors or {}).model_dump(), status_code=code)


@router.post(
    "/registrations",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RegistrationOut,
    responses={422: {"model": ErrorOut}, 409: {"model": ErrorOut}, 429: {"model": ErrorOut}, 503: {"model": ErrorOut}},
    dependencies=[rate_limit("register"), Depends(checked_captcha)],
)
@form()
async def create_registration(body: SignupCreate, ctx: Ctx, db: DbSession) -> RegistrationOut:
    """Sign up; refusals (422 fields and captcha, 409 taken, 503) are ``ErrorOut``."""
    registered = await svc.register(ctx, db, body)
    return RegistrationOut(registration_handle=registered.handle, stage=OnboardingStage.AWAITING_EMAIL)


@router.post(
    "/registrations/resend",
    response_model=ResendOut,
    responses={400: {"model": ErrorOut}, 429: {"model": ResendOut}, 409: {"model": ResendOut}, 410: {"model": ResendOut}},
    dependencies=[rate_limit("resend")],
)
async def resend_link(body: HandleIn, ctx: Ctx) -> ResendOut | JSONResponse:
    account_id = svc.read_handle(ctx, body.registration_handle)
    if account_id is None:
        return _error(400, "Неизвестная регистрация.")
    result = await svc.resend(ctx, account_id)  # ServiceUnavailable: 503 (api.errors)
    out = ResendOut(outcome=result.outcome, retry_after_seconds=result.retry_after_seconds, resends_left=result.resends_left)
    codes = {
        svc.ResendOutcome.SENT: 202,
        svc.ResendOutcome.COOLDOWN: 429,
        svc.ResendOutcome.LIMIT: 429,
        svc.ResendOutcome.ALREADY_CONFIRMED: 409,
        svc.ResendOutcome.GONE: 410,
    }
    headers = {"Retry-After": str(result.retry_after_seconds)} if result.retry_after_seconds else None
    return JSONResponse(out.model_dump(mode="json"), status_code=codes[result.outcome], headers=headers)


@router.post(
    "/registrations/status",
    response_model=SignupStateOut,
    responses={404: {"model": ErrorOut}, 429: {"model": ErrorOut}, 503: {"model": ErrorOut}},
    dependencies=[rate_limit("registration_status")],
)
async def registration_status(body: HandleIn, ctx: Ctx) -> SignupStateOut | JSONResponse:
    account_id = svc.read_handle(ctx, body.registration_handle)
    state = await svc.signup_state(ctx, account_id) if account_id else None  # ServiceUnavailable: 503
    if state is None:
        return _error(404, "Регистрация не найдена.")
    return SignupStateOut.model_validate({**state.model_dump(), "notice": svc.ended_notice(state)})


@router.post(
    "/confirmations",
    response_model=ConfirmOut,
    responses={400: {"model": ConfirmOut}, 409: {"model": ConfirmOut}, 410: {"model": ConfirmOut}},
)
async def confirm_email(body: ConfirmIn, ctx: Ctx, db: DbSession) -> JSONResponse:
    """Confirm the e-mail with the link's token; on success the response logs the customer in."""
    result = await svc.confirm(ctx, db, body.token)
    codes = {
        ConfirmOutcome.CONFIRMED: 200,
        ConfirmOutcome.ALREADY_CONFIRMED: 409,
        ConfirmOutcome.SUPERSEDED: 409,
        ConfirmOutcome.EXPIRED: 410,
        ConfirmOutcome.INVALID: 400,
    }
    response = JSONResponse(ConfirmOut(outcome=result.outcome).model_dump(), status_code=codes[result.outcome])
    if result.session_token:
        set_session_cookie(response, ctx.settings, result.session_token)
    return response
