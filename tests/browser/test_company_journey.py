"""Company accounts in a real browser, two people at two screens (two browser contexts,
two cookie jars): the administrator who bound the contract invites a colleague with
«Просмотр», the colleague accepts from the letter and sees the contract with its ТУ and
ПУ, the administrator revokes the access, the colleague's next page no longer shows
it, and «Журнал действий» tells all of it, newest first, in Moscow time."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Locator, Page, expect
from temporalio.testing import WorkflowEnvironment

from tests.billing.support import OPEN_LEGAL
from tests.browser.a11y_checks import wcag_violations
from tests.browser.harness import (
    DESKTOP,
    PASSWORD,
    WebStack,
    billing_registry,
    bind_contract,
    follow_link_in_letter,
    open_letter_in_mailbox,
    registered_and_confirmed,
    stack_settings,
    unique_login,
    web_stack,
)
from tests.conftest import MailSinkProcess

MSK_TIME = re.compile(r"\d{2}\.\d{2}\.\d{4} \d{2}:\d{2} МСК")
# How «Журнал действий» words each action (api/routes/company_pages.py AUDIT_LABELS).
AUDIT_ROWS = {
    "access revoked": "Доступ отозван",
    "accepted": "Приглашение принято",
    "invited": "Приглашение отправлено",
    "bound": "Договор привязан",
}


@pytest.fixture(scope="module")
def company_cabinet(
    dev_server_env: WorkflowEnvironment, mailsink: MailSinkProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebStack]:
    """A cabinet of its own: the sample registry's open contracts are each bound by
    another browser test in the shared ``cabinet``, and a contract binds to one cabinet."""
    data_dir: Path = tmp_path_factory.mktemp("company")
    settings = stack_settings(data_dir, mailsink.smtp_port, dev_server_env.client.service_client.config.target_host)
    with web_stack(settings, mailsink.http_url) as running:
        yield running


@pytest.fixture
async def second_context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """The colleague's own browser: no cookie of the administrator's session."""
    ctx = await browser.new_context(viewport=DESKTOP, locale="ru-RU")
    ctx.set_default_timeout(15_000)
    try:
        yield ctx
    finally:
        await ctx.close()


async def _users_section(page: Page) -> Locator:
    """«Пользователи кабинета» on the Profile: its own region if the page marks one, else the page."""
    region = page.get_by_role("region", name="Пользователи кабинета")
    return region if await region.count() else page.locator("main")


def _contract_card(page: Page, number: str) -> Locator:
    """The contract with its ТУ and ПУ (not its card in «Пользователи кабинета»)."""
    points = page.get_by_role("table", name=re.compile("Точки учёта"))
    return page.get_by_role("article", name=f"Договор № {number}").filter(has=points)


def _member_row(scope: Locator, login: str) -> Locator:
    """The colleague's row with its «Отозвать доступ» button."""
    revoke = scope.page.get_by_role("button", name=re.compile("Отозвать доступ"))
    return scope.locator("tr, li").filter(has_text=login).filter(has=revoke)


async def _audit_order(page: Page) -> list[str]:
    """The actions of «Журнал действий» top to bottom, as names of AUDIT_ROWS."""
    rows = page.get_by_role("table").last.locator("tbody tr")
    found: list[str] = []
    for text in await rows.all_inner_texts():
        action = next((name for name, label in AUDIT_ROWS.items() if label in text), None)
        if action is not None:
            assert MSK_TIME.search(text), f"no Moscow time in the journal's row {text!r}"
            found.append(action)
    return found


