"""What browser tests and the screenshot script share: the real stack with a mailbox,
Debian's Chromium under Playwright, and the customer's steps as the manual tells them.

Playwright cannot download its own browser here, so it drives ``/usr/bin/chromium``
(Debian package ``chromium``; ``.ci/run`` installs it).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from playwright.async_api import Browser, Page, Playwright, async_playwright, expect

from lkk.settings import Settings
from tests.conftest import CAPTCHA_TEST_ANSWER, ROOT, free_port, start_dev_server, stop_process, wait_http
from tests.mailbox import Mailbox
from tests.stack import running_stack

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
MISSING_CHROMIUM = (
    f"Chromium not found at {CHROMIUM}: browser tests need Debian's chromium "
    "(`apt-get install chromium`; .ci/run does it). Playwright's own browser download is not used."
)
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
PASSWORD = "зимний-вечер-2026"
PER_IP_LIMITS_OFF = {
    name: "10000/minute"
    for name in ("rate_limit_login", "rate_limit_login_failures", "rate_limit_register", "rate_limit_resend",
                 "rate_limit_password_reset", "rate_limit_password_change", "rate_limit_binding",
                 "rate_limit_captcha", "rate_limit_captcha_image")
}


def chromium_path() -> str:
    found = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not found:
        raise RuntimeError(MISSING_CHROMIUM)
    return found


async def launch_chromium(pw: Playwright) -> Browser:
    return await pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        browser = await launch_chromium(pw)
        try:
            yield browser
        finally:
            await browser.close()


# --------------------------------------------------------------------------- the stack


@dataclass(frozen=True)
class WebStack:
    """One running product: API + worker on a Temporal server, mail into the sink."""

    api_url: str
    mail_url: str
    mailbox: Mailbox
    settings: Settings


def stack_settings(data_dir: Path, smtp_port: int, temporal_address: str, **overrides: object) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir}/lkk.db",
        smtp_port=smtp_port,
        captcha_test_answer=CAPTCHA_TEST_ANSWER,
        temporal_address=temporal_address,
        temporal_task_queue=f"web-{uuid.uuid4().hex[:8]}",
        # One browser from 127.0.0.1 plays many customers here: the per-IP limits (tested
        # on their own in tests/test_login.py) would only make these tests flaky.
        **{**PER_IP_LIMITS_OFF, **overrides},
    )


@contextmanager
def web_stack(settings: Settings, mail_url: str) -> Iterator[WebStack]:
    with running_stack(settings) as (front,):
        yield WebStack(api_url=front.api_url, mail_url=mail_url, mailbox=Mailbox(mail_url), settings=front.settings)


@contextmanager
def mailsink_process(data_dir: Path) -> Iterator[tuple[int, str]]:
    """The dev SMTP sink as a subprocess (what the ``mailsink`` fixture does, for scripts)."""
    smtp_port, http_port = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "devstack.mailsink", "--smtp-port", str(smtp_port),
         "--http-port", str(http_port), "--data-dir", str(data_dir)],
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{http_port}"
    try:
        wait_http(f"{url}/livez", proc=proc)
        yield smtp_port, url
    finally:
        stop_process(proc)


@asynccontextmanager
async def standalone_stack(data_dir: Path, **overrides: object) -> AsyncIterator[WebStack]:
    """Everything, without pytest: Temporal dev server, sink, worker, API (for docs/tools)."""
    env = await start_dev_server()
    try:
        with ExitStack() as stack:
            smtp_port, mail_url = stack.enter_context(mailsink_process(data_dir / "mail"))
            settings = stack_settings(data_dir, smtp_port, env.client.service_client.config.target_host, **overrides)
            yield stack.enter_context(web_stack(settings, mail_url))
    finally:
        await env.shutdown()


# --------------------------------------------------------------------------- customer steps


def unique_login(prefix: str = "ooo") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def fill_registration(page: Page, login: str, email: str, *, password: str = PASSWORD,
                            confirm: str | None = None, captcha: str = CAPTCHA_TEST_ANSWER,
                            phone: str = "+7 912 345-67-89") -> None:
    """Fill «Регистрация пользователя» by its labels, as a person reads them."""
    await page.get_by_label("Логин").fill(login)
    await page.get_by_label("Адрес электронной почты").fill(email)
    await page.get_by_label("Номер телефона").fill(phone)
    await page.get_by_label("Пароль", exact=True).fill(password)
    await page.get_by_label("Подтверждение пароля").fill(confirm if confirm is not None else password)
    await page.get_by_label("Введите символы с картинки").fill(captcha)


async def register(page: Page, base_url: str, login: str, email: str, **kwargs: str) -> None:
    """From the login page: «Зарегистрироваться», fill the form, submit."""
    await page.goto(f"{base_url}/login")
    await page.get_by_role("link", name="Зарегистрироваться").click()
    await expect(page.get_by_role("heading", name="Регистрация пользователя")).to_be_visible()
    await fill_registration(page, login, email, **kwargs)
    await page.get_by_role("button", name="Зарегистрироваться").click()


async def open_letter_in_mailbox(page: Page, stack: WebStack, email: str, subject_part: str) -> Page:
    """Open the local mailbox page, then the newest letter to ``email``; returns the mailbox tab."""
    await stack.mailbox.wait_for_async(to=email, subject_contains=subject_part, timeout=30)
    mail_page = await page.context.new_page()
    await mail_page.goto(stack.mail_url)
    await mail_page.get_by_role("row").filter(has_text=email).first.get_by_role("link").last.click()
    await expect(mail_page.get_by_role("heading", level=1)).to_contain_text(subject_part)
    return mail_page


async def registered_and_confirmed(page: Page, cabinet: WebStack, login: str) -> Page:
    """Register through the form, confirm from the letter; returns the confirmed tab."""
    email = f"{login}@example.ru"
    await register(page, cabinet.api_url, login, email)
    letter = await open_letter_in_mailbox(page, cabinet, email, "Подтверждение регистрации")
    confirm = await follow_link_in_letter(letter, "Подтвердить адрес")
    await confirm.get_by_role("button", name="Подтвердить").click()
    return confirm


async def follow_link_in_letter(mail_page: Page, link_text: re.Pattern[str] | str) -> Page:
    """Click a link inside the letter's HTML (opens in a new tab, as a mail client would)."""
    frame = mail_page.frame_locator("iframe")
    async with mail_page.context.expect_page() as new_tab:
        await frame.get_by_role("link", name=link_text).first.click()
    opened = await new_tab.value
    await opened.wait_for_load_state()
    return opened


