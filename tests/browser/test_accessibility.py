"""Accessibility and layout in a real browser: keyboard-only registration, visible focus,
labels on every field, contrast, a 360 px phone without horizontal scrolling, no JavaScript."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import CAPTCHA_TEST_ANSWER
from tests.browser.harness import PASSWORD, PHONE, WebStack, no_horizontal_scroll, unique_login

# Every page a visitor can open without an account (the cabinet pages are covered by the journey).
PUBLIC_PAGES = ["/login", "/register", "/register/sent", "/support", "/confirm?token=nope", "/no-such-page"]

# Contrast of each element's text against the nearest opaque background (WCAG 2 formula).
CONTRAST_JS = """
() => {
  const lum = (rgb) => {
    const [r, g, b] = rgb.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const parse = (c) => c.match(/[\\d.]+/g).map(Number);
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = parse(getComputedStyle(el).backgroundColor);
      if (c.length < 4 || c[3] > 0.99) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const worst = [];
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
        await _tab_to(page, selector, limit=4)
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
