"""The bug-in-workflow-code drill, for real on the Temporal dev server (docs/ops.md,
"A bug in workflow code").

1. A buggy release: the workflow crashes right after sending the confirmation e-mail,
   so each run's workflow task fails and is retried — the runs are stuck.
2. Customers confirm while their run is failing (the API activates the account and
   signals; the signal is recorded in the history even though no code runs).
3. Ops finds the stuck runs and replays them against the fixed code (ok; an
   incompatible "fix" would fail), then deploys the fix (same workflow type name).
4. One run simply continues at its next workflow task retry; the others are reset
   with ``temporal workflow reset --type LastWorkflowTask`` (signals re-applied).
5. Every onboarding completes; the confirmations received while failing are not lost.
"""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from lkk.models import Account, AccountStatus
from lkk.settings import Settings
from lkk.store import signups
from lkk.temporal import onboarding_workflow_id
from lkk.timeutil import as_utc
from lkkctl import ops
from tests.conftest import MailSinkProcess, tool
from tests.harness import confirm, confirmation_token, context, running_worker, sign_up, unique_login
from tests.workflow_variants import OnboardingWithBugAfterEmail, OnboardingWithExtraTimer
from worker import WORKFLOWS
from workflows.messages import OnboardingStage, OnboardingState
from workflows.onboarding import OnboardingWorkflow


async def _wait_stuck(client: Client, workflow_id: str, timeout: float = 30.0) -> None:
    """Until the run's workflow task has failed at least once (attempt 2 pending)."""
    handle = client.get_workflow_handle(workflow_id)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        raw = (await handle.describe()).raw_description
        if raw.pending_workflow_task.attempt >= 2:
            return
        assert asyncio.get_running_loop().time() < deadline, f"{workflow_id} never failed its workflow task"
        await asyncio.sleep(0.3)


async def _reset(env: WorkflowEnvironment, workflow_id: str) -> None:
    """What ops types (docs/ops.md); async so the in-process worker keeps running."""
    proc = await asyncio.create_subprocess_exec(
        tool("temporal"), "workflow", "reset",
        "--address", env.client.service_client.config.target_host, "--namespace", "default",
        "--workflow-id", workflow_id, "--type", "LastWorkflowTask",
        "--reason", "fix for the crash after the confirmation e-mail deployed",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await proc.communicate()
    assert proc.returncode == 0, output.decode()


async def _confirmed_state(client: Client, workflow_id: str, timeout: float = 120.0) -> OnboardingState:
    """The run's state once it got past the e-mail stage (it then waits for a contract).

    By id without run id: follows the reset to the new run."""
    handle = client.get_workflow_handle(workflow_id)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        state = await handle.query(OnboardingWorkflow.state)
        if state.stage is not OnboardingStage.AWAITING_EMAIL or asyncio.get_running_loop().time() > deadline:
            return state
        await asyncio.sleep(0.2)


async def test_bug_in_workflow_code_fix_deploy_and_reset_loses_nothing(
    dev_server_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    client = dev_server_env.client
    queue = f"drill-{uuid.uuid4().hex[:8]}"
    logins = {name: unique_login(f"drill-{name}") for name in ("continues", "reset", "late")}
    ids: dict[str, str] = {}
    tokens: dict[str, str] = {}

    # 1-2. The buggy release runs; two customers confirm while their runs fail.
    async with running_worker(client, settings, workflows=[OnboardingWithBugAfterEmail], task_queue=queue) as cfg:
        ctx = context(cfg, engine, client)
        for name, login in logins.items():
            ids[name] = onboarding_workflow_id((await sign_up(ctx, login)).account_id)
        for name, login in logins.items():
            tokens[name] = await confirmation_token(mailsink.mailbox, f"{login}@example.ru")
            await _wait_stuck(client, ids[name])
        for name in ("continues", "reset"):
            # The server accepts the signal and keeps it (buffered while a task is in flight).
            confirmation = await confirm(ctx, tokens[name])
            assert confirmation.outcome is signups.ConfirmOutcome.CONFIRMED

    # 3. Ops: find the stuck runs; check the fix against their histories before deploying
    #    it: the real fix replays, a fix that reorders the workflow's steps would not.
    running = f"TaskQueue = '{queue}' AND ExecutionStatus = 'Running'"
    stuck = await ops.stuck_runs(client, running)
    assert sorted(s.workflow_id for s in stuck) == sorted(ids.values())
    assert all("crashed after sending the confirmation e-mail" in (s.failure or "") for s in stuck)
    assert all(r.ok for r in await ops.replay_query(client, running, workflows=WORKFLOWS))
    bad_fix = await ops.replay_query(client, running, workflows=[OnboardingWithExtraTimer])
    assert len(bad_fix) == 3 and all(r.nondeterminism for r in bad_fix)

    # 4. Deploy the fix (same workflow type, same task queue); reset two runs, let one continue.
    async with running_worker(client, settings, task_queue=queue) as cfg:
        ctx = context(cfg, engine, client)
        await _reset(dev_server_env, ids["reset"])
        await _reset(dev_server_env, ids["late"])

        for name in ("continues", "reset"):
            result = await _confirmed_state(client, ids[name])
            assert result.stage is OnboardingStage.AWAITING_CONTRACT, name
            # The confirmation that arrived while failing drove it (its time is the API's
            # activation time), not the 72-hour expiry check.
            with Session(engine) as session:
                account = session.get(Account, ids[name].removeprefix("onboarding-"))
                assert account is not None and account.activated_at is not None
            assert result.confirmed_at == as_utc(account.activated_at), name

        # The unconfirmed customer's run waits for the e-mail again; the link they got still works.
        late = client.get_workflow_handle(ids["late"])
        state = await late.query(OnboardingWorkflow.state)
        assert state.stage is OnboardingStage.AWAITING_EMAIL and state.emails_sent >= 1
        assert (await confirm(ctx, tokens["late"])).outcome is signups.ConfirmOutcome.CONFIRMED
        assert (await _confirmed_state(client, ids["late"])).stage is OnboardingStage.AWAITING_CONTRACT

        # 5. Nothing left stuck; every account is active; the old runs of the reset ones are closed.
        assert await ops.stuck_runs(client, running) == []
        with Session(engine) as session:
            for workflow_id in ids.values():
                account = session.get(Account, workflow_id.removeprefix("onboarding-"))
                assert account is not None and account.status == AccountStatus.ACTIVE
        runs = [e async for e in client.list_workflows(f"TaskQueue = '{queue}'")]
        assert {r.status for r in runs if r.id == ids["reset"]} == {
            WorkflowExecutionStatus.TERMINATED,  # the run that was reset
            WorkflowExecutionStatus.RUNNING,  # the new run, signal re-applied, waiting for a contract
        }
