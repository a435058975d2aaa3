"""Pending sign-ups as the product keeps them: an account row in the app DB and a
running ``Onboarding`` workflow (its first activity mails the link to the sink), then
what waiting and expiring costs.

Sign-ups are created here without HTTP (the row as the API reserves it, one argon2 hash
reused for all, and the workflow started with the API's search attributes), at a given
rate or in one burst. Lateness is read from the histories of the runs:

- start backlog = first workflow task started − workflow started: how long the run
  waited for a worker (a backlog of first tasks, not a late timer);
- expiry lateness = close − (first workflow task + TTL): the workflow computes its
  deadline from ``workflow.now()`` in that first task, so this is the timer's lateness
  plus the closing tasks, without the backlog.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import subprocess
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from bench.procs import rss_mb
from bench.stats import percentile
from lkk.models import SignupBase
from lkk.store import signups
from lkk.temporal import onboarding_workflow_id
from workflows.messages import OnboardingInput, OnboardingStage
from workflows.onboarding import OnboardingWorkflow
from workflows.search_attributes import LKK_LOGIN, LKK_STAGE

HISTORY_SAMPLE = 1000  # histories read per point: enough for a p99, cheap next to the point


@dataclass
class Created:
    """Sign-ups this phase created: workflow id → its TTL (s), in start order."""

    ttl: dict[str, int] = field(default_factory=dict)

    @property
    def last_id(self) -> str:
        return next(reversed(self.ttl))


class SignupMaker:
    """Creates sign-ups as the API does after its captcha and hash: the row, then the workflow."""

    def __init__(self, client: Client, engine: Engine, queue: str, password_hash: str, tag: str) -> None:
        self.client, self.engine, self.queue, self.password_hash, self.tag = client, engine, queue, password_hash, tag
        self.created = Created()

    def _reserve(self, login: str) -> str:
        now = datetime.now(UTC)
        with Session(self.engine) as session:
            return signups.reserve(session, SignupBase(login=login, email=f"{login}@example.ru"), self.password_hash,
                                   now=now, claim_until=now + timedelta(minutes=15))

    async def one(self, n: int, ttl: int) -> None:
        login = f"{self.tag}-{n}"
        account_id = await asyncio.to_thread(self._reserve, login)
        workflow_id = onboarding_workflow_id(account_id)
        self.created.ttl[workflow_id] = ttl
        await self.client.start_workflow(
            OnboardingWorkflow.run,
            OnboardingInput(account_id=account_id, login=login, signup_ttl_seconds=ttl,
                            resend_cooldown_seconds=60, max_resends=5),
            id=workflow_id, task_queue=self.queue,
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(LKK_LOGIN, login),
                 SearchAttributePair(LKK_STAGE, OnboardingStage.AWAITING_EMAIL.value)]),
            static_summary=f"Подключение клиента {login}",
        )

    async def at_rate(self, count: int, rate: float, ttl: int, tick: Callable[[], None]) -> float:
        """``count`` sign-ups arriving at a steady ``rate``; returns the rate achieved."""
        t0 = time.monotonic()
        starts: list[asyncio.Task[None]] = []
        for i in range(count):
            due = t0 + i / rate
            while (now := time.monotonic()) < due:
                await asyncio.sleep(min(due - now, 0.5))
                tick()
            starts.append(asyncio.create_task(self.one(i, ttl)))
        await asyncio.gather(*starts)
        return count / (time.monotonic() - t0)

    async def burst(self, count: int, ttl: Callable[[], int], in_flight: int = 32) -> float:
        """``count`` sign-ups as fast as they go (a batch import); returns the rate achieved."""
        t0 = time.monotonic()
        queue = iter(range(count))

        async def lane() -> None:
            for i in queue:
                await self.one(i, ttl())

        await asyncio.gather(*(lane() for _ in range(in_flight)))
        return count / (time.monotonic() - t0)


async def wait_until_waiting(client: Client, workflow_id: str, timeout: float, tick: Callable[[], None]) -> float:
    """Until the given run (the last one started) has set its expiry timer, i.e. the
    backlog of first tasks is worked off; returns the seconds waited."""
    t0 = time.monotonic()
    handle = client.get_workflow_handle(workflow_id)
    while time.monotonic() - t0 < timeout:
        history = await handle.fetch_history()
        if any(e.event_type == EventType.EVENT_TYPE_TIMER_STARTED for e in history.events):
            break
        tick()
        await asyncio.sleep(1.0)
    return time.monotonic() - t0


async def wait_all_closed(client: Client, queue: str, timeout: float, tick: Callable[[], None]) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tick()
        if (await client.count_workflows(f"TaskQueue = '{queue}' AND ExecutionStatus = 'Running'")).count == 0:
            return True
        await asyncio.sleep(1.0)
    return False


@dataclass(frozen=True)
class Lateness:
    backlog_s: list[float]
    late_s: list[float]

    def show(self, which: str) -> str:
        values = self.backlog_s if which == "backlog" else self.late_s
        return " / ".join(f"{percentile(values, q):.1f}" for q in (0.5, 0.99, 1.0)) + " s"


async def lateness(client: Client, created: Created, sample: int = HISTORY_SAMPLE) -> Lateness:
    """Start backlog and expiry lateness of (a uniform sample of) the closed runs."""
    ids = list(created.ttl)
    if len(ids) > sample:
        ids = sorted(random.Random(0).sample(ids, sample), key=ids.index)
    gate = asyncio.Semaphore(8)

    async def one(workflow_id: str) -> tuple[float, float] | None:
        async with gate:
            events = (await client.get_workflow_handle(workflow_id).fetch_history()).events
        first_task = next((e for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED), None)
        if first_task is None or not events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            return None
        started, task, closed = (e.event_time.ToDatetime() for e in (events[0], first_task, events[-1]))
        deadline = task + timedelta(seconds=created.ttl[workflow_id])
        return (task - started).total_seconds(), (closed - deadline).total_seconds()

    pairs = [p for p in await asyncio.gather(*(one(i) for i in ids)) if p is not None]
    return Lateness(backlog_s=[b for b, _ in pairs], late_s=[late for _, late in pairs])


def db_bytes(db_file: Path) -> int:
    """Live pages of an SQLite database, as a reader sees it (WAL included, free pages not):
    the file's own size jumps with checkpoints and the WAL's reuse."""
    uri = f"file:{db_file}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True, timeout=30)) as db:
        pages, free, size = (db.execute(f"PRAGMA {name}").fetchone()[0]
                             for name in ("page_count", "freelist_count", "page_size"))
    return (pages - free) * size


class RssPeak:
    """The highest resident memory seen of each process, sampled whenever ``tick`` runs."""

    def __init__(self, **pids: int) -> None:
        self.pids = pids
        self.peak = {name: 0.0 for name in pids}
        self.tick()

    def tick(self) -> None:
        for name, pid in self.pids.items():
            try:
                self.peak[name] = max(self.peak[name], rss_mb(pid))
            except (OSError, RuntimeError):
                pass  # exited


def still_running(proc: subprocess.Popen[bytes]) -> bool:
    return proc.poll() is None
