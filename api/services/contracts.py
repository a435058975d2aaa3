"""Contract use cases of a logged-in cabinet: list with ТУ and ПУ, bind, unbind.

Binding, and why it is shaped this way:
1. validate the form (per-field Russian messages, nothing counted or stored);
2. park the attempt in ``binding_requests`` with the code sealed — the code never
   enters workflow history, the workflow sees only the row's random id;
3. while onboarding runs, send the ``bind_contract`` update to it (the first binding
   completes onboarding); once onboarding is over (validator refuses, or the run is
   closed), run a short ``ContractBinding`` workflow instead;
4. either way the verification activity decides and the form gets its outcome at once.
Unbinding always runs as a short ``ContractUnbinding`` workflow.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from starlette.concurrency import run_in_threadpool
from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from api import unavailable
from api.deps import AppContext
from lkk.billing import binding_requests, bindings
from lkk.billing.bindings import BindOutcome
from lkk.billing.identifiers import InvalidBindingInput, normalize_contract_number, parse_binding_input
from lkk.billing.registry import ContractView, SqlBillingRegistry
from lkk.models import Account
from lkk.security.passwords import hasher_for
from lkk.temporal import contract_binding_workflow_id, contract_unbinding_workflow_id, onboarding_workflow_id
from lkk.timeutil import utcnow
from workflows.contract_binding import ContractBindingWorkflow, ContractUnbindingWorkflow
from workflows.errors import OnboardingClosed
from workflows.messages import BindContractRequest, BindContractResult, BindStatus, UnbindContractRequest
from workflows.onboarding import OnboardingWorkflow
from workflows.search_attributes import LKK_CONTRACT, LKK_LOGIN

log = logging.getLogger(__name__)

SERVICE_UNAVAILABLE = unavailable.MESSAGE
# Temporal or the worker did not answer in time; the form says so (its values kept).
ServiceUnavailable = unavailable.ServiceUnavailable
UNBIND_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class BindingResult:
    status: BindStatus
    message: str  # Russian, for the customer
    contract_number: str | None = None
    retry_after_seconds: int | None = None
    field_errors: dict[str, str] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.status in (BindStatus.BOUND, BindStatus.ALREADY_BOUND_TO_YOU)


@dataclass(frozen=True)
class ContractCard:
    """One bound contract as the Profile shows it: the binding plus the registry's data."""

    number: str
    bound_at: datetime
    details: ContractView | None  # None if the registry no longer lists it


def registry_for(ctx: AppContext) -> SqlBillingRegistry:
    return SqlBillingRegistry(ctx.engine, hasher_for(ctx.settings))


def _client(ctx: AppContext) -> Client:
    client = ctx.live_temporal()
    if client is None:  # refused before the attempt is parked: nothing to clean up
        raise ServiceUnavailable()
    return client


def _list(ctx: AppContext, account_id: str) -> list[ContractCard]:
    bound = bindings.list_bound(ctx.engine, account_id)
    details = {view.number: view for view in registry_for(ctx).contract_details([b.contract_number for b in bound])}
    return [ContractCard(b.contract_number, b.bound_at, details.get(b.contract_number)) for b in bound]


async def list_contracts(ctx: AppContext, account: Account) -> list[ContractCard]:
    return await run_in_threadpool(_list, ctx, account.id)


async def bind(
    ctx: AppContext, account: Account, contract_number: str, inn: str, kpp: str | None, code: str
) -> BindingResult:
    # Per-IP limits sit on the routes (rate_limit("binding")); codes are also protected by lkk.billing.lockout.
    try:
        form = parse_binding_input(contract_number, inn, kpp, code)
    except InvalidBindingInput as exc:
        outcome = BindOutcome(status=BindStatus.INVALID, field_errors=exc.field_errors)
        return BindingResult(BindStatus.INVALID, outcome.message, field_errors=exc.field_errors)
    client = _client(ctx)
    ttl = ctx.settings.binding_request_ttl_seconds
    pending = await run_in_threadpool(
        binding_requests.create,
        ctx.engine,
        account.id,
        form,
        secret_key=ctx.settings.secret_key,
        now=utcnow(),
        ttl_seconds=ttl,
    )
    request = BindContractRequest(account_id=account.id, request_id=pending.id, ttl_seconds=ttl)
    try:
        result = await asyncio.wait_for(_bind_durably(ctx, client, account, form.contract_number, request), ttl)
    except (
        TimeoutError,
        RPCError,
        WorkflowFailureError,
        WorkflowUpdateFailedError,
        WorkflowUpdateRPCTimeoutOrCancelledError,
    ) as err:
        log.warning("binding attempt for account %s not completed: %s", account.id, type(err).__name__)
        raise ServiceUnavailable() from None
    finally:
        # Normally the activity already deleted it; this covers a worker that never came.
        await run_in_threadpool(binding_requests.discard, ctx.engine, pending.id)
    outcome = BindOutcome(
        status=result.status, contract_number=result.contract_number, retry_after_seconds=result.retry_after_seconds
    )
    return BindingResult(result.status, outcome.message, result.contract_number, result.retry_after_seconds)


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


async def unbind(ctx: AppContext, account: Account, contract_number: str) -> bool:
    """Release one of the cabinet's contracts; False when the cabinet does not hold it."""
    try:
        number = normalize_contract_number(contract_number)
    except ValueError:
        return False
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
    return result.unbound
