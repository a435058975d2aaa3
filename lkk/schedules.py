"""Temporal Schedules the worker owns, created idempotently at its start.

Several workers starting at once race to create the same schedule: the loser's
"already exists" is success. An existing schedule whose interval or task queue
differs from the settings is updated to match them.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from lkk.settings import Settings
from workflows.maintenance import PurgeStaleCountersWorkflow
from workflows.messages import PurgeInput

log = logging.getLogger(__name__)



def purge_schedule_id(settings: Settings) -> str:
    """One schedule per task queue: deployments sharing a namespace do not collide."""
    return f"lkk-purge-stale-counters-{settings.temporal_task_queue}"


def purge_schedule(settings: Settings) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            PurgeStaleCountersWorkflow.run,
            PurgeInput(),
            id=purge_schedule_id(settings),  # the schedule appends each run's time
            task_queue=settings.temporal_task_queue,
            execution_timeout=timedelta(hours=1),
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=settings.purge_interval_seconds))]),
        # One purge at a time; a run missed while the worker was down is not worth catching up on.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(minutes=1)),
    )


async def ensure_purge_schedule(client: Client, settings: Settings) -> None:
    schedule_id = purge_schedule_id(settings)
    wanted = purge_schedule(settings)
    try:
        await client.create_schedule(schedule_id, wanted)
        log.info("created schedule %s (every %d s)", schedule_id, settings.purge_interval_seconds)
        return
    except ScheduleAlreadyRunningError:
        pass

    def update(_input: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(schedule=wanted)

    await client.get_schedule_handle(schedule_id).update(update)
