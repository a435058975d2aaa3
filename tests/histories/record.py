"""(Re)record the workflow histories that the determinism guard replays.

    .venv/bin/python -m tests.histories.record            # every workflow, version UNRELEASED
    .venv/bin/python -m tests.histories.record --workflow Onboarding

Each scenario drives the real code (service layer, real activities, SQLite, SMTP into
the dev sink) on Temporal's time-skipping test server, then writes the run's history
to ``tests/histories/<workflow type>/<version>/<scenario>.json``.

Versions: ``UNRELEASED`` is the directory this command rewrites. Before a release,
re-record it from the code being released; after the release, bump ``UNRELEASED``
(v1 → v2) so the released directory is frozen and keeps being replayed against all
later code (docs/ops.md, "Changing a workflow").

A new workflow (e.g. PasswordReset) adds its scenarios to ``SCENARIOS``;
tests/test_determinism.py fails while a registered workflow has no recorded history.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from api.deps import AppContext
from api.services import registration as svc
from lkk.db import create_schema, make_engine
from lkk.settings import Settings
from lkk.store import signups
from lkk.temporal import onboarding_workflow_id, register_search_attributes
from lkk.timeutil import utcnow
from tests.conftest import ROOT, free_port, stop_process, tool, wait_http
from tests.harness import confirmation_token, context, running_worker, sign_up, unique_login
from tests.mailbox import Mailbox

HISTORIES = Path(__file__).resolve().parent
UNRELEASED = "v1"


@dataclass
class Rig:
    env: WorkflowEnvironment
    ctx: AppContext
    mailbox: Mailbox

    @property
    def client(self) -> Client:
        return self.env.client


Scenario = Callable[[Rig], Awaitable[str]]  # returns the workflow id of the finished run


# --- Onboarding ------------------------------------------------------------------------


async def onboarding_confirmed(rig: Rig) -> str:
    login = unique_login("rec")
    registered = await sign_up(rig.ctx, login)
    token = await confirmation_token(rig.mailbox, f"{login}@example.ru")
    await svc.confirm(rig.ctx, token)
    return onboarding_workflow_id(registered.account_id)


async def onboarding_resent_then_confirmed(rig: Rig) -> str:
    login = unique_login("rec")
    email = f"{login}@example.ru"
    registered = await sign_up(rig.ctx, login)
    await confirmation_token(rig.mailbox, email)
    await rig.env.sleep(timedelta(seconds=61))  # past the resend cooldown
    outcome = await svc.resend(rig.ctx, registered.account_id)
    assert outcome.outcome is svc.ResendOutcome.SENT, outcome
    token = await confirmation_token(rig.mailbox, email, count=2)
    await svc.confirm(rig.ctx, token)
    return onboarding_workflow_id(registered.account_id)


async def onboarding_expired(rig: Rig) -> str:
    login = unique_login("rec")
    registered = await sign_up(rig.ctx, login)
    await confirmation_token(rig.mailbox, f"{login}@example.ru")
    await rig.env.sleep(timedelta(seconds=rig.ctx.settings.signup_ttl_seconds + 60))
    return onboarding_workflow_id(registered.account_id)


async def onboarding_signal_lost_expiry_finds_active(rig: Rig) -> str:
    login = unique_login("rec")
    registered = await sign_up(rig.ctx, login)
    token = await confirmation_token(rig.mailbox, f"{login}@example.ru")
    signups.confirm(rig.ctx.engine, token, now=utcnow())  # the DB side only; the signal is "lost"
    await rig.env.sleep(timedelta(seconds=rig.ctx.settings.signup_ttl_seconds + 60))
    return onboarding_workflow_id(registered.account_id)


SCENARIOS: dict[str, dict[str, Scenario]] = {
    "Onboarding": {
        "confirmed": onboarding_confirmed,
        "resent_then_confirmed": onboarding_resent_then_confirmed,
        "expired": onboarding_expired,
        "signal_lost_expiry_finds_active": onboarding_signal_lost_expiry_finds_active,
    },
}


# --- recording ---------------------------------------------------------------------------


async def record(out_root: Path = HISTORIES, version: str = UNRELEASED, only: list[str] | None = None) -> list[Path]:
    """Run the scenarios and write their histories; returns the files written."""
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="lkk-record-") as tmp:
        smtp_port, http_port = free_port(), free_port()
        sink = subprocess.Popen(
            [sys.executable, "-m", "lkk.devtools.mailsink", "--smtp-port", str(smtp_port),
             "--http-port", str(http_port), "--data-dir", f"{tmp}/mail"],
            cwd=ROOT,
        )
        try:
            wait_http(f"http://127.0.0.1:{http_port}/livez", proc=sink)
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                database_url=f"sqlite:///{tmp}/lkk.db",
                smtp_port=smtp_port,
                captcha_test_answer="TEST42",
                public_base_url="http://lkk.test",
            )
            engine = make_engine(settings.database_url)
            create_schema(engine)
            mailbox = Mailbox(f"http://127.0.0.1:{http_port}")
            for workflow_type, scenarios in SCENARIOS.items():
                if only and workflow_type not in only:
                    continue
                target = out_root / workflow_type / version
                target.mkdir(parents=True, exist_ok=True)
                for old in target.glob("*.json"):
                    old.unlink()
                for name, scenario in scenarios.items():
                    written.append(await _record_one(settings, engine, mailbox, scenario, target / f"{name}.json"))
            engine.dispose()
        finally:
            stop_process(sink)
    return written


async def _record_one(settings: Settings, engine, mailbox: Mailbox, scenario: Scenario, out: Path) -> Path:  # type: ignore[no-untyped-def]
    # A fresh server per scenario: a leftover run would stall time skipping (tests/conftest.py).
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=tool("temporal-test-server"), data_converter=pydantic_data_converter
    )
    try:
        await register_search_attributes(env.client, "default")
        async with running_worker(env.client, settings) as worker_settings:
            rig = Rig(env=env, ctx=context(worker_settings, engine, env.client), mailbox=mailbox)
            workflow_id = await scenario(rig)
            handle = env.client.get_workflow_handle(workflow_id)
            await handle.result()  # recorded histories are of finished runs
            history = await handle.fetch_history()
    finally:
        await env.shutdown()
    data = _scrub_identity(history.to_json_dict())
    out.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"recorded {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out} ({len(history.events)} events)")
    return out


def _scrub_identity(node: object) -> object:
    """Worker identities are "pid@hostname": noise in a diff and a machine name in git."""
    if isinstance(node, dict):
        return {k: ("recorder" if k == "identity" else _scrub_identity(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_scrub_identity(item) for item in node]
    return node


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workflow", action="append", help="workflow type to record (default: all)")
    parser.add_argument("--version", default=UNRELEASED, help=f"version directory (default {UNRELEASED})")
    parser.add_argument("--out", type=Path, default=HISTORIES, help="root directory (default tests/histories)")
    args = parser.parse_args()
    asyncio.run(record(args.out, args.version, args.workflow))


if __name__ == "__main__":
    main()
