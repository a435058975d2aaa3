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

from activities.signup import SignupActivities
from lkk.db import create_schema, make_engine
from lkk import metrics
from lkk.logging_setup import configure_logging
from lkk.mail.sender import SmtpSender
from lkk.settings import Settings, get_settings
from lkk.temporal import connect, metrics_runtime
from workflows.onboarding import OnboardingWorkflow

WORKFLOWS = [OnboardingWorkflow]

log = logging.getLogger("lkk.worker")


def build_activities(settings: Settings) -> list[object]:
    engine = make_engine(settings.database_url)
    signup = SignupActivities(engine, settings, SmtpSender(settings))
    return [signup.send_confirmation_email, signup.expire_signup]


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    runtime = metrics_runtime(settings.worker_metrics_bind) if settings.worker_metrics_bind else None
    client = await connect(settings, wait_seconds=60, runtime=runtime)
    if settings.worker_app_metrics_bind:
        metrics.serve(settings.worker_app_metrics_bind)
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
    settings = get_settings()
    configure_logging(settings)
    if settings.database_url.startswith("sqlite"):
        create_schema(make_engine(settings.database_url))
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    loop.run_until_complete(run_worker(settings, stop))


if __name__ == "__main__":
    main()
