"""Sign-up limits under a concurrent burst (tests/burst.py) over a real socket: the
per-address limit on reading a sign-up's state, and the resend cooldown that lives in
the onboarding workflow (real worker on the Temporal dev server, mail into the sink)."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from lkk.settings import Settings
from tests.burst import burst
from tests.conftest import MailSinkProcess
from tests.harness import context, running_worker, sign_up, unique_login
from tests.web import web_client

pytestmark = pytest.mark.asyncio


async def test_a_burst_of_status_reads_from_one_address_is_held_to_the_limit(settings: Settings, engine: Engine) -> None:
    config = settings.model_copy(update={"rate_limit_registration_status": "5/minute;100/hour"})
    async with web_client(config, engine, ip="198.51.100.80") as web:
        body = {"registration_handle": "not-a-handle"}
        answers = await burst([web.build_request("POST", "/api/v1/registrations/status", json=body) for _ in range(30)])
    statuses = Counter(a.status for a in answers)
    assert statuses[429] == 25 and sum(statuses.values()) == 30, statuses
    assert all(int(a.headers["retry-after"]) > 0 for a in answers if a.status == 429)


async def test_a_burst_of_resends_sends_one_letter(
    dev_server_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    config = settings.model_copy(update={"resend_cooldown_seconds": 3, "rate_limit_resend": "1000/minute"})
    async with running_worker(dev_server_env.client, config) as worker_settings:
        login = unique_login("resend")
        email = f"{login}@example.ru"
        registered = await sign_up(context(worker_settings, engine, dev_server_env.client), login)
        await mailsink.mailbox.wait_for_async(to=email, timeout=30)
        await asyncio.sleep(3.5)  # the cooldown after the first letter is over
        async with web_client(worker_settings, engine, dev_server_env.client) as web:
            body = {"registration_handle": registered.handle}
            answers = await burst([web.build_request("POST", "/api/v1/registrations/resend", json=body) for _ in range(20)])
        statuses = Counter(a.status for a in answers)
        assert statuses[202] == 1 and statuses[429] == 19, statuses
        await mailsink.mailbox.wait_for_async(to=email, count=2, timeout=30)
        await asyncio.sleep(2.0)
        mails = await mailsink.mailbox.wait_for_all_async(to=email, count=2, timeout=5)
        assert len(mails) == 2, "one sign-up letter and one resend"
