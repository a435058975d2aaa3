"""Many pending sign-ups waiting for confirmation: worker memory and expiry lateness.

Starts the real ``Onboarding`` workflow directly through the client (no HTTP) for
accounts that have no row (their send activity finds nothing to send and returns at
once), on the real worker process, at a steady rate, with a TTL long enough for all of
them to be waiting at once; samples the worker's RSS while they wait; then reads every
run's planned expiry (server start time + TTL) against its actual close time.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from datetime import timedelta

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from bench.procs import rss_mb
from workflows.messages import OnboardingInput
from workflows.onboarding import OnboardingWorkflow


async def run_pending(address: str, queue: str, worker: subprocess.Popen[bytes], count: int, ttl: int,
                      rate: float) -> dict[str, float]:
    client = await Client.connect(address, data_converter=pydantic_data_converter)
    prefix = f"pending-{uuid.uuid4().hex[:6]}"
    peak = rss_mb(worker.pid)

    async def start(i: int) -> None:
        await client.start_workflow(
            OnboardingWorkflow.run,
            OnboardingInput(account_id=f"{prefix}{i:06d}", login=f"bench{i}", signup_ttl_seconds=ttl,
                            resend_cooldown_seconds=60, max_resends=5),
            id=f"{prefix}-{i}", task_queue=queue,
        )

    # Arrivals at a steady rate, as registrations arrive through the API (which cannot
    # take them faster than it hashes their passwords): each one is due `ttl` later.
    t0 = time.monotonic()
    starts: list[asyncio.Task[None]] = []
    for i in range(count):
        due = t0 + i / rate
        while (now := time.monotonic()) < due:
            await asyncio.sleep(min(due - now, 0.5))
            peak = max(peak, rss_mb(worker.pid))
        starts.append(asyncio.create_task(start(i)))
    await asyncio.gather(*starts)
    start_rate = count / (time.monotonic() - t0)
    query = f"TaskQueue = '{queue}'"
    # Wait until everything closed, sampling memory while the sign-ups wait.
    while True:
        peak = max(peak, rss_mb(worker.pid))
        open_runs = (await client.count_workflows(f"{query} AND ExecutionStatus = 'Running'")).count
        if open_runs == 0:
            break
        await asyncio.sleep(1.0)
    lags = []
    async for run in client.list_workflows(query):
        planned = run.start_time + timedelta(seconds=ttl)
        lags.append((run.close_time - planned).total_seconds())
    lags.sort()
    return {
        "count": float(len(lags)),
        "start_rate": start_rate,
        "rss_peak_mb": peak,
        "lag_p50_s": lags[len(lags) // 2],
        "lag_p99_s": lags[min(len(lags) - 1, int(0.99 * len(lags)))],
        "lag_max_s": lags[-1],
    }
