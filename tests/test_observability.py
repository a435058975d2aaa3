"""Metrics and logs: Prometheus text from the API and the worker, JSON log lines that
carry the workflow id, and no secret or personal data in either."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from lkk.logging_setup import make_handler
from lkk.models import Account
from lkk.settings import LogFormat, Settings
from lkk.temporal import onboarding_workflow_id
from tests.conftest import MailSinkProcess, free_port, wait_http
from tests.harness import PASSWORD, confirm, confirmation_token, context, running_worker, sign_up, token_from, unique_login
from tests.stack import running_stack
from tests.test_registration_e2e import _csrf, _register
from workflows.messages import OnboardingResult, OnboardingStage
from workflows.onboarding import OnboardingWorkflow


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Everything logged in this process, formatted exactly as production does."""
    stream = io.StringIO()
    handler = make_handler(Settings(_env_file=None, log_format=LogFormat.JSON), stream)  # type: ignore[call-arg]
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


async def test_onboarding_logs_are_json_with_workflow_id_and_no_secrets(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess,
    json_log: io.StringIO,
) -> None:
    client = time_skipping_env.client
    before = {
        "started": _value("lkk_signups_started_total"),
        "confirmed": _value("lkk_signups_confirmed_total"),
        "expired": _value("lkk_signups_expired_total"),
        "sent": _value("lkk_confirmation_emails_total", outcome="sent"),
    }
    async with running_worker(client, settings) as worker_settings:
        ctx = context(worker_settings, engine, client)
        login, other = unique_login("logs"), unique_login("logs-exp")
        email = f"{login}@example.ru"
        registered = await sign_up(ctx, login)
        token = await confirmation_token(mailsink.mailbox, email)
        assert (await confirm(ctx, token)).session_token
        workflow_id = onboarding_workflow_id(registered.account_id)
        await time_skipping_env.sleep(timedelta(seconds=1))  # the confirmation signal is processed
        state = await client.get_workflow_handle(workflow_id).query(OnboardingWorkflow.state)
        assert state.stage is OnboardingStage.AWAITING_CONTRACT  # confirmed; now it waits for a contract
        stale = await sign_up(ctx, other)
        await confirmation_token(mailsink.mailbox, f"{other}@example.ru")
        await time_skipping_env.sleep(timedelta(hours=72, minutes=1))
        stale_result = await client.get_workflow_handle(
            onboarding_workflow_id(stale.account_id), result_type=OnboardingResult
        ).result()
        assert stale_result.stage is OnboardingStage.EXPIRED

    with Session(engine) as session:
        account = session.exec(select(Account).where(Account.login == login)).one()
    text = json_log.getvalue()
    for secret in (PASSWORD, token, account.password_hash, email, f"{other}@example.ru"):
        assert secret not in text

    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= r.keys() for r in records)
    mine = [r for r in records if registered.account_id in r["message"]]
    messages = " | ".join(r["message"] for r in mine)
    assert "started" in messages and "confirmed" in messages and "e-mail #0 sent" in messages
    assert all(r.get("workflow_id") == workflow_id for r in mine), mine  # API and activity lines alike
    expiry = [r for r in records if stale.account_id in r["message"] and "expiry" in r["message"]]
    assert expiry and expiry[0]["workflow_id"] == onboarding_workflow_id(stale.account_id)
    assert expiry[0]["activity"] == "expire_signup"

    assert _value("lkk_signups_started_total") == before["started"] + 2
    assert _value("lkk_signups_confirmed_total") == before["confirmed"] + 1
    assert _value("lkk_signups_expired_total") == before["expired"] + 1
    assert _value("lkk_confirmation_emails_total", outcome="sent") == before["sent"] + 2


async def test_api_and_worker_serve_prometheus_metrics_without_personal_data(
    dev_server_env: WorkflowEnvironment, settings: Settings, mailsink: MailSinkProcess
) -> None:
    sdk_port, app_port = free_port(), free_port()
    config = settings.model_copy(
        update={
            "temporal_address": dev_server_env.client.service_client.config.target_host,
            "temporal_task_queue": f"metrics-{uuid.uuid4().hex[:8]}",
            "worker_metrics_bind": f"127.0.0.1:{sdk_port}",
            "worker_app_metrics_bind": f"127.0.0.1:{app_port}",
        }
    )
    login = unique_login("metrics")
    email = f"{login}@example.ru"
    with running_stack(config) as (front,), httpx.Client(base_url=front.api_url, timeout=30) as web:
        assert _register(web, login, email).status_code == 303
        token = token_from(await mailsink.mailbox.wait_for_async(to=email, timeout=30))
        confirm_page = web.get(f"/confirm?token={token}")
        assert confirm_page.status_code == 200
        assert web.post("/confirm", data={"token": token, "csrf_token": _csrf(confirm_page)}).status_code == 303

        api = web.get("/metrics")
        assert api.status_code == 200 and api.headers["content-type"].startswith("text/plain")
        assert "lkk_signups_started_total 1.0" in api.text
        assert "lkk_signups_confirmed_total 1.0" in api.text
        assert 'lkk_http_requests_total{method="POST",route="/register",status="303"} 1.0' in api.text
        assert 'lkk_http_requests_total{method="GET",route="/confirm",status="200"} 1.0' in api.text
        assert 'lkk_http_request_duration_seconds_count{method="POST",route="/register"} 1.0' in api.text
        assert "lkk_login_lockouts_total" in api.text and "lkk_contract_bindings_total" in api.text

        wait_http(f"http://127.0.0.1:{app_port}/")
        worker_app = httpx.get(f"http://127.0.0.1:{app_port}/", timeout=10).text
        assert 'lkk_confirmation_emails_total{outcome="sent"} 1.0' in worker_app
        worker_sdk = httpx.get(f"http://127.0.0.1:{sdk_port}/metrics", timeout=10).text
        assert "temporal_workflow_completed" in worker_sdk or "temporal_workflow_task" in worker_sdk
        assert "temporal_activity_execution_latency" in worker_sdk

        for text in (api.text, worker_app, worker_sdk):
            for secret in (PASSWORD, token, email, login):
                assert secret not in text