async def no_horizontal_scroll(page: Page) -> bool:
    return bool(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


async def log_in(page: Page, base_url: str, login: str, password: str) -> None:
    """The login window (fig. 1): «Имя пользователя», «Пароль», «Войти»."""
    if not page.url.endswith("/login"):
        await page.goto(f"{base_url}/login")
    await page.get_by_label("Имя пользователя").fill(login)
    await page.get_by_label("Пароль", exact=True).fill(password)
    await page.get_by_role("button", name="Войти").click()


async def log_out(page: Page) -> None:
    await page.get_by_role("button", name="Выйти", exact=True).click()
    await expect(page.get_by_role("heading", name="Вход в систему")).to_be_visible()


async def request_new_password(page: Page, base_url: str, login: str, email: str) -> None:
    """Password recovery (fig. 4): «Забыли пароль?», login + e-mail, «Сбросить пароль»."""
    await page.goto(f"{base_url}/login")
    await page.get_by_role("link", name="Забыли пароль?").click()
    await page.get_by_label("Логин").fill(login)
    await page.get_by_label("Адрес электронной почты").fill(email)
    await page.get_by_role("button", name="Сбросить пароль").click()


async def mailed_password(mail_page: Page) -> str:
    """The one-time password as the customer reads it in the letter's text."""
    text = await mail_page.locator("pre").inner_text()
    found = re.search(r"новый пароль для входа:\s*(\S+)", text)
    assert found, f"no password in the letter: {text!r}"
    return found.group(1)


async def bind_contract(page: Page, number: str, inn: str, kpp: str | None, code: str) -> None:
    """«Привязать договор» on the Profile: number, ИНН, КПП, the code from the supplier's office."""
    await page.get_by_label("Номер договора").fill(number)
    await page.get_by_label("ИНН").fill(inn)
    await page.get_by_label("КПП").fill(kpp or "")
    await page.get_by_label("Код подтверждения").fill(code)
    await page.get_by_role("button", name="Привязать договор").click()


def billing_registry(settings: Settings) -> dict[str, str]:
    """Load the sample billing export into the stack's DB; one binding code per open contract."""
    from lkk.db import make_engine
    from tests.binding_harness import OPEN_ENTREPRENEUR, OPEN_LEGAL, issue, load_registry

    engine = make_engine(settings.database_url)
    try:
        load_registry(engine)
        return {OPEN_LEGAL[0]: issue(engine, OPEN_LEGAL[0]), OPEN_ENTREPRENEUR[0]: issue(engine, OPEN_ENTREPRENEUR[0])}
    finally:
        engine.dispose()
