"""JSON API of company accounts: the contracts' users, invitations, rights, the audit trail.

Every route checks rights on the server (the stores call ``lkk.company.access``):
a colleague with «Просмотр» gets 403 on an administrator's action, an account with
no access to the contract 404. The invitation's token travels only in POST bodies.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from api.cookies import set_session_cookie
from api.deps import Ctx, CurrentAccount, DbSession, SignedIn
from api.errors import ErrorOut
from api.forms import FormRoute, form
from api.ratelimit import rate_limit
from api.services import company as svc
from lkk.company.models import AuditPage, InvitationCreate, InvitationPublic, MemberPublic, RoleChange
from lkk.errors import NotSignedIn
from lkk.models import InvitationAcceptance
from workflows.messages import InvitationResendAccepted

router = APIRouter(prefix="/api/v1", tags=["company"], route_class=FormRoute)

InvitationId = Annotated[str, Path(max_length=64, description="The invitation's id (from GET /api/v1/company).")]
ContractPath = Annotated[str, Path(max_length=100)]
LoginPath = Annotated[str, Path(max_length=200)]

_ADMIN_ONLY = {
    401: {"model": ErrorOut},
    403: {"model": ErrorOut, "description": "the cabinet only views the contract («Просмотр»)"},
    404: {"model": ErrorOut, "description": "no such contract, member or invitation for this cabinet"},
}


class AcceptedOut(BaseModel):
    login: str
    contract_numbers: list[str]
    account_created: bool


@router.get("/company", response_model=svc.CompanyOverview, responses={401: {"model": ErrorOut}})
async def company(session: DbSession, account: SignedIn) -> svc.CompanyOverview:
    """«Пользователи кабинета»: per contract the cabinet's rights, and for an administrator
    its users and the pending invitations."""
    return await svc.overview(session, account)


@router.post(
    "/invitations",
    response_model=InvitationPublic,
    status_code=status.HTTP_201_CREATED,
    responses={
        **_ADMIN_ONLY,
        409: {"model": ErrorOut, "description": "the contract has as many users as allowed"},
        422: {"model": ErrorOut},
        429: {"model": ErrorOut, "description": "too many pending invitations, or too many this hour"},
        503: {"model": ErrorOut},
    },
    dependencies=[rate_limit("invitations")],
)
@form()
async def invite(body: InvitationCreate, ctx: Ctx, session: DbSession, account: SignedIn) -> InvitationPublic:
    """«Пригласить пользователя»: the colleague gets a letter with a link valid for
    ``LKK_INVITATION_TTL_SECONDS``."""
    return await svc.invite(ctx, session, account, body)


@router.post(
    "/invitations/accept",
    response_model=AcceptedOut,
    responses={
        401: {"model": ErrorOut, "description": "logged in, but a new password must be chosen first"},
        404: {"model": ErrorOut, "description": "the token matches no invitation"},
        409: {"model": ErrorOut, "description": "logged in with another e-mail; or the login is taken"},
        410: {"model": ErrorOut, "description": "the invitation was accepted, revoked or has expired"},
        422: {"model": ErrorOut},
        503: {"model": ErrorOut},
    },
    dependencies=[rate_limit("invitations")],
)
@form()
async def accept(body: InvitationAcceptance, ctx: Ctx, session: DbSession, account: CurrentAccount) -> JSONResponse:
    """«Принять приглашение»: logged in, into this account (its e-mail must be the invited
    one); otherwise into a new account (login, password twice, optional phone), active at
    once with the invited e-mail, and logged in."""
    if account is not None and account.must_change_password:
        raise NotSignedIn()
    accepted = await svc.accept(ctx, session, account, body)
    out = AcceptedOut(
        login=accepted.login, contract_numbers=accepted.contract_numbers, account_created=accepted.created
    )
    response = JSONResponse(out.model_dump(mode="json"))
    if accepted.session_token is not None:
        set_session_cookie(response, ctx.settings, accepted.session_token)
    return response


@router.post(
    "/invitations/{invitation_id}/resend",
    response_model=InvitationResendAccepted,
    responses={
        **_ADMIN_ONLY,
        409: {"model": ErrorOut, "description": "no re-sends left"},
        410: {"model": ErrorOut, "description": "no longer pending"},
        429: {"model": ErrorOut, "description": "too soon; see Retry-After"},
        503: {"model": ErrorOut},
    },
    dependencies=[rate_limit("invitations")],
)
async def resend(invitation_id: InvitationId, ctx: Ctx, session: DbSession, account: SignedIn) -> InvitationResendAccepted:
    """«Отправить повторно»: a new link (older ones stop working)."""
    return await svc.resend(ctx, session, account, invitation_id)


@router.delete(
    "/invitations/{invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        **_ADMIN_ONLY,
        410: {"model": ErrorOut, "description": "accepted (or ended) first"},
        503: {"model": ErrorOut},
    },
)
async def revoke_invitation(invitation_id: InvitationId, ctx: Ctx, session: DbSession, account: SignedIn) -> Response:
    """«Отозвать приглашение»: its link stops working at once."""
    await svc.revoke_invitation(ctx, session, account, invitation_id)
    return Response(status_code=204)


@router.patch(
    "/contracts/{number:path}/members/{login}",
    response_model=MemberPublic,
    responses={**_ADMIN_ONLY, 409: {"model": ErrorOut, "description": "the last administrator"}, 422: {"model": ErrorOut}},
)
@form()
async def change_role(
    number: ContractPath, login: LoginPath, body: RoleChange, session: DbSession, account: SignedIn
) -> MemberPublic:
    """«Права доступа» of a colleague: «Просмотр» or «Администратор»."""
    return await svc.change_role(session, account, number, login, body.role)


@router.delete(
    "/contracts/{number:path}/members/{login}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**_ADMIN_ONLY, 409: {"model": ErrorOut, "description": "the last administrator"}},
)
async def revoke_access(number: ContractPath, login: LoginPath, session: DbSession, account: SignedIn) -> Response:
    """«Отозвать доступ»: effective at the colleague's next request."""
    await svc.revoke_access(session, account, number, login)
    return Response(status_code=204)


@router.get("/audit", response_model=AuditPage, responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}})
async def audit(
    ctx: Ctx, session: DbSession, account: SignedIn, page: Annotated[int, Query(ge=1, le=1_000_000)] = 1
) -> AuditPage:
    """«Журнал действий» of the contracts the cabinet administers, newest first."""
    return await svc.audit_page(ctx, session, account, page)
