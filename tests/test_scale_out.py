"""Scale-out: two API processes and two workers share one database and one Temporal
namespace (one dev server), as behind a load balancer. Whatever replica a request
lands on, the outcome is the one a single replica would give.

Covered here: sign-ups and confirmations through either API, one account per login,
the resend cooldown, one owner per contract and login lockouts across both APIs.
Per-IP rate limits shared through Redis: tests/test_rate_limit_redis.py. Add a test
here per new cross-replica rule, using ``Replicas``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import Session, select
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from lkk.db import make_engine
from lkk.models import Account, AccountStatus
from lkk.settings import Settings
from tests.binding_harness import OPEN_LEGAL, issue, load_registry
from tests.conftest import CAPTCHA_TEST_ANSWER, MailSinkProcess
from tests.faults import registration_body
from tests.harness import PASSWORD, token_from, unique_login
from tests.stack import Stack, running_stack
from workflows.messages import OnboardingResult, OnboardingStage, OnboardingState
from workflows.onboarding import OnboardingWorkflow

pytestmark = pytest.mark.asyncio


@dataclass
class Replicas:
    """Two API replicas (``a``, ``b``), two workers, and what the test inspects."""

    a: Stack
    b: Stack
    settings: Settings
    client: Client
    mailsink: MailSinkProcess

    async def register(self, front: Stack, login: str, email: str | None = None) -> httpx.Response:
        async with httpx.AsyncClient(base_url=front.api_url, timeout=30) as web:
            return await web.post("/api/v1/registrations", json=registration_body(login, email))

    async def confirm(self, front: Stack, token: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=front.api_url, timeout=30) as web:
            return await web.post("/api/v1/confirmations", json={"token": token})

    async def token_for(self, email: str, count: int = 1) -> str:
        return token_from(await self.mailsink.mailbox.wait_for_async(to=email, count=count, timeout=60))

    def accounts(self, login: str) -> list[Account]:
        engine = make_engine(self.settings.database_url)
        try:
            with Session(engine) as session:
                return list(session.exec(select(Account).where(func.lower(Account.login) == login.lower())))
        finally:
            engine.dispose()

    async def runs(self, login: str) -> list[str]:
        return [run.id async for run in self.client.list_workflows(f"LkkLogin = '{login}'")]


@pytest.fixture
def replicas(dev_server_env: WorkflowEnvironment, settings: Settings, mailsink: MailSinkProcess) -> Iterator[Replicas]:
    config = settings.model_copy(
        update={
            "temporal_address": dev_server_env.client.service_client.config.target_host,
            "temporal_task_queue": f"scale-{uuid.uuid4().hex[:8]}",
        }
    )
    with running_stack(config, workers=2, apis=2) as (a, b):
        yield Replicas(a=a, b=b, settings=a.settings, client=dev_server_env.client, mailsink=mailsink)


async def _pollers(client: Client, task_queue: str, kind: TaskQueueType.ValueType) -> set[str]:
    described = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(namespace=client.namespace, task_queue=TaskQueue(name=task_queue), task_queue_type=kind)
    )
    return {poller.identity for poller in described.pollers}


async def test_both_workers_poll_the_shared_task_queue(replicas: Replicas) -> None:
    queue = replicas.settings.temporal_task_queue
    for kind in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY):
        seen: set[str] = set()
        for _ in range(120):  # pollers show up once each worker has polled this queue
            seen |= await _pollers(replicas.client, queue, kind)
            if len(seen) >= 2:
                break
            await asyncio.sleep(0.5)
        assert len(seen) == 2, (TaskQueueType.Name(kind), seen)


async def _settled_state(handle: WorkflowHandle[OnboardingWorkflow, OnboardingResult]) -> OnboardingState:
    """The run's state once the confirmation signal has been processed (it then waits for a contract)."""
    for _ in range(150):
        state = await handle.query(OnboardingWorkflow.state)
        if state.stage is not OnboardingStage.AWAITING_EMAIL:
            return state
        await asyncio.sleep(0.2)
    raise AssertionError("the confirmation never reached the workflow")


