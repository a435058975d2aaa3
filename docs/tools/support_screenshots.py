"""Regenerate the Temporal Web UI screenshots of docs/support.md.

    .venv/bin/python docs/tools/support_screenshots.py [--out docs/img] [--keep-running]

Starts its own `temporal server start-dev` with the Web UI and the project's search
attributes, the SMTP sink and a worker (all on free ports, data in a temp dir), plays
the situations support gets calls about through the real service code, and
photographs the real UI with Playwright driving Debian's chromium
(`apt-get install chromium`; `playwright install` is not needed).

Situations (logins are made up):
  ooo-romashka  confirmed, waiting for the contract
  ip-ivanov     e-mail sent, a second link requested, not confirmed yet
  zao-vektor    the mail server rejected the address (5xx): not retried, shown to support
  ooo-luch      the mail server is down (4xx): the e-mail activity keeps retrying
  ao-sever      not confirmed in time: expired and deleted
  ooo-energia   confirmed, one wrong binding code, then the contract bound: onboarded
  ooo-zamok     locked out, asked for a new password: the PasswordReset run
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from playwright.async_api import Page, async_playwright  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from api.services import contracts as contract_svc  # noqa: E402
from api.services import passwords as password_svc  # noqa: E402
from api.services import registration as svc  # noqa: E402
from lkk.db import create_schema, make_engine  # noqa: E402
from devstack.procs import temporal_dev_server_command  # noqa: E402
from lkk.settings import Settings  # noqa: E402
from lkk.store import session_for  # noqa: E402
from lkk.temporal import connect, onboarding_workflow_id, password_reset_workflow_id, ui_link  # noqa: E402
from tests.binding_harness import OPEN_LEGAL, account_by_login, issue, load_registry  # noqa: E402
from tests.conftest import free_port, stop_process, wait_http  # noqa: E402
from tests.harness import confirm, confirmation_token, context, sign_up  # noqa: E402
from tests.mailbox import Mailbox  # noqa: E402
from worker import WORKFLOWS, build_activities  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def start_temporal(tmp: Path, port: int, ui_port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(temporal_dev_server_command(port, tmp / "temporal.db", ui_port=ui_port),
                            stdout=subprocess.DEVNULL)


async def play_situations(client: Client, settings: Settings, mailbox: Mailbox) -> dict[str, str]:
    """Run the onboardings; returns login -> workflow id."""
    engine = make_engine(settings.database_url)
    create_schema(engine)
    ctx = context(settings, engine, client)
    ids: dict[str, str] = {}

    async def start(login: str, ttl: int | None = None) -> str:
        own = context(settings.model_copy(update={"signup_ttl_seconds": ttl}), engine, client) if ttl else ctx
        ids[login] = onboarding_workflow_id((await sign_up(own, login)).account_id)
        return ids[login]

    await start("ooo-romashka")
    await confirm(ctx, await confirmation_token(mailbox, "ooo-romashka@example.ru"))

    account = (await start("ip-ivanov")).removeprefix("onboarding-")
    await confirmation_token(mailbox, "ip-ivanov@example.ru")
    await asyncio.sleep(settings.resend_cooldown_seconds + 0.5)
    await svc.resend(ctx, account)
    await confirmation_token(mailbox, "ip-ivanov@example.ru", count=2)

    # Contract binding: one wrong code (shown in the details), then the right one.
    load_registry(engine)
    code = issue(engine, OPEN_LEGAL[0])
    await start("ooo-energia")
    await confirm(ctx, await confirmation_token(mailbox, "ooo-energia@example.ru"))
    energia = account_by_login(engine, "ooo-energia")
    await contract_svc.bind(ctx, energia, OPEN_LEGAL[0], OPEN_LEGAL[1], OPEN_LEGAL[2], "ABCD-EFGH")
    await contract_svc.bind(ctx, energia, OPEN_LEGAL[0], OPEN_LEGAL[1], OPEN_LEGAL[2], code)

    # Locked out: the customer asks for a new password (a PasswordReset run).
    await start("ooo-zamok")
    await confirm(ctx, await confirmation_token(mailbox, "ooo-zamok@example.ru"))
    await password_svc.request_reset(ctx, session_for(ctx.engine), "ooo-zamok", "ooo-zamok@example.ru")
    await mailbox.wait_for_async(to="ooo-zamok@example.ru", count=2, timeout=30)
    ids["ooo-zamok/reset"] = password_reset_workflow_id(account_by_login(engine, "ooo-zamok").id)

    await start("ao-sever", ttl=8)
    await confirmation_token(mailbox, "ao-sever@example.ru")  # delivered before the faults below

    await mailbox.set_smtp_mode_async("reject")
    await start("zao-vektor")
    await asyncio.sleep(2)
    await mailbox.set_smtp_mode_async("tempfail")
    await start("ooo-luch")
    await asyncio.sleep(20)  # a few retries with backoff (5 s, 10 s, ...)
    return ids


async def shoot(page: Page, url: str | None, out: Path, wait_for_text: str, *, height: int | None = None) -> None:
    """Photograph ``url`` (None: the current page); ``height`` crops, e.g. to leave out
    a stack trace with the worker's file paths."""
    if url is not None:
        await page.goto(url)
    try:
        await page.get_by_text(wait_for_text).first.wait_for(timeout=30_000)
    except Exception:
        await page.screenshot(path=str(out.with_suffix(".failed.png")), full_page=True)
        raise
    await page.wait_for_timeout(1500)  # let the SPA finish rendering its panels
    if height:
        await page.screenshot(path=str(out), clip={"x": 0, "y": 0, "width": 1440, "height": height})
    else:
        await page.screenshot(path=str(out), full_page=True)
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


