"""The Temporal worker: runs the onboarding, binding, invitation and password workflows and their activities.

Run: ``python worker.py`` (the embedded stack starts it through the Procfile).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.contracts import ContractActivities
from activities.invitations import InvitationActivities
from activities.maintenance import MaintenanceActivities
from activities.password import PasswordActivities
from activities.signup import SignupActivities
from lkk import metrics
from lkk.billing.registry import SqlBillingRegistry
from lkk.db import engine_for
from lkk.logging_setup import configure_logging
from lkk.mail.sender import SmtpSender
from lkk.schedules import ensure_purge_schedule
from lkk.security.passwords import hasher_for
from lkk.settings import Settings, get_settings
from lkk.temporal import connect, exit_skipping_finalization, metrics_runtime
from workflows.contract_binding import ContractBindingWorkflow, ContractUnbindingWorkflow
from workflows.invitation import InvitationWorkflow
from workflows.maintenance import PurgeStaleCountersWorkflow
from workflows.onboarding import OnboardingWorkflow
from workflows.password_changed import PasswordChangedNoticeWorkflow
from workflows.password_reset import PasswordResetWorkflow

WORKFLOWS = [
    OnboardingWorkflow,
    ContractBindingWorkflow,
    ContractUnbindingWorkflow,
    InvitationWorkflow,
    PasswordResetWorkflow,
    PasswordChangedNoticeWorkflow,
    PurgeStaleCountersWorkflow,
]

log = logging.getLogger("lkk.worker")


def workflow_runner() -> SandboxedWorkflowRunner:
    """The sandbox, with our own workflow modules passed through: by default it re-imports
    the workflow's module (and redefines its class) for every new run, a large part of
    the worker's CPU per onboarding. They keep no state at module level (constants and
    classes only). Runtime checks on builtins still apply here; the tests' workers and
    the Replayer (``lkk ops replay``) keep the full re-import, so a non-deterministic
    call in workflow code still fails there."""
    return SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows"))


def build_activities(settings: Settings) -> list[object]:
    engine = engine_for(settings)
    sender = SmtpSender(settings)
    signup = SignupActivities(engine, settings, sender)
    password = PasswordActivities(engine, settings, sender)
    # The registry verifies binding codes with argon2 (the hash carries its own cost).
    contracts = ContractActivities(engine, settings, sender, SqlBillingRegistry(engine, hasher_for(settings)))
    maintenance = MaintenanceActivities(engine, settings)
    invitations = InvitationActivities(engine, settings, sender)
    return [
        signup.send_confirmation_email,
        signup.expire_signup,
        *contracts.all(),
        *invitations.all(),
        password.send_password_reset_email,
        password.expire_password_reset,
        password.send_password_changed_email,
        maintenance.purge_stale_counters,
    ]


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    runtime = metrics_runtime(settings.worker_metrics_bind) if settings.worker_metrics_bind else None
    client = await connect(settings, wait_seconds=settings.temporal_connect_wait_seconds, runtime=runtime)
    if settings.worker_app_metrics_bind:
        metrics.serve(settings.worker_app_metrics_bind)
    # Activities talk to the DB and SMTP synchronously; a thread pool runs them.
    with ThreadPoolExecutor(max_workers=settings.worker_activity_threads) as executor:
        worker = Worker(
            client,
            task_queue=settings.temporal_task_queue,
            workflows=WORKFLOWS,
            workflow_runner=workflow_runner(),
            activities=build_activities(settings),
            activity_executor=executor,
            max_cached_workflows=settings.worker_max_cached_workflows,
            # SIGTERM (docker stop, a rolling update) lets running activities finish;
            # only after this long are they cancelled (and retried by another worker).
            graceful_shutdown_timeout=timedelta(seconds=settings.worker_graceful_shutdown_seconds),
        )
        async with worker:
            await _ensure_schedules(client, settings)
            log.info("worker polling task queue %s on %s", settings.temporal_task_queue, settings.temporal_address)
            heartbeat = asyncio.create_task(_heartbeat(settings.worker_heartbeat_file, stop))
            await stop.wait()
            await heartbeat
            log.info(
                "worker stopping: in-flight activities get up to %.0f s to finish",
                settings.worker_graceful_shutdown_seconds,
            )
        log.info("worker stopped")


async def _ensure_schedules(client: Client, settings: Settings) -> None:
    # Idempotent: every worker start makes sure the schedule exists and matches the settings.
    # A failure is logged, not fatal: serving workflows matters more than housekeeping.
    try:
        await ensure_purge_schedule(client, settings)
    except Exception:
        log.exception("could not create or update the purge schedule; it runs as last configured")


HEARTBEAT_SECONDS = 5.0


async def _heartbeat(path: Path | None, stop: asyncio.Event) -> None:
    """Touch a file while the worker's event loop runs (the container health check reads its age)."""
    if path is None:
        return
    while not stop.is_set():
        path.touch()
        try:
            await asyncio.wait_for(stop.wait(), HEARTBEAT_SECONDS)
        except TimeoutError:
            pass
    path.unlink(missing_ok=True)  # a stopping worker is no longer healthy


def main() -> None:
    # The schema is migrated before the worker starts (`lkk db upgrade`: the embedded
    # stack does it in `python -m devstack run`, production in its one-shot migrate job).
    settings = get_settings()
    configure_logging(settings)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    loop.run_until_complete(run_worker(settings, stop))
    loop.close()
    exit_skipping_finalization(0)


if __name__ == "__main__":
    main()
