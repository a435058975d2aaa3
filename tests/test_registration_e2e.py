"""Registration end to end on the real Temporal dev server: the worker and the API
run as subprocesses, mail goes over SMTP into the sink, the customer's side is HTTP."""

from __future__ import annotations

import asyncio
import re
import uuid

import httpx
import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from lkk.settings import Settings
from tests.conftest import CAPTCHA_TEST_ANSWER, MailSinkProcess
from tests.harness import PASSWORD, token_from, unique_login
from tests.stack import running_stack
from workflows.messages import OnboardingInput, OnboardingStage
from workflows.onboarding import OnboardingWorkflow
from workflows.search_attributes import LKK_LOGIN, LKK_STAGE

pytestmark = pytest.mark.asyncio


def _dev_settings(settings: Settings, env: WorkflowEnvironment, **overrides: object) -> Settings:
    return settings.model_copy(
        update={
            "temporal_address": env.client.service_client.config.target_host,
            "temporal_task_queue": f"e2e-{uuid.uuid4().hex[:8]}",
            **overrides,
        }
    )


def _csrf(page: httpx.Response) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "every form carries a CSRF token"
    return token.group(1)


def _register(web: httpx.Client, login: str, email: str) -> httpx.Response:
    page = web.get("/register")
    assert page.status_code == 200 and "Регистрация пользователя" in page.text
    captcha_id = re.search(r'name="captcha_id" value="([^"]+)"', page.text)
    assert captcha_id, "the form carries a captcha challenge"
    return web.post(
        "/register",
        data={
            "csrf_token": _csrf(page),
            "login": login,
            "email": email,
            "phone": "8 (912) 345-67-89",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
            "captcha_id": captcha_id.group(1),
            "captcha_answer": CAPTCHA_TEST_ANSWER,
        },
    )


async def test_sign_up_confirm_and_land_on_profile(
    dev_server_env: WorkflowEnvironment, settings: Settings, mailsink: MailSinkProcess
) -> None:
    config = _dev_settings(settings, dev_server_env)
    login = unique_login("e2e")
    email = f"{login}@example.ru"
    with running_stack(config) as (front,), httpx.Client(base_url=front.api_url, timeout=30) as web:
        registered = _register(web, login, email)
        assert registered.status_code == 303 and registered.headers["location"] == "/register/sent"
        sent_page = web.get("/register/sent")
        assert "Проверьте почту" in sent_page.text

        mail = await mailsink.mailbox.wait_for_async(to=email, timeout=30)
        assert mail["Subject"] == "Подтверждение регистрации в Личном кабинете клиента"
        assert login in mail["Text"]
        token = token_from(mail)
        link = f"{front.api_url}/confirm?token={token}"
        assert link in mail["HTML"]  # built from the configured public URL

        confirm_page = web.get(link)
        assert confirm_page.status_code == 200 and "Подтвердить" in confirm_page.text
        forged = web.post("/confirm", data={"token": token})
        assert forged.status_code == 403  # no CSRF token: refused, nothing confirmed
        confirmed = web.post("/confirm", data={"token": token, "csrf_token": _csrf(confirm_page)})
        assert confirmed.status_code == 303 and confirmed.headers["location"].startswith("/profile")
        profile = web.get("/profile")
        assert profile.status_code == 200
        assert "Профиль" in profile.text and login in profile.text

        # The run in Temporal: confirmed, contract stage open, searchable by login.
        client = dev_server_env.client
        account_runs = [
            run async for run in client.list_workflows(f"LkkLogin = '{login}'")
        ]
        assert len(account_runs) == 1
        handle = client.get_workflow_handle_for(OnboardingWorkflow.run, account_runs[0].id)
        state = await handle.query(OnboardingWorkflow.state)
        assert state.stage is OnboardingStage.AWAITING_CONTRACT  # it waits for a contract binding
        description = await handle.describe()
        assert description.typed_search_attributes.get(LKK_LOGIN) == login
        assert description.typed_search_attributes.get(LKK_STAGE) == OnboardingStage.AWAITING_CONTRACT.value


async def test_unconfirmed_sign_up_expires_and_login_is_free_again(
    dev_server_env: WorkflowEnvironment, settings: Settings, mailsink: MailSinkProcess
) -> None:
    config = _dev_settings(settings, dev_server_env, signup_ttl_seconds=4)
    login = unique_login("stale")
    email = f"{login}@example.ru"
    with running_stack(config) as (front,), httpx.Client(base_url=front.api_url, timeout=30) as web:
        assert _register(web, login, email).status_code == 303
        taken = _register(web, login, f"other-{email}")
        assert taken.status_code == 422 and "Этот логин уже занят" in taken.text

        mail = await mailsink.mailbox.wait_for_async(to=email, timeout=30)
        runs = [run async for run in dev_server_env.client.list_workflows(f"LkkLogin = '{login}'")]
        handle = dev_server_env.client.get_workflow_handle_for(OnboardingWorkflow.run, runs[0].id)
        result = await asyncio.wait_for(handle.result(), timeout=60)
        assert result.stage is OnboardingStage.EXPIRED

        late = web.post("/confirm", data={"token": token_from(mail), "csrf_token": _csrf(web.get("/login"))})
        assert late.status_code in (400, 410)
        again = _register(web, login, email)
        assert again.status_code == 303, again.text
        runs_now = {run.id async for run in dev_server_env.client.list_workflows(f"LkkLogin = '{login}'")}
        assert len(runs_now) == 2 and runs[0].id in runs_now  # a new onboarding, a new workflow id


async def test_expiry_jitter_keeps_each_ttl_in_its_window(
    dev_server_env: WorkflowEnvironment, settings: Settings, mailsink: MailSinkProcess
) -> None:
    """The API draws each sign-up's TTL in [ttl, ttl + jitter] and hands it to the workflow
    in its input (the workflow itself stays deterministic): a burst does not expire at once."""
    ttl, jitter = 600, 3600
    config = _dev_settings(settings, dev_server_env, signup_ttl_seconds=ttl, signup_expiry_jitter_seconds=jitter)
    drawn: list[int] = []
    with running_stack(config) as (front,), httpx.Client(base_url=front.api_url, timeout=30) as web:
        for _ in range(3):
            login = unique_login("jit")
            assert _register(web, login, f"{login}@example.ru").status_code == 303
            runs = [run async for run in dev_server_env.client.list_workflows(f"LkkLogin = '{login}'")]
            history = await dev_server_env.client.get_workflow_handle(runs[0].id).fetch_history()
            started = history.events[0].workflow_execution_started_event_attributes
            (params,) = pydantic_data_converter.payload_converter.from_payloads(started.input.payloads, [OnboardingInput])
            drawn.append(params.signup_ttl_seconds)
            state = await dev_server_env.client.get_workflow_handle_for(OnboardingWorkflow.run, runs[0].id).query(
                OnboardingWorkflow.state
            )
            lives = (state.signup_expires_at - runs[0].start_time).total_seconds()
            assert params.signup_ttl_seconds - 1 <= lives <= params.signup_ttl_seconds + 30  # the workflow's own deadline
    assert all(ttl <= drawn_ttl <= ttl + jitter for drawn_ttl in drawn), drawn
    assert len(set(drawn)) > 1, drawn  # random: three equal draws of 3601 values would be a fixed offset
