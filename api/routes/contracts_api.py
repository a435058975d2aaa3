"""JSON API of contract binding for the logged-in cabinet (session cookie).

Refusals are typed errors (``lkk.billing.errors``) worded and given their status by
``api/errors.py``; the binding's own answer keeps one body, ``BindOut``, whatever the
outcome (``status`` says which): ``api.forms`` answers a refused or malformed binding
with it.
"""

from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from api.deps import Ctx, DbSession, SignedIn
from api.errors import ErrorOut, Refusal
from api.forms import FormRoute, form
from api.ratelimit import rate_limit
from api.services import contracts as svc
from lkk.billing.errors import BindingFieldsInvalid, BindingRefused
from lkk.billing.models import BindingRequestCreate
from lkk.errors import ServiceError
from workflows.messages import BindStatus

router = APIRouter(prefix="/api/v1/contracts", tags=["contracts"], route_class=FormRoute)


class ContractsOut(BaseModel):
    contracts: list[svc.BoundContractPublic]


class BindOut(BaseModel):
    status: BindStatus
    message: str
    contract_number: str | None = None
    retry_after_seconds: int | None = None
    errors: dict[str, str] = {}


# The statuses of a binding that happened; a refusal's comes from api/errors.py.
BOUND_CODES = {BindStatus.BOUND: status.HTTP_201_CREATED, BindStatus.ALREADY_BOUND_TO_YOU: status.HTTP_200_OK}


def _refused(error: ServiceError, refusal: Refusal) -> BindOut | None:
    """A binding that did not happen keeps the binding's body; any other refusal (401,
    503) is ``ErrorOut``."""
    if not isinstance(error, BindingRefused):
        return None
    return BindOut(
        status=error.status,
        message=refusal.message,
        contract_number=error.contract_number,
        retry_after_seconds=error.retry_after_seconds,
        errors=refusal.fields,
    )


@router.get("", response_model=ContractsOut, responses={401: {"model": ErrorOut}})
async def list_contracts(ctx: Ctx, session: DbSession, account: SignedIn) -> ContractsOut:
    """The cabinet's contracts with their metering points (ТУ) and meters (ПУ)."""
    return ContractsOut(contracts=await svc.list_contracts(ctx, session, account))


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
@form(body=_refused, invalid=BindingFieldsInvalid, blank=True)
async def bind_contract(body: BindingRequestCreate, ctx: Ctx, session: DbSession, account: SignedIn) -> JSONResponse:
    """Bind a contract by number, ИНН, КПП and the binding code; answers with the real outcome."""
    result = await svc.bind(ctx, session, account, body)
    number = result.contract_number or body.contract_number
    out = BindOut(status=result.status, message=svc.bound_message(result.status, number), contract_number=number)
    return JSONResponse(out.model_dump(mode="json"), status_code=BOUND_CODES[result.status])


@router.delete(
    "/{number:path}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        401: {"model": ErrorOut},
        403: {"model": ErrorOut, "description": "the cabinet only views this contract («Просмотр»)"},
        404: {"model": ErrorOut},
        503: {"model": ErrorOut},
    },
)
async def unbind_contract(number: str, ctx: Ctx, session: DbSession, account: SignedIn) -> Response:
    """Unbind one of the cabinet's contracts (administrators only): it is free to bind again,
    and every colleague's access and pending invitation to it ends (the change is recorded)."""
    await svc.unbind(ctx, session, account, number)
    return Response(status_code=204)
