"""SIGTERM (docker stop, a rolling update) during an in-flight activity: the worker
stops polling, lets the activity finish and report, then exits cleanly."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
import uuid

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.engine import Engine
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from lkk.settings import Settings
from lkk.temporal import onboarding_workflow_id
from tests.conftest import free_port
from tests.harness import context, sign_up, unique_login
from tests.stack import worker_process

pytestmark = pytest.mark.asyncio

SMTP_DELAY_SECONDS = 4.0


class SlowRelay:
    """A real SMTP server that takes its time to accept a message (a congested relay)."""

    def __init__(self) -> None:
        self.receiving = threading.Event()
        self.accepted_at: float | None = None
        self.recipients: list[str] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        self.receiving.set()
        await asyncio.sleep(SMTP_DELAY_SECONDS)
        self.recipients.extend(envelope.rcpt_tos)
        self.accepted_at = time.monotonic()
        return "250 Message accepted for delivery"


async def test_sigterm_lets_the_running_activity_finish(
    dev_server_env: WorkflowEnvironment, settings: Settings, engine: Engine
) -> None:
    relay = SlowRelay()
    smtp = Controller(relay, hostname="127.0.0.1", port=free_port())
    smtp.start()
    config = settings.model_copy(
        update={
            "temporal_address": dev_server_env.client.service_client.config.target_host,
            "temporal_task_queue": f"shutdown-{uuid.uuid4().hex[:8]}",
            "smtp_port": smtp.port,
            "worker_graceful_shutdown_seconds": 30.0,
        }
    )
    login = unique_login("drain")
    try:
        with worker_process(config) as worker:
            registered = await sign_up(context(config, engine, dev_server_env.client), login)
            assert await asyncio.to_thread(relay.receiving.wait, 60), "the send activity reached the relay"
            worker.send_signal(signal.SIGTERM)
            exit_code = await asyncio.to_thread(worker.wait, 60)
            exited_at = time.monotonic()
    finally:
        smtp.stop()

    assert exit_code == 0
    assert relay.recipients == [f"{login}@example.ru"]
    assert relay.accepted_at is not None and relay.accepted_at <= exited_at, "the worker waited for the SMTP hand-over"

    handle = dev_server_env.client.get_workflow_handle(onboarding_workflow_id(registered.account_id))
    events = [event.event_type async for event in handle.fetch_history_events()]
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED in events, "the finished activity was reported before exit"
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED not in events
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT not in events
    await handle.terminate("test over")