async def photograph(settings: Settings, client: Client, ids: dict[str, str], out: Path) -> None:
    base = settings.temporal_ui_url.rstrip("/")
    out.mkdir(parents=True, exist_ok=True)
    runs = {login: (await client.get_workflow_handle(wid).describe()).run_id for login, wid in ids.items()}

    def tab(login: str, name: str) -> str:  # the run's page; the last path segment picks the tab
        return ui_link(settings, ids[login], runs[login]).removesuffix("/history") + f"/{name}"

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 1440, "height": 900}, locale="ru-RU")
        query = quote("WorkflowType='Onboarding'")
        await shoot(page, f"{base}/namespaces/default/workflows?query={query}", out / "ui-list.png", ids["ooo-romashka"])
        query = quote("LkkLogin='zao-vektor'")
        await shoot(page, f"{base}/namespaces/default/workflows?query={query}", out / "ui-search-login.png", ids["zao-vektor"])
        # "Current Details" (the Russian summary of where the customer stands) is on the User Metadata tab.
        for login, name in [
            ("ooo-romashka", "ui-confirmed"),
            ("ip-ivanov", "ui-waiting-resent"),
            ("zao-vektor", "ui-mail-rejected"),
            ("ooo-luch", "ui-mail-retrying"),
            ("ao-sever", "ui-expired"),
            ("ooo-energia", "ui-bound"),
            ("ooo-zamok/reset", "ui-password-reset"),
        ]:
            await shoot(page, tab(login, "user-metadata"), out / f"{name}.png", "Current Details")
        await shoot(page, tab("ooo-luch", "pending-activities"), out / "ui-mail-retrying-pending.png", "451", height=600)
        await shoot(page, tab("zao-vektor", "history"), out / "ui-mail-rejected-history.png", "Mailbox unavailable")
        await shoot(page, tab("ooo-romashka", "search-attributes"), out / "ui-search-attributes.png", "LkkStage")
        await page.goto(tab("ip-ivanov", "query"))  # the Queries tab; "state" is preselected
        await page.get_by_role("button", name="Run Query").click()
        await shoot(page, None, out / "ui-query-state.png", "resends_left")
        await browser.close()


async def main(out: Path, keep_running: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="lkk-shots-") as tmp_name:
        tmp = Path(tmp_name)
        port, ui_port, smtp_port, mail_http = free_port(), free_port(), free_port(), free_port()
        temporal = start_temporal(tmp, port, ui_port)
        sink = subprocess.Popen(
            [sys.executable, "-m", "devstack.mailsink", "--smtp-port", str(smtp_port),
             "--http-port", str(mail_http), "--data-dir", str(tmp / "mail")],
            cwd=ROOT,
        )
        try:
            wait_http(f"http://127.0.0.1:{ui_port}/", timeout=60, proc=temporal)
            wait_http(f"http://127.0.0.1:{mail_http}/livez", proc=sink)
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                database_url=f"sqlite:///{tmp}/lkk.db",
                temporal_address=f"127.0.0.1:{port}",
                temporal_ui_url=f"http://127.0.0.1:{ui_port}",
                smtp_port=smtp_port,
                captcha_test_answer="TEST42",
                resend_cooldown_seconds=2,
            )
            client = await connect(settings, wait_seconds=30)
            mailbox = Mailbox(f"http://127.0.0.1:{mail_http}")
            with ThreadPoolExecutor(max_workers=8) as executor:
                async with Worker(
                    client, task_queue=settings.temporal_task_queue, workflows=WORKFLOWS,
                    activities=build_activities(settings), activity_executor=executor,
                ):
                    ids = await play_situations(client, settings, mailbox)
                    await photograph(settings, client, ids, out)
                    if keep_running:
                        print(f"Temporal UI: {settings.temporal_ui_url}  (Ctrl-C to stop)")
                        await asyncio.Event().wait()
            mailbox.set_smtp_mode("accept")
        finally:
            stop_process(sink)
            stop_process(temporal)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--keep-running", action="store_true", help="keep the stack up to look around")
    args = parser.parse_args()
    asyncio.run(main(args.out, args.keep_running))
