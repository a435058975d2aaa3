"""Fixtures of the browser tests: Debian's Chromium under Playwright, and the real stack
(Temporal dev server, SMTP sink, worker and API subprocesses) shared by the session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page
from temporalio.testing import WorkflowEnvironment

from tests.conftest import MailSinkProcess
from tests.browser.harness import (
    DESKTOP,
    MISSING_CHROMIUM,
    WebStack,
    billing_registry,
    chromium,
    chromium_path,
    stack_settings,
    web_stack,
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    # Fail, never skip: a missing browser must not turn the journey tests green.
    try:
        return chromium_path()
    except RuntimeError:
        pytest.fail(MISSING_CHROMIUM, pytrace=False)


@pytest.fixture(scope="session")
async def browser(chromium_executable: str) -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(viewport=DESKTOP, locale="ru-RU", accept_downloads=True)
    ctx.set_default_timeout(15_000)
    try:
        yield ctx
    finally:
        await ctx.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    return await context.new_page()


def _stack(env: WorkflowEnvironment, mailsink: MailSinkProcess, data_dir: Path, **overrides: object) -> Iterator[WebStack]:
    settings = stack_settings(data_dir, mailsink.smtp_port, env.client.service_client.config.target_host, **overrides)
    with web_stack(settings, mailsink.http_url) as running:
        yield running


@pytest.fixture(scope="session")
def cabinet(
    dev_server_env: WorkflowEnvironment, mailsink: MailSinkProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebStack]:
    """The product as customers meet it (one for the session: starting it costs seconds)."""
    yield from _stack(dev_server_env, mailsink, tmp_path_factory.mktemp("cabinet"))


@pytest.fixture(scope="session")
def short_lived_cabinet(
    dev_server_env: WorkflowEnvironment, mailsink: MailSinkProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebStack]:
    """Sign-ups expire after a few seconds here, to meet the expired link for real."""
    yield from _stack(dev_server_env, mailsink, tmp_path_factory.mktemp("short"), signup_ttl_seconds=4)


@pytest.fixture(scope="session")
def binding_codes(cabinet: WebStack) -> dict[str, str]:
    """The sample registry in the cabinet's DB, and a fresh code per open contract."""
    return billing_registry(cabinet.settings)
