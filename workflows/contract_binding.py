"""Binding and unbinding contracts outside onboarding: one short workflow per request.

While the onboarding workflow runs, a binding goes to it as the ``bind_contract``
update (the first binding completes onboarding). Afterwards — more contracts, a
cabinet whose onboarding stopped waiting, every unbinding — the API runs one of these
workflows and waits for its result, so the form still shows the real outcome at once
and every change is a durable, searchable run (``LkkLogin``, ``LkkContract``).

``execute_bind`` is shared with the onboarding workflow so both paths verify the same way.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.contracts import REQUEST_GONE, ContractActivities
    from workflows.display import bind_event, msk
    from workflows.messages import (
        BindContractRequest,
        BindContractResult,
        UnbindContractRequest,
        UnbindContractResult,
    )

# The registry or the database may hiccup: retry quickly, but only while the customer
# is still looking at the form (the parked attempt's TTL).
BIND_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=500),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=5),
    non_retryable_error_types=[REQUEST_GONE],
)
UNBIND_TIMEOUT = timedelta(seconds=60)


async def execute_bind(request: BindContractRequest) -> BindContractResult:
    """Run the verification activity; a vanished attempt becomes ``ApplicationError(REQUEST_GONE)``."""
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
        cause = err.cause
        gone = isinstance(cause, ApplicationError) and cause.type == REQUEST_GONE
        raise ApplicationError(
            "binding request is gone" if gone else "binding could not be checked",
            type=REQUEST_GONE if gone else "BindingUnavailable",
        ) from err


@workflow.defn(name="ContractBinding")
class ContractBindingWorkflow:
    @workflow.run
    async def run(self, request: BindContractRequest) -> BindContractResult:
        result = await execute_bind(request)
        workflow.set_current_details(f"- {bind_event(result.status, result.contract_number, workflow.now())}")
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
        when = msk(workflow.now())
        workflow.set_current_details(
            f"- Договор № {result.contract_number} отвязан {when}"
            if result.unbound
            else f"- Договор № {result.contract_number} не был привязан к этому кабинету ({when})"
        )
        return result
