"""Binding and unbinding contracts outside onboarding: one short workflow per request.

While the onboarding workflow runs, a binding goes to it as the ``bind_contract``
update (the first binding completes onboarding). Afterwards — more contracts, a
cabinet whose onboarding stopped waiting, every unbinding — the API runs one of these
workflows and waits for its result, so the form still shows the real outcome at once
and every change is a durable, searchable run (``LkkLogin``, ``LkkContract``).

``execute_bind`` is shared with the onboarding workflow so both paths verify the same way.
An unbinding that left pending invitations without a contract (the database revoked them
in the same transaction) tells each one's ``Invitation`` run with the ``withdrawn`` signal.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, FailureError

with workflow.unsafe.imports_passed_through():
    from activities.contracts import ContractActivities
    from workflows.errors import BindingRequestGone, BindingUnavailable
    from workflows.messages import (
        BindContractRequest,
        BindContractResult,
        InvitationWithdrawn,
        UnbindContractRequest,
        UnbindContractResult,
        invitation_workflow_id,
    )
    from workflows.timeline import Event, Kind, event_list

# The registry or the database may hiccup: retry quickly, but only while the customer
# is still looking at the form (the parked attempt's TTL).
BIND_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=500),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=5),
    non_retryable_error_types=[BindingRequestGone.TYPE],
)
UNBIND_TIMEOUT = timedelta(seconds=60)


async def execute_bind(request: BindContractRequest) -> BindContractResult:
    """Run the verification activity; a vanished attempt becomes ``BindingRequestGone``,
    any other failure ``BindingUnavailable``."""
    try:
        return await workflow.execute_activity_method(
            ContractActivities.bind_contract,
            request,
            start_to_close_timeout=timedelta(seconds=30),
            schedule_to_close_timeout=timedelta(seconds=max(request.ttl_seconds, 5)),
            retry_policy=BIND_RETRY,
            summary="Проверка данных договора в реестре и привязка",
        )
    except ActivityError as err:
        if BindingRequestGone.matches(err.cause):
            raise BindingRequestGone(non_retryable=False) from err
        raise BindingUnavailable() from err


@workflow.defn(name="ContractBinding")
class ContractBindingWorkflow:
    @workflow.run
    async def run(self, request: BindContractRequest) -> BindContractResult:
        result = await execute_bind(request)
        event = Event(Kind.BIND_ATTEMPT, at=workflow.now(), status=result.status, number=result.contract_number)
        workflow.set_current_details(event_list([event]))
        return result


@workflow.defn(name="ContractUnbinding")
class ContractUnbindingWorkflow:
    @workflow.run
    async def run(self, request: UnbindContractRequest) -> UnbindContractResult:
        result = await workflow.execute_activity_method(
            ContractActivities.unbind_contract,
            request,
            start_to_close_timeout=timedelta(seconds=30),
            schedule_to_close_timeout=UNBIND_TIMEOUT,
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=5)),
            summary="Отвязка договора",
        )
        kind = Kind.UNBOUND if result.unbound else Kind.NOT_HELD
        workflow.set_current_details(event_list([Event(kind, at=workflow.now(), number=result.contract_number)]))
        for invitation_id in result.withdrawn_invitations:
            await _tell_withdrawn(invitation_id)
        return result


async def _tell_withdrawn(invitation_id: str) -> None:
    """The database already revoked it; the run only follows. A run that is gone (closed,
    or never started because the API died in between) has nothing to follow: fine."""
    handle = workflow.get_external_workflow_handle(invitation_workflow_id(invitation_id))
    try:
        await handle.signal("withdrawn", InvitationWithdrawn(withdrawn_at=workflow.now()))
    except FailureError:
        workflow.logger.info("invitation run %s is gone; nothing to tell", invitation_id)
