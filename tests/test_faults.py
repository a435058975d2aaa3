"""Fault suite: break real processes in the middle of onboardings and check the promises.

Worker and API run as subprocesses (tests/stack.py), mail goes over SMTP into the
dev sink, Temporal is the real dev server (our own subprocess where it must be
stopped and started). See docs/architecture.md, "Failure behaviour", for the bounds
asserted here.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from lkk.models import AccountStatus
from lkk.settings import Settings
from lkk.temporal import onboarding_workflow_id
from tests.binding_harness import OPEN_LEGAL, issue, load_registry
from tests.conftest import MailSinkProcess, free_port
from tests.faults import (
    SinkProcess,
    accounts_with_login,
    own_dev_server,
    register,
    registration_body,
    wait_until,
)
from tests.harness import token_from, unique_login
from tests.mailbox import Mailbox
from tests.stack import api_process, running_stack, worker_process
from workflows.messages import OnboardingStage
from workflows.onboarding import OnboardingWorkflow

pytestmark = pytest.mark.asyncio

# At-least-once delivery: the send activity can be cut off after the SMTP server has
# accepted the mail but before Temporal records the completion; the retry sends again.
# One crash therefore costs at most one extra mail per customer (docs/architecture.md).
MAX_MAILS_AFTER_ONE_CRASH = 2


# Many sign-ups from one test client: per-IP limits would answer 429, which is not what is tested here.
LENIENT = {"rate_limit_register": "100000/minute", "rate_limit_login": "100000/minute"}


def _settings(settings: Settings, address: str, **overrides: object) -> Settings:
    return settings.model_copy(
        update={
            "temporal_address": address,
            "temporal_task_queue": f"fault-{uuid.uuid4().hex[:8]}",
            **LENIENT,
            **overrides,
        }
    )


def _dev_address(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


async def _confirmed_stage(client: Client, engine: Engine, login: str, timeout: float = 90) -> OnboardingStage:
    """Wait until the customer's onboarding run has taken the confirmation in (it then
    waits for a contract, so the run itself does not end here)."""
    (account,) = accounts_with_login(engine, login)
    handle = client.get_workflow_handle(onboarding_workflow_id(account.id))
    deadline = time.monotonic() + timeout
    while True:
        state = await handle.query(OnboardingWorkflow.state)
        if state.stage is not OnboardingStage.AWAITING_EMAIL or time.monotonic() > deadline:
            return state.stage
        await asyncio.sleep(0.2)


async def test_worker_sigkilled_mid_onboardings_every_one_completes(
    dev_server_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    config = _settings(settings, _dev_address(dev_server_env))
    logins = [unique_login("crash") for _ in range(24)]
    mailbox = mailsink.mailbox
    port = free_port()
    with api_process(config, port), httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as api:
        with worker_process(config) as worker:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as burst, \
                    httpx.AsyncClient(base_url=mailsink.http_url, timeout=10) as burst_sink:
                posting = asyncio.gather(
                    *(burst.post("/api/v1/registrations", json=registration_body(login)) for login in logins[:12])
                )
                # SIGKILL as soon as the first e-mail of the burst lands: other sends are in flight.
                while not await _any_mailed(burst_sink, logins[:12]):
                    await asyncio.sleep(0.01)
                worker.kill()  # no graceful shutdown: in-flight tasks are simply lost
                worker.wait()
                assert all(r.status_code == 202 for r in await posting)
        # The kill fell after the first e-mail of the burst (how many of the 12 were out
        # by then varies); the next 12 start while no worker runs at all.
        mailed_at_kill = sum(1 for login in logins[:12] if mailbox.search(f"to:{login}@example.ru"))
        assert mailed_at_kill >= 1
        for login in logins[12:]:  # sign-ups keep coming while no worker runs
            assert register(api, login).status_code == 202
        with worker_process(config):
            # An activity the dead worker had started is retried after its start-to-close timeout (60 s).
            mails = {
                login: await mailbox.wait_for_all_async(to=f"{login}@example.ru", timeout=120) for login in logins
            }
            for login in logins:
                confirmed = api.post("/api/v1/confirmations", json={"token": token_from(mails[login][-1])})
                assert confirmed.status_code == 200, (login, confirmed.text)
            for login in logins:
                stage = await _confirmed_stage(dev_server_env.client, engine, login)
                assert stage is OnboardingStage.AWAITING_CONTRACT
    counts = {login: len(mailbox.search(f"to:{login}@example.ru")) for login in logins}
    assert all(1 <= n <= MAX_MAILS_AFTER_ONE_CRASH for n in counts.values()), counts
    for login in logins:
        (account,) = accounts_with_login(engine, login)
        assert account.status == AccountStatus.ACTIVE


async def _any_mailed(sink: httpx.AsyncClient, logins: list[str]) -> bool:
    wanted = {f"{login}@example.ru" for login in logins}
    listing = (await sink.get("/api/v1/messages", params={"limit": 20})).json()["messages"]
    return any(a["Address"] in wanted for m in listing for a in m["To"])


@pytest.fixture
def own_sink(tmp_path: Path) -> Iterator[SinkProcess]:
    sink = SinkProcess(smtp_port=free_port(), http_port=free_port(), data_dir=tmp_path / "sink")
    sink.start()
    try:
        yield sink
    finally:
        sink.kill()


async def test_smtp_down_then_back_every_mail_is_delivered(
    dev_server_env: WorkflowEnvironment, settings: Settings, own_sink: SinkProcess
) -> None:
    config = _settings(settings, _dev_address(dev_server_env), smtp_port=own_sink.smtp_port)
    mailbox = Mailbox(own_sink.url)
    tempfail_logins = [unique_login("greylist") for _ in range(3)]
    down_logins = [unique_login("smtpdown") for _ in range(3)]
    with running_stack(config) as (front,), httpx.Client(base_url=front.api_url, timeout=30) as api:
        # 1. The server answers 451 (greylisting, full queue): nothing is accepted.
        mailbox.set_smtp_mode("tempfail")
        for login in tempfail_logins:
            assert register(api, login).status_code == 202
        await asyncio.sleep(7)  # the first attempt and the first retry (after 5 s) both fail
        assert mailbox.messages() == []
        mailbox.set_smtp_mode("accept")
        for login in tempfail_logins:
            await mailbox.wait_for_async(to=f"{login}@example.ru", timeout=60)

        # 2. The SMTP server is gone altogether (connection refused), then comes back.
        own_sink.kill()
        for login in down_logins:
            assert register(api, login).status_code == 202
        await asyncio.sleep(8)
        own_sink.start()  # same ports, same mail store
        for login in down_logins:
            await mailbox.wait_for_async(to=f"{login}@example.ru", timeout=60)
    for login in tempfail_logins + down_logins:
        assert len(mailbox.search(f"to:{login}@example.ru")) == 1  # refused mails were not accepted: no duplicates
    mailbox.close()


async def test_temporal_server_restart_pending_signups_survive_and_expire_on_time(
    tmp_path: Path, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    ttl = 25
    with own_dev_server(tmp_path) as server:
        config = _settings(settings, server.address, signup_ttl_seconds=ttl)
        logins = [unique_login("restart") for _ in range(4)]
        with running_stack(config) as (front,), httpx.Client(base_url=front.api_url, timeout=30) as api:
            for login in logins:
                assert register(api, login).status_code == 202
            # Read the ids now: on a loaded machine the sign-ups may expire (and their rows go)
            # before the server is back, which is what this test wants to see, not a failure.
            account_ids = [account.id for login in logins for account in accounts_with_login(engine, login)]
            assert len(account_ids) == len(logins)
            for login in logins:
                await mailsink.mailbox.wait_for_async(to=f"{login}@example.ru", timeout=30)
            server.stop()  # SIGTERM; state is in the SQLite file
            await asyncio.sleep(5)
            server.start()
            client = await Client.connect(server.address, data_converter=pydantic_data_converter)
            for login, account_id in zip(logins, account_ids, strict=True):
                handle = client.get_workflow_handle_for(OnboardingWorkflow.run, onboarding_workflow_id(account_id))
                result = await asyncio.wait_for(handle.result(), timeout=ttl + 60)
                assert result.stage is OnboardingStage.EXPIRED
                described = await handle.describe()
                assert described.status is WorkflowExecutionStatus.COMPLETED
                planned = described.start_time + timedelta(seconds=ttl)
                assert described.close_time is not None
                lateness = (described.close_time - planned).total_seconds()
                assert lateness < 15, f"{login} expired {lateness:.1f} s late"
            for login in logins:
                assert accounts_with_login(engine, login) == []  # login and e-mail are free again
                assert register(api, login).status_code == 202


async def test_api_killed_between_reserve_and_start_leaves_no_orphan(
    dev_server_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    claim = 6
    base = _settings(settings, _dev_address(dev_server_env), signup_claim_seconds=claim)
    doomed = base.model_copy(update={"fault_pause_after_reserve_seconds": 60.0})
    login = unique_login("orphan")
    doomed_port, healthy_port = free_port(), free_port()
    with worker_process(base), api_process(base, healthy_port), httpx.Client(
        base_url=f"http://127.0.0.1:{healthy_port}", timeout=30
    ) as healthy:
        with api_process(doomed, doomed_port) as doomed_api:
            outcome: list[object] = []

            def submit() -> None:
                try:
                    with httpx.Client(base_url=f"http://127.0.0.1:{doomed_port}", timeout=90) as web:
                        outcome.append(register(web, login))
                except httpx.HTTPError as err:
                    outcome.append(err)

            thread = threading.Thread(target=submit)
            thread.start()
            wait_until(lambda: bool(accounts_with_login(engine, login)), timeout=30, what="reservation written")
            reserved_at = time.monotonic()
            doomed_api.kill()  # SIGKILL between the reservation and the workflow start
            doomed_api.wait()
            thread.join(timeout=30)
            assert outcome and isinstance(outcome[0], httpx.HTTPError)  # the customer saw a broken connection
        (orphan,) = accounts_with_login(engine, login)
        assert orphan.status == AccountStatus.PENDING
        workflows = [wf async for wf in dev_server_env.client.list_workflows(f"WorkflowId = 'onboarding-{orphan.id}'")]
        assert workflows == []  # no workflow was started for it
        # While the claim holds the login is taken; after it lapses the login is free.
        if time.monotonic() - reserved_at < claim - 2:
            assert register(healthy, login, f"second-{login}@example.ru").status_code == 409
        await asyncio.sleep(max(0.0, claim + 1 - (time.monotonic() - reserved_at)))
        again = register(healthy, login)
        assert again.status_code == 202, again.text
        (account,) = accounts_with_login(engine, login)
        assert account.id != orphan.id  # the orphan was purged, not reused
        mail = await mailsink.mailbox.wait_for_async(to=f"{login}@example.ru", timeout=30)
        assert healthy.post("/api/v1/confirmations", json={"token": token_from(mail)}).status_code == 200


async def test_fifty_concurrent_registrations_of_one_login_make_one_account(
    dev_server_env: WorkflowEnvironment, settings: Settings, engine: Engine
) -> None:
    config = _settings(settings, _dev_address(dev_server_env))
    login = unique_login("race")
    with running_stack(config) as (front,):
        async with httpx.AsyncClient(base_url=front.api_url, timeout=60) as api:
            responses = await asyncio.gather(
                *(
                    api.post(
                        "/api/v1/registrations",
                        json={**registration_body(login), "email": f"racer{i}-{login}@example.ru"},
                    )
                    for i in range(50)
                )
            )
    codes = sorted(r.status_code for r in responses)
    assert codes.count(202) == 1, codes
    assert codes.count(409) == 49, codes
    assert all("login" in r.json()["errors"] for r in responses if r.status_code == 409)
    assert len(accounts_with_login(engine, login)) == 1


async def test_double_clicked_confirm_is_harmless(
    dev_server_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    config = _settings(settings, _dev_address(dev_server_env))
    login = unique_login("dblclick")
    with running_stack(config) as (front,):
        async with httpx.AsyncClient(base_url=front.api_url, timeout=60) as api:
            assert (await api.post("/api/v1/registrations", json=registration_body(login))).status_code == 202
            mail = await mailsink.mailbox.wait_for_async(to=f"{login}@example.ru", timeout=30)
            token = token_from(mail)
            page = await api.get("/confirm", params={"token": token})  # the «Подтвердить» form and its CSRF cookie
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert csrf, page.text[:300]
            json_clicks = [api.post("/api/v1/confirmations", json={"token": token}) for _ in range(10)]
            page_clicks = [api.post("/confirm", data={"token": token, "csrf_token": csrf.group(1)}) for _ in range(10)]
            responses = await asyncio.gather(*json_clicks, *page_clicks)
            later = await api.post("/api/v1/confirmations", json={"token": token})
        stage = await _confirmed_stage(dev_server_env.client, engine, login)
    winners = [r for r in responses if r.status_code in (200, 303)]
    assert len(winners) == 1, [r.status_code for r in responses]
    assert all(r.status_code == 409 for r in responses if r not in winners), [r.status_code for r in responses]
    assert later.status_code == 409 and later.json()["outcome"] == "already_confirmed"
    assert stage is OnboardingStage.AWAITING_CONTRACT
    (account,) = accounts_with_login(engine, login)
    assert account.status == AccountStatus.ACTIVE


async def test_repeated_bind_and_reset_submits_are_harmless(
    dev_server_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    """Ten simultaneous «Привязать договор» with one code bind it once; ten simultaneous
    «Сбросить пароль» start one recovery and send one e-mail."""
    config = _settings(
        settings, _dev_address(dev_server_env),
        rate_limit_binding="100000/minute", rate_limit_password_reset="100000/minute", password_reset_min_response_ms=0,
    )
    load_registry(engine)
    code = issue(engine, OPEN_LEGAL[0])
    login = unique_login("dblbind")
    email = f"{login}@example.ru"
    with running_stack(config) as (front,):
        async with httpx.AsyncClient(base_url=front.api_url, timeout=90) as api:
            assert (await api.post("/api/v1/registrations", json=registration_body(login))).status_code == 202
            mail = await mailsink.mailbox.wait_for_async(to=email, timeout=30)
            confirmed = await api.post("/api/v1/confirmations", json={"token": token_from(mail)})
            assert confirmed.status_code == 200  # the session cookie is now on the client
            body = {"contract_number": OPEN_LEGAL[0], "inn": OPEN_LEGAL[1], "kpp": OPEN_LEGAL[2], "code": code}
            binds = await asyncio.gather(*(api.post("/api/v1/contracts", json=body) for _ in range(10)))
            statuses = sorted((r.status_code, r.json()["status"]) for r in binds)
            assert statuses.count((201, "bound")) == 1, statuses
            # Attempts in flight count as guesses until checked (docs/security.md): beyond the
            # lockout threshold, a submission that arrives before the first one has bound may
            # be told «locked»; never anything else, and never more than the surplus.
            others = [s for s in statuses if s != (201, "bound")]
            assert set(others) <= {(200, "already_bound_to_you"), (429, "locked")}, statuses
            assert others.count((429, "locked")) <= 10 - config.billing_lockout_threshold, statuses
            listed = (await api.get("/api/v1/contracts")).json()
            assert [c["number"] for c in listed["contracts"]] == [OPEN_LEGAL[0]]

            resets = await asyncio.gather(
                *(api.post("/api/v1/password-resets", json={"login": login, "email": email}) for _ in range(10))
            )
            assert all(r.status_code == 202 for r in resets), [r.status_code for r in resets]
            await mailsink.mailbox.wait_for_async(to=email, subject_contains="Восстановление пароля", timeout=30)
            await asyncio.sleep(3)  # room for any duplicate to arrive
    recovery_mails = [m for m in mailsink.mailbox.search(f"to:{email}") if "Восстановление пароля" in m["Subject"]]
    assert len(recovery_mails) == 1, [m["Subject"] for m in recovery_mails]
