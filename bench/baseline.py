"""The bare Temporal baseline: a workflow of the onboarding's shape with no business code.

start → activity → wait for a signal → activity, client and worker in this process
(as in the notes' measurement), against the same dev server as ЛКК.
"""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

from bench.load import closed_loop

_ready: dict[str, asyncio.Future[None]] = {}


@activity.defn(name="bare_first")
async def bare_first(key: str) -> None:
    future = _ready.get(key)
    if future and not future.done():
        future.set_result(None)  # the "mail" is out: the driver may now "click the link"


@activity.defn(name="bare_second")
async def bare_second(key: str) -> None:
    return None


@workflow.defn(name="BareOnboarding", sandboxed=False)
class BareOnboarding:
    def __init__(self) -> None:
        self._signalled = False

    @workflow.run
    async def run(self, key: str) -> None:
        await workflow.execute_activity(bare_first, key, start_to_close_timeout=timedelta(seconds=30))
        await workflow.wait_condition(lambda: self._signalled)
        await workflow.execute_activity(bare_second, key, start_to_close_timeout=timedelta(seconds=30))

    @workflow.signal
    def go(self) -> None:
        self._signalled = True


async def run_baseline(address: str, users: int, duration: float) -> tuple[int, float]:
    client = await Client.connect(address)
    queue = f"bare-{uuid.uuid4().hex[:8]}"
    loop = asyncio.get_running_loop()

    async def one(n: int) -> bool:
        key = f"bare-{queue}-{n}"
        mailed = _ready[key] = loop.create_future()
        handle = await client.start_workflow(BareOnboarding.run, key, id=key, task_queue=queue)
        try:
            await mailed
        finally:
            _ready.pop(key, None)
        await handle.signal(BareOnboarding.go)
        await handle.result()
        return True

    with ThreadPoolExecutor(8) as executor:
        async with Worker(client, task_queue=queue, workflows=[BareOnboarding], activities=[bare_first, bare_second],
                          activity_executor=executor):
            return await closed_loop(users, duration, one)
