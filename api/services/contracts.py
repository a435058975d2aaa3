"""Contract use cases of a logged-in cabinet: list with ТУ and ПУ, bind, unbind.

Binding, and why it is shaped this way:
1. the route validated the form into ``BindingRequestCreate`` (per-field Russian
   messages, nothing counted or stored);
2. park the attempt in ``binding_requests`` with the code sealed — the code never
   enters workflow history, the workflow sees only the row's random id;
3. while onboarding runs, send the ``bind_contract`` update to it (the first binding
   completes onboarding); once onboarding is over (validator refuses, or the run is
   closed), run a short ``ContractBinding`` workflow instead;
4. either way the verification activity decides and the form gets its outcome at once.
Unbinding always runs as a short ``ContractUnbinding`` workflow.

A refusal is raised as a ``lkk.billing.errors`` type (``api/errors.py`` words it); the
database work of each step is one unit of work on the request's session, in one
``run_in_threadpool`` hop that commits.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from api.deps import AppContext
from api.unavailable import ServiceUnavailable
from lkk.billing import binding_requests
from lkk.billing.errors import ContractNotBound, refusal_of
from lkk.billing.identifiers import normalize_contract_number
from lkk.billing.models import BindingRequestCreate, ContractPublic, ContractStatus, MeteringPointPublic
from lkk.billing.registry import SqlBillingRegistry
from lkk.company import access
from lkk.company.models import Role
from lkk.db import transaction
from lkk.models import Account
from lkk.security.passwords import hasher_for
from lkk.temporal import contract_binding_workflow_id, contract_unbinding_workflow_id, onboarding_workflow_id
from lkk.timeutil import as_utc, utcnow
from workflows.contract_binding import ContractBindingWorkflow, ContractUnbindingWorkflow
from workflows.errors import OnboardingClosed
from workflows.messages import BindContractRequest, BindContractResult, BindStatus, UnbindContractRequest
from workflows.onboarding import OnboardingWorkflow
from workflows.search_attributes import LKK_CONTRACT, LKK_LOGIN

log = logging.getLogger(__name__)

UNBIND_TIMEOUT_SECONDS = 60
_T = TypeVar("_T")

# What the customer reads after a binding that happened (refusals: api/errors.py).
BOUND_MESSAGES: dict[BindStatus, str] = {
    BindStatus.BOUND: "Договор № {number} привязан к вашему личному кабинету.",
    BindStatus.ALREADY_BOUND_TO_YOU: "Договор № {number} уже привязан к вашему личному кабинету.",
}


def bound_message(status: BindStatus, number: str) -> str:
    return BOUND_MESSAGES[status].format(number=number)


class BoundContractPublic(BaseModel):
    """One of the cabinet's contracts as the Profile and the JSON API show it: the
    binding, and the registry's data on it (empty when billing no longer lists it)."""

    model_config = ConfigDict(frozen=True)

    number: str
    bound_at: Annotated[datetime, AfterValidator(as_utc)]
    role: Role  # the cabinet's rights on it: «Администратор» or «Просмотр»
    customer_name: str | None = None
    inn: str | None = None
    kpp: str | None = None
    status: ContractStatus | None = None  # None: billing no longer lists it
    metering_points: list[MeteringPointPublic] = []


def registry_for(ctx: AppContext) -> SqlBillingRegistry:
    return SqlBillingRegistry(ctx.engine, hasher_for(ctx.settings))


def _client(ctx: AppContext) -> Client:
    client = ctx.live_temporal()
    if client is None:  # refused before the attempt is parked: nothing to clean up
        raise ServiceUnavailable()
    return client


async def _unit_of_work(session: Session, work: Callable[[], _T]) -> _T:
    """One thread hop: the work, then its commit (or rollback on an error)."""

    def run() -> _T:
        with transaction(session):
            return work()

    return await run_in_threadpool(run)


async def list_contracts(ctx: AppContext, session: Session, account: Account) -> list[BoundContractPublic]:
    """Every contract the account may see: bound by it, or shared with it (its role says which rights)."""

    def work() -> list[BoundContractPublic]:
        held = access.contracts_of(session, account.id)
        details = {c.number: c for c in registry_for(ctx).contract_details([b.contract_number for b, _ in held])}
        return [_card(b.contract_number, b.bound_at, role, details.get(b.contract_number)) for b, role in held]

    return await _unit_of_work(session, work)


