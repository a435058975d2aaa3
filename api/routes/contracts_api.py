"""JSON API of contract binding for the logged-in cabinet (session cookie)."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from api.deps import Ctx, CurrentAccount
from api.ratelimit import rate_limit
from api.services import contracts as svc
from workflows.messages import BindStatus

router = APIRouter(prefix="/api/v1/contracts", tags=["contracts"])

NOT_LOGGED_IN = "Войдите в личный кабинет."

# HTTP status of each outcome: the body always carries ``status`` and the Russian ``message``.
BIND_CODES: dict[BindStatus, int] = {
    BindStatus.BOUND: 201,
    BindStatus.ALREADY_BOUND_TO_YOU: 200,
    BindStatus.INVALID: 422,
    BindStatus.WRONG_DATA: 422,
    BindStatus.BOUND_TO_ANOTHER: 409,
    BindStatus.CLOSED: 409,
    BindStatus.LOCKED: 429,
}


class MeterOut(BaseModel):
    serial_number: str
    model: str
    next_verification_date: date | None = None


class MeteringPointOut(BaseModel):
    external_id: str
    address: str
    voltage_level: str
    tariff: str
    meters: list[MeterOut]


class ContractOut(BaseModel):
    number: str
    bound_at: datetime
    customer_name: str | None = None
    inn: str | None = None
    kpp: str | None = None
    status: str | None = Field(default=None, description="open | closed; null if billing no longer lists it")
    metering_points: list[MeteringPointOut] = []


class ContractsOut(BaseModel):
    contracts: list[ContractOut]


class BindIn(BaseModel):
    contract_number: str = Field(max_length=100, examples=["7701-000101"])
    inn: str = Field(max_length=40, examples=["0001473828"])
    kpp: str | None = Field(default=None, max_length=40, examples=["000101001"])
    code: str = Field(max_length=40, description="binding code from the supplier's office, e.g. KX7M-2QPA")


class BindOut(BaseModel):
    status: BindStatus
    message: str
    contract_number: str | None = None
    retry_after_seconds: int | None = None
    errors: dict[str, str] = {}


class ErrorOut(BaseModel):
    detail: str


def _error(code: int, detail: str) -> JSONResponse:
    return JSONResponse(ErrorOut(detail=detail).model_dump(), status_code=code)


def _card(card: svc.ContractCard) -> ContractOut:
    out = ContractOut(number=card.number, bound_at=card.bound_at)
    if card.details is not None:
        out = ContractOut.model_validate(
            {**card.details.model_dump(mode="json"), "number": card.number, "bound_at": card.bound_at}
        )
    return out


@router.get("", response_model=ContractsOut, responses={401: {"model": ErrorOut}})
async def list_contracts(ctx: Ctx, account: CurrentAccount) -> ContractsOut | JSONResponse:
    """The cabinet's contracts with their metering points (ТУ) and meters (ПУ)."""
    if account is None or account.must_change_password:
        return _error(401, NOT_LOGGED_IN)
    return ContractsOut(contracts=[_card(c) for c in await svc.list_contracts(ctx, account)])


@router.post(
    "",
    response_model=BindOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": BindOut, "description": "already bound to this cabinet"},
        401: {"model": ErrorOut},
        409: {"model": BindOut, "description": "bound to another cabinet, or closed"},
        422: {"model": BindOut, "description": "malformed fields, or data not found (one generic answer)"},
        429: {"model": BindOut, "description": "too many failed attempts; see Retry-After"},
        503: {"model": ErrorOut},
    },
    dependencies=[rate_limit("binding")],
)
async def bind_contract(body: BindIn, ctx: Ctx, account: CurrentAccount) -> JSONResponse:
    """Bind a contract by number, ИНН, КПП and the binding code; answers with the real outcome."""
    if account is None or account.must_change_password:
        return _error(401, NOT_LOGGED_IN)
    try:
        result = await svc.bind(ctx, account, body.contract_number, body.inn, body.kpp, body.code)
    except svc.ServiceUnavailable:
        return _error(503, svc.SERVICE_UNAVAILABLE)
    out = BindOut(
        status=result.status,
        message=result.message,
        contract_number=result.contract_number,
        retry_after_seconds=result.retry_after_seconds,
        errors=result.field_errors,
    )
    headers = {"Retry-After": str(result.retry_after_seconds)} if result.retry_after_seconds else None
    return JSONResponse(out.model_dump(mode="json"), status_code=BIND_CODES[result.status], headers=headers)


@router.delete(
    "/{number:path}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut}, 503: {"model": ErrorOut}},
)
async def unbind_contract(number: str, ctx: Ctx, account: CurrentAccount) -> Response:
    """Unbind one of the cabinet's contracts: it is free to bind again (the change is recorded)."""
    if account is None or account.must_change_password:
        return _error(401, NOT_LOGGED_IN)
    try:
        unbound = await svc.unbind(ctx, account, number)
    except svc.ServiceUnavailable:
        return _error(503, svc.SERVICE_UNAVAILABLE)
    if not unbound:
        return _error(404, "Договор не привязан к вашему личному кабинету.")
    return Response(status_code=204)