async def test_invite_accept_revoke_and_the_journal(
    page: Page, second_context: BrowserContext, company_cabinet: WebStack
) -> None:
    stack = company_cabinet
    base = stack.api_url
    number, inn, kpp = OPEN_LEGAL
    code = billing_registry(stack.settings)[number]

    # The administrator: registers, confirms and binds the contract (its binder is its «Администратор»).
    admin_login = unique_login("admin")
    admin = await registered_and_confirmed(page, stack, admin_login)
    await expect(admin.get_by_role("heading", name="Профиль")).to_be_visible()
    await bind_contract(admin, number, inn, kpp, code)
    await expect(admin.get_by_role("status").first).to_contain_text(f"Договор № {number} привязан")
    await expect(admin.get_by_role("heading", name="Пользователи кабинета")).to_be_visible()

    # «Пригласить пользователя»: e-mail, name, the contract, «Просмотр».
    colleague_login = unique_login("energetik")
    colleague_email = f"{colleague_login}@example.ru"
    await admin.get_by_role("link", name="Пригласить пользователя").click()
    await expect(admin).to_have_url(re.compile(r"/profile/invite$"))
    await admin.get_by_label("E-mail").fill(colleague_email)
    await admin.get_by_label("ФИО").fill("Петров Пётр Петрович")
    contracts = admin.get_by_role("group", name="Договоры")
    await contracts.get_by_role("checkbox", name=re.compile(re.escape(number))).check()
    await admin.get_by_role("group", name="Права доступа").get_by_role("radio", name="Просмотр").check()
    assert await wcag_violations(admin) == [], "the invite form"
    await admin.get_by_role("button", name="Отправить приглашение").click()

    # Back on the Profile: the pending invitation with its expiry.
    await expect(admin.get_by_role("heading", name="Профиль")).to_be_visible()
    users = await _users_section(admin)
    await expect(users).to_contain_text(colleague_email)
    await expect(users).to_contain_text(re.compile(r"действует до \d{2}\.\d{2}\.\d{4}"))

    # The colleague, in another browser: the letter, the link, one button.
    colleague_page = await second_context.new_page()
    await colleague_page.goto(f"{base}/login")
    letter = await open_letter_in_mailbox(colleague_page, stack, colleague_email, "Приглашение")
    invitation = await follow_link_in_letter(letter, "Открыть приглашение")
    await expect(invitation).to_have_url(re.compile(r"/invitation\?token="))
    await expect(invitation.get_by_text(number).first).to_be_visible()
    await expect(invitation.get_by_text(colleague_email).first).to_be_visible()  # taken from the invitation
    await expect(invitation.get_by_role("button")).to_have_count(1)  # nothing happens before the click
    await expect(invitation.get_by_role("button", name="Принять приглашение")).to_be_visible()
    assert await wcag_violations(invitation) == [], "the invitation page"
    await invitation.get_by_label("Логин").fill(colleague_login)
    await invitation.get_by_label("Пароль", exact=True).fill(PASSWORD)
    await invitation.get_by_label("Подтверждение пароля").fill(PASSWORD)
    await invitation.get_by_role("button", name="Принять приглашение").click()

    # Logged in, on the Profile: the shared contract with its ТУ and ПУ, rights «Просмотр», no admin buttons.
    await expect(invitation.get_by_role("heading", name="Профиль")).to_be_visible()
    await expect(invitation.locator(".facts").first).to_contain_text(colleague_login)
    shared = _contract_card(invitation, number)
    await expect(shared).to_be_visible()
    await expect(shared.get_by_role("table", name=re.compile("Точки учёта"))).to_be_visible()
    await expect(shared).to_contain_text("TU-000101-01")
    await expect(shared).to_contain_text("Просмотр")
    for admin_only in ("Отвязать договор", "Отозвать доступ", "Отозвать приглашение", "Отправить повторно"):
        await expect(invitation.get_by_role("button", name=re.compile(admin_only))).to_have_count(0)
    await expect(invitation.get_by_role("link", name="Пригласить пользователя")).to_have_count(0)
    await expect(invitation.get_by_role("link", name="Журнал действий")).to_have_count(0)
    assert await wcag_violations(invitation) == [], "the colleague's Profile"

    # The inviting administrator is told by mail.
    await stack.mailbox.wait_for_async(to=f"{admin_login}@example.ru", subject_contains="Приглашение принято", timeout=30)

    # The administrator sees the colleague as a member now, and takes the access back.
    await admin.reload()
    users = await _users_section(admin)
    await expect(users).to_contain_text(colleague_login)
    await expect(users).not_to_contain_text(re.compile(r"действует до"))  # no pending invitation left
    assert await wcag_violations(admin) == [], "«Пользователи кабинета»"
    await _member_row(users, colleague_login).last.get_by_role("button", name=re.compile("Отозвать доступ")).click()
    await expect(admin.get_by_role("heading", name="Профиль")).to_be_visible()
    await expect(_member_row(await _users_section(admin), colleague_login)).to_have_count(0)

    # Effective at the colleague's next request.
    await invitation.reload()
    await expect(invitation.get_by_role("heading", name="Профиль")).to_be_visible()
    await expect(invitation.get_by_role("article", name=f"Договор № {number}")).to_have_count(0)  # nor in «Пользователи кабинета»
    await expect(invitation.get_by_text("TU-000101-01")).to_have_count(0)

    # «Журнал действий»: bound, invited, accepted, access revoked — newest first, Moscow time.
    await admin.get_by_role("link", name="Журнал действий").click()
    await expect(admin).to_have_url(re.compile(r"/profile/audit"))
    await expect(admin.get_by_role("heading", name="Журнал действий")).to_be_visible()
    journal = admin.get_by_role("table").last
    await expect(journal).to_contain_text(colleague_login)
    await expect(journal).to_contain_text(admin_login)
    assert await _audit_order(admin) == ["access revoked", "accepted", "invited", "bound"]
    assert await wcag_violations(admin) == [], "«Журнал действий»"
