"""Screenshot every page of the cabinet into docs/img/ (for the README and the PDF guides).

Walks the real product as a customer does: the whole stack runs (Temporal dev server,
SMTP sink, worker, API, each on a free port, data in a temporary folder) and Debian's
Chromium is driven by Playwright, with the same harness as the browser tests.

    .venv/bin/python docs/tools/screenshots.py [OUT_DIR]     # `make screenshots`
"""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from playwright.async_api import Browser, Locator, Page, expect  # noqa: E402

from tests.billing.support import OPEN_LEGAL  # noqa: E402
from tests.browser.harness import (  # noqa: E402
    PASSWORD,
    PHONE,
    WebStack,
    billing_registry,
    bind_contract,
    chromium,
    fill_registration,
    follow_link_in_letter,
    log_in,
    log_out,
    mailed_password,
    open_letter_in_mailbox,
    register,
    request_new_password,
    standalone_stack,
)
from tests.conftest import CAPTCHA_TEST_ANSWER  # noqa: E402

OUT_DIR = ROOT / "docs" / "img"
# Narrower than the tests' desktop and short, so full-page shots end where the page
# ends and stay legible when a guide scales them to the width of an A4 page.
VIEWPORT = {"width": 1024, "height": 600}
LOGIN = "ooo-romashka"
EMAIL = "buh@romashka.example.ru"
# The colleagues the administrator invites: one accepts, one has not yet.
COLLEAGUE_LOGIN = "romashka-energetik"
COLLEAGUE_EMAIL = "energetik@romashka.example.ru"
PENDING_EMAIL = "filial@romashka.example.ru"

# name -> what it shows (the README's captions); keep in the order of the walk.
PAGES: dict[str, str] = {
    "login": "Вход в систему (рис. 1 руководства)",
    "register": "Регистрация пользователя (рис. 2)",
    "register-errors": "Ошибки у полей, значения сохранены (кроме паролей)",
    "register-sent": "«Проверьте почту»: повторная отправка и её ожидание",
    "mailbox-letter": "Письмо со ссылкой в локальном почтовом ящике (стенд разработки)",
    "confirm": "Подтверждение адреса: одна кнопка",
    "profile": "Профиль (рис. 3)",
    "profile-contract": "Профиль с привязанным договором: ТУ и ПУ",
    "invite": "«Пригласить пользователя»: адрес, договоры, права доступа",
    "invitation-accept": "Приглашение по ссылке из письма: «Принять приглашение»",
    "profile-shared": "Профиль коллеги: общий договор с правами «Просмотр»",
    "profile-users": "«Пользователи кабинета»: коллеги, их права и ожидающие приглашения",
    "audit": "«Журнал действий» администратора договора",
    "forgot-password": "Восстановление пароля (рис. 4)",
    "set-password": "Вход с паролем из письма: задайте свой пароль",
    "login-locked": "Вход заблокирован после неудачных попыток",
    "link-used": "Ссылка уже использована",
    "link-invalid": "Ссылка недействительна",
    "support": "Служба поддержки пользователей (раздел 3)",
    "not-found": "Страница не найдена (404)",
    "register-mobile": "Регистрация на телефоне шириной 360 px",
}


class Shooter:
    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.taken: list[str] = []

    async def take(self, page: Page, name: str) -> None:
        assert name in PAGES, f"add {name!r} to PAGES"
        await page.wait_for_load_state("networkidle")
        await page.screenshot(path=str(self.out_dir / f"{name}.png"), full_page=True)
        self.taken.append(name)

    async def take_between(self, page: Page, name: str, top: Locator, below: Locator) -> None:
        """Part of a long page: from ``top`` down to where ``below`` starts (a full-page
        shot of the Profile would shrink to an unreadable strip on an A4 page)."""
        assert name in PAGES, f"add {name!r} to PAGES"
        await page.wait_for_load_state("networkidle")
        await page.evaluate("window.scrollTo(0, 0)")  # boxes in page coordinates
        start, end = await top.bounding_box(), await below.bounding_box()
        assert start and end, f"{name}: section not found"
        y = max(0, start["y"] - 16)
        clip = {"x": 0, "y": y, "width": VIEWPORT["width"], "height": end["y"] - 8 - y}
        await page.screenshot(path=str(self.out_dir / f"{name}.png"), full_page=True, clip=clip)
        self.taken.append(name)