async def test_sign_ups_and_confirmations_through_either_api(replicas: Replicas) -> None:
    logins = [unique_login("scale") for _ in range(6)]
    fronts = [replicas.a, replicas.b]
    created = await asyncio.gather(*(replicas.register(fronts[i % 2], login) for i, login in enumerate(logins)))
    assert [r.status_code for r in created] == [202] * len(logins), [r.text for r in created]

    for i, login in enumerate(logins):
        token = await replicas.token_for(f"{login}@example.ru")
        # The link works on the other replica; a second use anywhere is "already confirmed".
        confirmed = await replicas.confirm(fronts[(i + 1) % 2], token)
        assert confirmed.status_code == 200 and confirmed.json() == {"outcome": "confirmed"}
        again = await replicas.confirm(fronts[i % 2], token)
        assert again.status_code == 409

    for login in logins:
        (account,) = replicas.accounts(login)
        assert account.status == AccountStatus.ACTIVE
        (run_id,) = await replicas.runs(login)
        handle = replicas.client.get_workflow_handle_for(OnboardingWorkflow.run, run_id)
        state = await _settled_state(handle)
        assert state.stage is OnboardingStage.AWAITING_CONTRACT and state.emails_sent == 1


async def test_the_same_login_through_both_apis_at_once_makes_one_account(replicas: Replicas) -> None:
    for round_ in range(4):
        login = unique_login("twin")
        # Different e-mails, so only the login collides (then the same e-mail too).
        email_b = f"other-{login}@example.ru" if round_ % 2 == 0 else None
        first, second = await asyncio.gather(
            replicas.register(replicas.a, login), replicas.register(replicas.b, login, email_b)
        )
        statuses = sorted([first.status_code, second.status_code])
        assert statuses == [202, 409], (first.text, second.text)
        loser = first if first.status_code == 409 else second
        assert "login" in loser.json()["errors"]
        assert len(replicas.accounts(login)) == 1
        assert len(await replicas.runs(login)) == 1


async def test_resend_cooldown_holds_across_apis(replicas: Replicas) -> None:
    """The cooldown lives in the workflow, not in a replica's memory."""
    login = unique_login("resend")
    created = await replicas.register(replicas.a, login)
    assert created.status_code == 202
    handle = created.json()["registration_handle"]
    await replicas.token_for(f"{login}@example.ru")
    async with httpx.AsyncClient(base_url=replicas.b.api_url, timeout=30) as web:
        refused = await web.post("/api/v1/registrations/resend", json={"registration_handle": handle})
    assert refused.status_code == 429 and refused.json()["outcome"] == "cooldown"


async def test_bindings_and_lockouts_hold_across_apis(replicas: Replicas) -> None:
    """One contract, two cabinets on two replicas at once: one owner. Failed logins
    spread over both replicas add up to one lockout (the counters live in the DB)."""
    engine = make_engine(replicas.settings.database_url)
    try:
        load_registry(engine)
        code = issue(engine, OPEN_LEGAL[0])
    finally:
        engine.dispose()
    owners = [unique_login("bind-a"), unique_login("bind-b")]
    fronts = [replicas.a, replicas.b]
    sessions: list[httpx.AsyncClient] = []
    try:
        for login, front in zip(owners, fronts, strict=True):
            assert (await replicas.register(front, login)).status_code == 202
            web = httpx.AsyncClient(base_url=front.api_url, timeout=90)
            sessions.append(web)
            token = await replicas.token_for(f"{login}@example.ru")
            assert (await web.post("/api/v1/confirmations", json={"token": token})).status_code == 200
        body = {"contract_number": OPEN_LEGAL[0], "inn": OPEN_LEGAL[1], "kpp": OPEN_LEGAL[2], "code": code}
        answers = await asyncio.gather(*(web.post("/api/v1/contracts", json=body) for web in sessions))
        statuses = sorted(answer.json()["status"] for answer in answers)
        assert statuses == ["bound", "bound_to_another"], [a.text for a in answers]

        # Wrong passwords alternate between the replicas; the lockout counts them all.
        victim = owners[0]
        for attempt in range(replicas.settings.login_lockout_after_failures):
            front = fronts[attempt % 2]
            async with httpx.AsyncClient(base_url=front.api_url, timeout=30) as web:
                wrong = {"login": victim, "password": f"неверный-{attempt}", "captcha_answer": CAPTCHA_TEST_ANSWER}
                assert (await web.post("/api/v1/session", json=wrong)).status_code == 401
        for front in fronts:  # now locked on both, even with the right password
            async with httpx.AsyncClient(base_url=front.api_url, timeout=30) as web:
                right = {"login": victim, "password": PASSWORD, "captcha_answer": CAPTCHA_TEST_ANSWER}
                locked = await web.post("/api/v1/session", json=right)
                assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0, locked.text
    finally:
        for web in sessions:
            await web.aclose()
