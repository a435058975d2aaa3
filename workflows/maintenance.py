"""Housekeeping on a Temporal Schedule: purge stale guessing counters.

Login-throttle rows (one per login tried, known or not) and binding counters of
unknown contract numbers grow with every probe; once quiet for their memory period
they mean nothing. The worker creates the schedule (lkk/schedules.py); each run is
one activity, so a failed purge is retried and visible in the Temporal UI.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.maintenance import MaintenanceActivities
    from workflows.messages import PurgeInput, PurgeResult


@workflow.defn(name="PurgeStaleCounters")
class PurgeStaleCountersWorkflow:
    @workflow.run
    async def run(self, params: PurgeInput) -> PurgeResult:
        result = await workflow.execute_activity_method(
            MaintenanceActivities.purge_stale_counters,
            params,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=5)),
            summary="Очистка устаревших счётчиков попыток входа и привязки",
        )
        workflow.set_current_details(
            f"Удалено счётчиков попыток входа: {result.login_throttles}, привязки договоров: {result.binding_counters}"
        )
        return result