async def walk(out_dir: Path) -> list[str]:
    out_dir.mkdir(parents=True, exist_ok=True)
    shots = Shooter(out_dir)
    with tempfile.TemporaryDirectory(prefix="lkk-shots-") as tmp:
        async with standalone_stack(Path(tmp)) as stack, chromium() as browser:
            context = await browser.new_context(viewport=VIEWPORT, locale="ru-RU", device_scale_factor=1)
            page = await context.new_page()
            base = stack.api_url

            await page.goto(f"{base}/login")
            await shots.take(page, "login")

            await page.get_by_role("link", name="Зарегистрироваться").click()
            await shots.take(page, "register")

            await fill_registration(page, LOGIN, EMAIL, confirm="другой-пароль-2026", captcha="XXXXX")
            await page.get_by_role("button", name="Зарегистрироваться").click()
            await expect(page.get_by_role("alert")).to_be_visible()
            await shots.take(page, "register-errors")

            await register(page, base, LOGIN, EMAIL)
            await expect(page.get_by_role("heading", name="Проверьте почту")).to_be_visible()
            await shots.take(page, "register-sent")

            mail_page = await open_letter_in_mailbox(page, stack, EMAIL, "Подтверждение регистрации")
            await shots.take(mail_page, "mailbox-letter")
            confirm_page = await follow_link_in_letter(mail_page, "Подтвердить адрес")
            await shots.take(confirm_page, "confirm")
            confirm_url = confirm_page.url
            await confirm_page.get_by_role("button", name="Подтвердить").click()
            await expect(confirm_page.get_by_role("heading", name="Профиль")).to_be_visible()
            await shots.take(confirm_page, "profile")

            codes = billing_registry(stack.settings)
            number, inn, kpp = OPEN_LEGAL
            await bind_contract(confirm_page, number, inn, kpp, codes[number])
            await expect(confirm_page.get_by_role("article").first).to_be_visible()
            await shots.take(confirm_page, "profile-contract")
            await company_users(shots, stack, browser, confirm_page, number)
            await log_out(confirm_page)

            await confirm_page.goto(confirm_url)
            await shots.take(confirm_page, "link-used")

            await page.goto(f"{base}/password/forgot")
            await page.get_by_label("Логин").fill(LOGIN)
            await page.get_by_label("Адрес электронной почты").fill(EMAIL)
            await shots.take(page, "forgot-password")
            await request_new_password(page, base, LOGIN, EMAIL)
            letter = await open_letter_in_mailbox(page, stack, EMAIL, "Восстановление пароля")
            await log_in(page, base, LOGIN, await mailed_password(letter))
            await expect(page.get_by_role("heading", name="Придумайте новый пароль")).to_be_visible()
            await shots.take(page, "set-password")
            await log_out(page)

            for attempt in range(stack.settings.login_lockout_after_failures + 1):
                await page.get_by_label("Имя пользователя").fill(LOGIN)
                await page.get_by_label("Пароль", exact=True).fill(f"не-тот-{attempt}")
                if await page.get_by_label("Введите символы с картинки").count():
                    await page.get_by_label("Введите символы с картинки").fill(CAPTCHA_TEST_ANSWER)
                await page.get_by_role("button", name="Войти").click()
                if "Слишком много" in await page.get_by_role("alert").inner_text():
                    break
            await shots.take(page, "login-locked")
            await page.goto(f"{base}/confirm?token=no-such-token")
            await shots.take(page, "link-invalid")
            await page.goto(f"{base}/support")
            await shots.take(page, "support")
            await page.goto(f"{base}/no-such-page")
            await shots.take(page, "not-found")

            phone = await browser.new_context(viewport=PHONE, locale="ru-RU", device_scale_factor=1)
            phone_page = await phone.new_page()
            await phone_page.goto(f"{base}/register")
            await shots.take(phone_page, "register-mobile")
    missing = set(PAGES) - set(shots.taken)
    assert not missing, f"not captured: {sorted(missing)}"
    return shots.taken


async def invite(page: Page, email: str, full_name: str, number: str, shots: Shooter | None = None) -> None:
    """«Пригласить пользователя» from the Profile, with «Просмотр» on one contract."""
    await page.get_by_role("link", name="Пригласить пользователя").click()
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("ФИО").fill(full_name)
    await page.get_by_role("group", name="Договоры").get_by_role("checkbox", name=re.compile(re.escape(number))).check()
    await page.get_by_role("group", name="Права доступа").get_by_role("radio", name="Просмотр").check()
    if shots is not None:
        await shots.take(page, "invite")
    await page.get_by_role("button", name="Отправить приглашение").click()
    await expect(page.get_by_role("heading", name="Профиль")).to_be_visible()


async def company_users(shots: Shooter, stack: WebStack, browser: Browser, admin: Page, number: str) -> None:
    """Company accounts: the administrator invites two colleagues; one accepts in their own
    browser, the other invitation stays pending, so «Пользователи кабинета» shows both."""
    await invite(admin, COLLEAGUE_EMAIL, "Петров Пётр Петрович", number, shots)
    await invite(admin, PENDING_EMAIL, "Сидорова Анна Сергеевна", number)

    colleague = await browser.new_context(viewport=VIEWPORT, locale="ru-RU", device_scale_factor=1)
    start = await colleague.new_page()
    await start.goto(f"{stack.api_url}/login")
    letter = await open_letter_in_mailbox(start, stack, COLLEAGUE_EMAIL, "Приглашение")
    accept = await follow_link_in_letter(letter, "Открыть приглашение")
    await expect(accept.get_by_role("button", name="Принять приглашение")).to_be_visible()
    await shots.take(accept, "invitation-accept")
    await accept.get_by_label("Логин").fill(COLLEAGUE_LOGIN)
    await accept.get_by_label("Пароль", exact=True).fill(PASSWORD)
    await accept.get_by_label("Подтверждение пароля").fill(PASSWORD)
    await accept.get_by_role("button", name="Принять приглашение").click()
    await expect(accept.get_by_role("article").first).to_be_visible()
    await shots.take_between(accept, "profile-shared", accept.get_by_role("heading", name="Профиль"),
                             accept.get_by_role("heading", name="Привязать договор"))
    await colleague.close()

    await admin.goto(f"{stack.api_url}/profile")
    await expect(admin.get_by_text(COLLEAGUE_LOGIN).first).to_be_visible()
    await shots.take_between(admin, "profile-users", admin.get_by_role("heading", name="Пользователи кабинета"),
                             admin.get_by_role("heading", name="Привязать договор"))
    await admin.get_by_role("link", name="Журнал действий").click()
    await expect(admin.get_by_role("heading", name="Журнал действий")).to_be_visible()
    await shots.take(admin, "audit")
    await admin.goto(f"{stack.api_url}/profile")


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT_DIR
    for name in asyncio.run(walk(out)):
        print(out / f"{name}.png")


if __name__ == "__main__":
    main()