def _card(number: str, bound_at: datetime, role: Role, details: ContractPublic | None) -> BoundContractPublic:
    known = dict(details) if details is not None else {}
    return BoundContractPublic.model_validate({**known, "number": number, "bound_at": bound_at, "role": role})


async def bind(ctx: AppContext, session: Session, account: Account, form: BindingRequestCreate) -> BindContractResult:
    """The contract is (already) bound to the cabinet, or a ``BindingRefused`` says why not."""
    # Per-IP limits sit on the routes (rate_limit("binding")); codes are also protected by lkk.billing.lockout.
    client = _client(ctx)
    ttl = ctx.settings.binding_request_ttl_seconds
    pending = await _unit_of_work(
        session,
        lambda: binding_requests.create(
            session, account.id, form, secret_key=ctx.settings.secret_key, now=utcnow(), ttl_seconds=ttl
        ),
    )
    request = BindContractRequest(account_id=account.id, request_id=pending.id, ttl_seconds=ttl)
    try:
        result = await asyncio.wait_for(_bind_durably(ctx, client, account, form.contract_number, request), ttl)
    except BaseException as err:
        # Normally the activity already deleted the row; this covers a worker that never came.
        await _unit_of_work(session, lambda: binding_requests.discard(session, pending.id))
        if isinstance(
            err,
            (
                TimeoutError,
                RPCError,
                WorkflowFailureError,
                WorkflowUpdateFailedError,
                WorkflowUpdateRPCTimeoutOrCancelledError,
            ),
        ):
            log.warning("binding attempt for account %s not completed: %s", account.id, type(err).__name__)
            raise ServiceUnavailable() from None
        raise
    if (refused := refusal_of(result)) is not None:
        raise refused
    return result


async def _bind_durably(
    ctx: AppContext, client: Client, account: Account, number: str, request: BindContractRequest
) -> BindContractResult:
    handle = client.get_workflow_handle(onboarding_workflow_id(account.id))
    try:
        return await handle.execute_update(OnboardingWorkflow.bind_contract, request)
    except WorkflowUpdateFailedError as err:
        if not OnboardingClosed.matches(err.cause):
            raise
    except RPCError as err:
        # NOT_FOUND: the onboarding run is closed (or predates retention).
        if err.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise
    return await client.execute_workflow(
        ContractBindingWorkflow.run,
        request,
        id=contract_binding_workflow_id(request.request_id),
        task_queue=ctx.settings.temporal_task_queue,
        search_attributes=TypedSearchAttributes(
            [SearchAttributePair(LKK_LOGIN, account.login), SearchAttributePair(LKK_CONTRACT, number)]
        ),
        static_summary=f"Привязка договора № {number} ({account.login})",
    )


async def unbind(ctx: AppContext, session: Session, account: Account, contract_number: str) -> str:
    """Release one of the cabinet's contracts (its normalised number is returned);
    ``ContractNotBound`` when the cabinet has no access to it, ``NoRights`` for a
    colleague with «Просмотр» (only an administrator unbinds; the store checks again)."""
    try:
        number = normalize_contract_number(contract_number)
    except ValueError:
        raise ContractNotBound() from None
    await _unit_of_work(session, lambda: access.require(session, account.id, number, Role.ADMIN))
    client = _client(ctx)
    try:
        result = await asyncio.wait_for(
            client.execute_workflow(
                ContractUnbindingWorkflow.run,
                UnbindContractRequest(account_id=account.id, contract_number=number),
                id=contract_unbinding_workflow_id(uuid.uuid4().hex),
                task_queue=ctx.settings.temporal_task_queue,
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(LKK_LOGIN, account.login), SearchAttributePair(LKK_CONTRACT, number)]
                ),
                static_summary=f"Отвязка договора № {number} ({account.login})",
            ),
            UNBIND_TIMEOUT_SECONDS,
        )
    except (TimeoutError, RPCError, WorkflowFailureError) as err:
        log.warning("unbinding for account %s not completed: %s", account.id, type(err).__name__)
        raise ServiceUnavailable() from None
    if not result.unbound:
        raise ContractNotBound()
    return number
