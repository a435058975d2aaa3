"""The Temporal worker: runs the onboarding workflows and their activities.

Run: ``python worker.py`` (the embedded stack starts it through the Procfile).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.worker import Worker

from activities.contracts import ContractActivities
from activities.password import PasswordActivities
from activities.signup import SignupActivities
from lkk.billing.registry import SqlBillingRegistry
from lkk.security.passwords import hasher_for
from lkk.db import create_schema, make_engine
from lkk.logging_setup import configure_logging
from lkk.mail.sender import SmtpSender
from lkk.settings import Settings, get_settings
from lkk.temporal import connect
from workflows.contract_binding import ContractBindingWorkflow, ContractUnbindingWorkflow
from workflows.onboarding import OnboardingWorkflow
from workflows.password_changed import PasswordChangedNoticeWorkflow
from workflows.password_reset import PasswordResetWorkflow

WORKFLOWS = [
    OnboardingWorkflow,
    ContractBindingWorkflow,
    ContractUnbindingWorkflow,
    PasswordResetWorkflow,
    PasswordChangedNoticeWorkflow,
]

log = logging.getLogger("lkk.worker")


def build_activities(settings: Settings) -> list[object]:
    engine = make_engine(settings.database_url)
    sender = SmtpSender(settings)
    signup = SignupActivities(engine, settings, sender)
    password = PasswordActivities(engine, settings, sender)
    # The registry verifies binding codes with argon2 (the hash carries its own cost).
    contracts = ContractActivities(engine, settings, sender, SqlBillingRegistry(engine, hasher_for(settings)))
    return [
        signup.send_confirmation_email,
        signup.expire_signup,
        *contracts.all(),
        password.send_password_reset_email,
        password.expire_password_reset,
        password.send_password_changed_email,
    ]


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    client = await connect(settings, wait_seconds=60)
    # Activities talk to the DB and SMTP synchronously; a thread pool runs them.
    with ThreadPoolExecutor(max_workers=32) as executor:
        worker = Worker(
            client,
            task_queue=settings.temporal_task_queue,
            workflows=WORKFLOWS,
            activities=build_activities(settings),
            activity_executor=executor,
            graceful_shutdown_timeout=timedelta(seconds=30),
        )
        async with worker:
            log.info("worker polling task queue %s on %s", settings.temporal_task_queue, settings.temporal_address)
            await stop.wait()
            log.info("worker stopping: in-flight activities get up to 30 s to finish")


def main() -> None:
    configure_logging()
    settings = get_settings()
    if settings.database_url.startswith("sqlite"):
        create_schema(make_engine(settings.database_url))
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    loop.run_until_complete(run_worker(settings, stop))


if __name__ == "__main__":
    main()
