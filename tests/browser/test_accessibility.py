"""Accessibility and layout in a real browser: keyboard-only registration, visible focus,
labels on every field, contrast, a 360 px phone without horizontal scrolling, no JavaScript."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect

from lkk.db import make_engine
from tests.binding_harness import issue
from tests.conftest import CAPTCHA_TEST_ANSWER
from tests.browser.a11y_checks import CONTRAST_HELPERS_JS, small_tap_targets, wcag_violations, weak_focus_rings
from tests.browser.harness import (
    DESKTOP, PASSWORD, PHONE, WebStack, bind_contract, fill_registration, follow_link_in_letter, log_in, log_out,
    mailed_password, no_horizontal_scroll, open_letter_in_mailbox, request_new_password, unique_login,
)

# Every page a visitor can open without an account (the cabinet pages are covered by the journey).
PUBLIC_PAGES = ["/login", "/register", "/register/sent", "/support", "/confirm?token=nope", "/no-such-page"]

# Contrast of each element's text against the nearest opaque background (WCAG 2 formula).
CONTRAST_JS = """
() => {
""" + CONTRAST_HELPERS_JS + """  const worst = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    const style = getComputedStyle(el);
    if (!own || style.visibility === "hidden" || el.offsetParent === null && style.position !== "fixed") continue;
    if (el.closest(".sr-only, .skip")) continue;
    const fg = lum(parse(style.color).slice(0, 3)), bg = lum(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 4.5) worst.push(`${el.tagName} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
  }
  return worst;
}
"""

UNLABELLED_JS = """
() => [...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute("aria-label"))
  .map(el => el.name || el.id)
"""


async def _tab_to(page: Page, selector: str, limit: int = 30) -> None:
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


async def _focus_ring_visible(page: Page) -> bool:
    return bool(await page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2; }"
    ))


async def test_registration_by_keyboard_only(page: Page, cabinet: WebStack) -> None:
    login = unique_login("keys")
    await page.goto(f"{cabinet.api_url}/login")
    await _tab_to(page, "a[href='/register']")
    assert await _focus_ring_visible(page)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Регистрация пользователя")).to_be_visible()

    # The order of the manual: login, e-mail, phone, password, confirmation, code.
    for selector, text in (
        ("#login", login), ("#email", f"{login}@example.ru"), ("#phone", "+7 912 345-67-89"),
        ("#password", PASSWORD), ("#password_confirm", PASSWORD), ("#captcha_answer", CAPTCHA_TEST_ANSWER),
    ):
        # Before the first field: the skip link, the logo and the header's two help links.
        await _tab_to(page, selector, limit=6 if selector == "#login" else 4)
        assert await _focus_ring_visible(page), f"no visible focus on {selector}"
        await page.keyboard.type(text)
    await page.keyboard.press("Enter")  # submits with «Зарегистрироваться», the form's default button
    await expect(page.get_by_role("heading", name="Проверьте почту")).to_be_visible()


async def test_public_pages_have_labels_contrast_and_russian_text(page: Page, cabinet: WebStack) -> None:
    for path in PUBLIC_PAGES:
        response = await page.goto(f"{cabinet.api_url}{path}")
        assert response is not None and response.status < 500, path
        assert await page.evaluate("document.documentElement.lang") == "ru"
        assert await page.evaluate(UNLABELLED_JS) == [], path
        assert await page.evaluate(CONTRAST_JS) == [], path
        await expect(page.get_by_role("link", name="Служба поддержки пользователей").first).to_be_visible()
        for phone in cabinet.settings.supplier_helpdesk_phones:
            await expect(page.locator("footer")).to_contain_text(phone)
        await expect(page.locator("header")).to_contain_text(cabinet.settings.supplier_name)
        body = await page.content()
        assert "Traceback" not in body and "Internal Server Error" not in body and "Not Found" not in body


async def test_not_found_is_a_russian_page(page: Page, cabinet: WebStack) -> None:
    response = await page.goto(f"{cabinet.api_url}/no-such-page")
    assert response is not None and response.status == 404
    await expect(page.get_by_role("heading", level=1)).to_have_text("Страница не найдена")
    await expect(page.get_by_role("link", name="На главную страницу")).to_be_visible()


@pytest.mark.parametrize("path", PUBLIC_PAGES)
async def test_phone_width_has_no_horizontal_scroll(browser: Browser, cabinet: WebStack, path: str) -> None:
    context = await browser.new_context(viewport=PHONE, locale="ru-RU")
    try:
        page = await context.new_page()
        await page.goto(f"{cabinet.api_url}{path}")
        assert await no_horizontal_scroll(page), f"{path} scrolls sideways at 360 px"
        await expect(page.get_by_role("link", name=re.compile("Скачать .*инструкци"))).to_be_in_viewport()
    finally:
        await context.close()


async def test_registration_works_without_javascript(browser: Browser, cabinet: WebStack) -> None:
    context = await browser.new_context(java_script_enabled=False, locale="ru-RU")
    try:
        page = await context.new_page()
        login = unique_login("nojs")
        await page.goto(f"{cabinet.api_url}/register")
        first_code = await page.locator("#captcha_id").input_value()
        await page.get_by_label("Логин").fill(login)
        await page.get_by_label("Адрес электронной почты").fill(f"{login}@example.ru")
        await page.get_by_role("button", name="Другой код").click()  # no JS: the same form, a new code
        await expect(page.locator("#captcha_id")).not_to_have_value(first_code)
        await expect(page.get_by_label("Логин")).to_have_value(login)
        await expect(page.get_by_label("Введите символы с картинки")).to_be_focused()
        await page.get_by_label("Пароль", exact=True).fill(PASSWORD)
        await page.get_by_label("Подтверждение пароля").fill(PASSWORD)
        await page.get_by_label("Введите символы с картинки").fill(CAPTCHA_TEST_ANSWER)
        await page.get_by_role("button", name="Зарегистрироваться").click()
        await expect(page.get_by_role("heading", name="Проверьте почту")).to_be_visible()
    finally:
        await context.close()


# --------------------------------------------------------------------------- every page and state

# Contracts of the sample registry that no other browser test binds (one cabinet per
# contract): one for each walk.
Contract = tuple[str, str, str | None]
AXE_CONTRACT: Contract = ("7701-000104", "0001209171", "000101001")
PHONE_CONTRACT: Contract = ("7701-000102", "0001592649", "000150001")
WALK_STATES = [
    "login", "login with captcha and an error", "registration", "registration with errors", "«Проверьте почту»",
    "confirm", "profile with a contract", "recovery", "recovery requested", "set password", "support",
    "registration guide", "user guide", "404", "invalid link", "sent without a sign-up",
]


def _fresh_code(cabinet: WebStack, number: str) -> str:
    engine = make_engine(cabinet.settings.database_url)
    try:
        return issue(engine, number)
    finally:
        engine.dispose()


async def every_page_and_state(page: Page, cabinet: WebStack, contract: Contract) -> AsyncIterator[tuple[str, Page]]:
    """Walk the cabinet as customers meet it, yielding (state, tab) at each stop."""
    base = cabinet.api_url
    number, inn, kpp = contract
    code = _fresh_code(cabinet, number)
    await page.goto(f"{base}/login")
    yield "login", page

    stranger = unique_login("nobody")  # failures count per login, known or not
    for attempt in range(cabinet.settings.login_captcha_after_failures):
        await log_in(page, base, stranger, f"не-тот-пароль-{attempt}")
    await expect(page.get_by_label("Введите символы с картинки")).to_be_visible()
    yield "login with captcha and an error", page

    await page.goto(f"{base}/register")
    yield "registration", page
    await page.get_by_role("button", name="Зарегистрироваться").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    yield "registration with errors", page

    login = unique_login("walk")
    email = f"{login}@example.ru"
    await fill_registration(page, login, email)
    await page.get_by_role("button", name="Зарегистрироваться").click()
    await expect(page.get_by_role("heading", name="Проверьте почту")).to_be_visible()
    yield "«Проверьте почту»", page

    letter = await open_letter_in_mailbox(page, cabinet, email, "Подтверждение регистрации")
    confirm = await follow_link_in_letter(letter, "Подтвердить адрес")
    await letter.close()
    yield "confirm", confirm
    await confirm.get_by_role("button", name="Подтвердить").click()
    await expect(confirm.get_by_role("heading", name="Профиль")).to_be_visible()
    await bind_contract(confirm, number, inn, kpp, code)
    await expect(confirm.get_by_role("article", name=f"Договор № {number}").first).to_be_visible()
    yield "profile with a contract", confirm

    await log_out(confirm)
    await confirm.close()
    await page.goto(f"{base}/password/forgot")
    yield "recovery", page
    await request_new_password(page, base, login, email)
    await expect(page.get_by_role("status")).to_be_visible()
    yield "recovery requested", page

    letter = await open_letter_in_mailbox(page, cabinet, email, "Восстановление пароля")
    one_time = await mailed_password(letter)
    await letter.close()
    await log_in(page, base, login, one_time)
    await expect(page.get_by_role("heading", name="Придумайте новый пароль")).to_be_visible()
    yield "set password", page

    for state, path in (
        ("support", "/support"), ("registration guide", "/guides/registration"), ("user guide", "/guides/user-guide"),
        ("404", "/no-such-page"), ("invalid link", "/confirm?token=nope"), ("sent without a sign-up", "/register/sent"),
    ):
        await page.goto(f"{base}{path}")
        yield state, page


async def test_no_wcag21_aa_violation_on_any_page_at_desktop_and_phone_width(
    page: Page, cabinet: WebStack, binding_codes: dict[str, str]
) -> None:
    """axe-core on every page and state, at 1280 px and at 360 px: any A/AA violation fails."""
    found: list[str] = []
    seen: list[str] = []
    async for state, tab in every_page_and_state(page, cabinet, AXE_CONTRACT):
        seen.append(state)
        for label, viewport in (("desktop", DESKTOP), ("360 px", PHONE)):
            await tab.set_viewport_size(viewport)
            found += [f"{state} at {label}: {line}" for line in await wcag_violations(tab)]
        await tab.set_viewport_size(DESKTOP)
    assert seen == WALK_STATES  # the walk reached every stop
    assert found == [], "\n".join(found)


async def test_phone_width_tap_targets_keyboards_and_logout_within_reach(
    page: Page, cabinet: WebStack, binding_codes: dict[str, str]
) -> None:
    """At 360 px: no link, button or field under 44×44 CSS px on any page (measured in
    Chromium), no sideways scrolling, the digit keypad for ИНН, and «Выйти» on the first
    screen of a long Profile."""
    await page.set_viewport_size(PHONE)
    found: list[str] = []
    async for state, tab in every_page_and_state(page, cabinet, PHONE_CONTRACT):
        await tab.set_viewport_size(PHONE)
        found += [f"{state}: {target}" for target in await small_tap_targets(tab)]
        if not await no_horizontal_scroll(tab):
            found.append(f"{state}: scrolls sideways")
        if state == "profile with a contract":
            await _logout_and_keypads_on_the_profile(tab)
    assert found == [], "\n".join(found)


async def _logout_and_keypads_on_the_profile(tab: Page) -> None:
    assert await tab.evaluate("document.documentElement.scrollHeight") > 2 * PHONE["height"], "a long Profile"
    logout = tab.get_by_role("button", name="Выйти", exact=True)
    box = await logout.bounding_box()
    top_of_page = await tab.evaluate("window.scrollY")
    assert box is not None and box["y"] + top_of_page + box["height"] <= PHONE["height"], "«Выйти» is on the first screen"
    await expect(tab.get_by_label("ИНН")).to_have_attribute("inputmode", "numeric")
    # КПП may hold Latin capitals (5th-6th characters): a digit pad could not type them.
    assert await tab.get_by_label("КПП").get_attribute("inputmode") is None


@pytest.mark.parametrize("path", ["/login", "/register", "/support", "/guides/registration"])
async def test_focus_ring_has_3_to_1_contrast_at_every_stop(page: Page, cabinet: WebStack, path: str) -> None:
    await page.goto(f"{cabinet.api_url}{path}")
    assert await weak_focus_rings(page) == []
