"""`lkk support find` and `lkk ops export/replay` as support and ops run them: the
real CLI process against the Temporal dev server and the app database, while a
worker answers the queries."""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path

from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from lkk.settings import Settings
from lkk.temporal import onboarding_workflow_id, ui_link
from tests.conftest import ROOT, MailSinkProcess, env_for
from tests.harness import confirm, confirmation_token, context, running_worker, sign_up, unique_login
from workflows.messages import OnboardingResult, OnboardingStage
from workflows.onboarding import OnboardingWorkflow


async def _lkk(settings: Settings, *args: str) -> tuple[int, str]:
    """Run ``python -m lkkctl ARGS`` without blocking the loop the worker runs on."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "lkkctl", *args, cwd=ROOT, env=env_for(settings),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, output.decode()


async def _waiting_for_contract(client: Client, workflow_id: str) -> str:
    """Run id of a confirmed onboarding once it waits for a contract (it does not end there)."""
    handle = client.get_workflow_handle(workflow_id)
    for _ in range(300):
        state = await handle.query(OnboardingWorkflow.state)
        if state.stage is OnboardingStage.AWAITING_CONTRACT:
            return (await handle.describe()).run_id
        await asyncio.sleep(0.2)
    raise AssertionError(f"{workflow_id} never reached the contract stage")


async def _finished(client: Client, workflow_id: str) -> str:
    handle = client.get_workflow_handle(workflow_id, result_type=OnboardingResult)
    await asyncio.wait_for(handle.result(), 60)
    return (await handle.describe()).run_id


async def test_support_find_and_ops_replay_commands(
    dev_server_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess, tmp_path: Path
) -> None:
    client = dev_server_env.client
    base = settings.model_copy(
        update={"temporal_address": client.service_client.config.target_host, "temporal_ui_url": "http://ui.test:8233"}
    )
    async with running_worker(client, base, task_queue=f"support-{uuid.uuid4().hex[:8]}") as cfg:
        ctx = context(cfg, engine, client)
        confirmed, pending, expired = unique_login("sup-ok"), unique_login("sup-wait"), unique_login("sup-exp")
        ok_id = onboarding_workflow_id((await sign_up(ctx, confirmed)).account_id)
        await confirm(ctx, await confirmation_token(mailsink.mailbox, f"{confirmed}@example.ru"))
        ok_run = await _waiting_for_contract(client, ok_id)
        pending_id = onboarding_workflow_id((await sign_up(ctx, pending)).account_id)
        await confirmation_token(mailsink.mailbox, f"{pending}@example.ru")
        short = context(cfg.model_copy(update={"signup_ttl_seconds": 2}), engine, client)
        expired_id = onboarding_workflow_id((await sign_up(short, expired)).account_id)
        await _finished(client, expired_id)

        # By login, a confirmed customer: stage, details in Russian, the UI link.
        code, out = await _lkk(cfg, "support", "find", "--login", confirmed.upper())  # login is case-insensitive
        assert code == 0, out
        assert f"DB: account {ok_id.removeprefix('onboarding-')}" in out
        assert ok_id in out and ok_run in out and "RUNNING" in out
        assert "stage:     awaiting_contract" in out
        assert "E-mail подтверждён" in out and "Ожидает привязки договора до" in out
        assert ui_link(cfg, ok_id, ok_run) in out
        assert ui_link(cfg, ok_id, ok_run).startswith(f"http://ui.test:8233/namespaces/default/workflows/{ok_id}/")

        # By e-mail (not in Temporal: resolved through the DB), a customer still waiting.
        code, out = await _lkk(cfg, "support", "find", "--email", f"{pending}@example.ru")
        assert code == 0, out
        assert pending_id in out and "RUNNING" in out and "stage:     awaiting_email" in out
        assert "Письмо со ссылкой подтверждения отправлено" in out and "emails_sent=1" in out

        # An expired sign-up: its account row is gone, Temporal still has the run by login.
        code, out = await _lkk(cfg, "support", "find", "--login", expired)
        assert code == 0, out
        assert "Not found in the DB" in out and "searched Temporal by login" in out
        assert expired_id in out and "stage:     expired" in out and "Регистрация истекла" in out

        code, out = await _lkk(cfg, "support", "find", "--email", "nobody-here@example.ru")
        assert code == 1 and "No account with this e-mail in the DB" in out and "--login" in out

        # Ops: export a run, replay the file, the run by id, and runs matching a query.
        exported = tmp_path / "ok.json"
        code, out = await _lkk(cfg, "ops", "export", "--workflow-id", ok_id, "--out", str(exported))
        assert code == 0 and exported.exists(), out
        code, out = await _lkk(cfg, "ops", "replay", str(exported))
        assert code == 0 and "replayed 1: 1 ok, 0 failed" in out, out
        code, out = await _lkk(cfg, "ops", "replay", "--workflow-id", pending_id)
        assert code == 0 and out.startswith("ok ") and pending_id in out, out
        code, out = await _lkk(cfg, "ops", "replay", "--query", f"LkkLogin = '{confirmed}' OR LkkLogin = '{expired}'")
        assert code == 0 and "replayed 2: 2 ok, 0 failed" in out, out
        code, out = await _lkk(cfg, "ops", "replay", "--query", "LkkLogin = 'no-such-login'")
        assert code == 1 and "replayed 0" in out, out
        code, out = await _lkk(cfg, "ops", "stuck", "--query", f"TaskQueue = '{cfg.temporal_task_queue}'")
        assert code == 0 and "0 stuck run(s)" in out, out

    result = await client.get_workflow_handle(expired_id, result_type=OnboardingResult).result()
    assert result.stage is OnboardingStage.EXPIRED
