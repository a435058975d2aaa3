"""Stale guessing counters are purged on a Temporal Schedule (issue 12, §7), not only
when an API process starts: the real worker creates the schedule (idempotently) on
the Temporal dev server, and its runs empty the tables of quiet rows."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from lkk.billing.models import AttemptSubject, BindingAttemptCounter
from lkk.db import session_scope
from lkk.models import LoginThrottle
from lkk.schedules import ensure_purge_schedule, purge_schedule_id
from lkk.settings import Settings
from lkk.timeutil import utcnow
from worker import run_worker

pytestmark = pytest.mark.asyncio


def _plant(engine: Engine) -> None:
    now = utcnow()
    stale, fresh = now - timedelta(days=2), now - timedelta(minutes=1)
    with session_scope(engine) as session:
        session.add(LoginThrottle(key_hash="stale".ljust(64, "0"), failures=4, last_failure_at=stale))
        session.add(LoginThrottle(key_hash="fresh".ljust(64, "0"), failures=2, last_failure_at=fresh))
        for key, at in (("0000-NO-SUCH-1", stale), ("0000-NO-SUCH-2", fresh)):
            session.add(BindingAttemptCounter(
                subject_kind=AttemptSubject.CONTRACT.value, subject_key=key, failures=3, last_failure_at=at
            ))


def _left(engine: Engine) -> tuple[list[str], list[str]]:
    with session_scope(engine) as session:
        throttles = [k[:5] for k in session.exec(select(LoginThrottle.key_hash)).all()]
        counters = list(session.exec(select(BindingAttemptCounter.subject_key)).all())
    return sorted(throttles), sorted(counters)


async def _schedule_ids(client: Client) -> list[str]:
    """Schedules as the visibility store lists them (it may lag a moment behind a create)."""
    for _ in range(20):
        ids = [s.id async for s in await client.list_schedules()]
        if ids:
            return ids
        await asyncio.sleep(0.5)
    return []


async def test_the_worker_schedules_the_purge_of_stale_counters(
    dev_server_env: WorkflowEnvironment, settings: Settings, engine: Engine
) -> None:
    config = settings.model_copy(update={
        "temporal_address": dev_server_env.client.service_client.config.target_host,
        "temporal_task_queue": f"purge-{uuid.uuid4().hex[:8]}",
        "purge_interval_seconds": 2,
    })
    _plant(engine)
    client = dev_server_env.client
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(config, stop))
    schedule = client.get_schedule_handle(purge_schedule_id(config))
    try:
        deadline = asyncio.get_running_loop().time() + 60
        while _left(engine) != (["fresh"], ["0000-NO-SUCH-2"]):
            assert asyncio.get_running_loop().time() < deadline, _left(engine)
            assert not worker.done(), worker
            await asyncio.sleep(0.5)
        # Created by the worker, idempotently: another start (a second replica) changes nothing.
        await ensure_purge_schedule(client, config)
        assert (await _schedule_ids(client)).count(purge_schedule_id(config)) == 1
        description = await schedule.describe()
        assert description.info.num_actions >= 1
        runs = [r async for r in client.list_workflows(f"WorkflowType = 'PurgeStaleCounters' AND TaskQueue = '{config.temporal_task_queue}'")]
        assert runs, "the schedule started purge runs"
    finally:
        stop.set()
        await asyncio.wait_for(worker, 60)
        await schedule.delete()
