"""Keyboard only, through the captcha without its picture: a customer who cannot see the
code registers (confirming the e-mail from the letter in the dev mail sink), logs out,
fails three logins, and logs in with «Не могу прочитать код». No mouse click anywhere:
Tab, Space, Enter and typing, as a keyboard or screen-reader user does."""

from __future__ import annotations

import re

from playwright.async_api import Locator, Page, expect

from tests.browser.harness import PASSWORD, WebStack, unique_login
from tests.harness import links

CHECK_SECONDS = 90_000  # the puzzle takes about a second on a phone; this machine is shared


async def tab_to(page: Page, target: Locator, limit: int = 120) -> None:
    """Press Tab until ``target`` has the focus (fails if the Tab order never reaches it)."""
    for _ in range(limit):
        if await target.evaluate("el => el === document.activeElement"):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {target}")


async def type_into(page: Page, target: Locator, text: str) -> None:
    await tab_to(page, target)
    await page.keyboard.press("Control+A")
    await page.keyboard.type(text)


async def pass_without_the_picture(page: Page) -> None:
    """«Не могу прочитать код» with Space; the browser solves the check, nothing is typed."""
    await tab_to(page, page.get_by_role("button", name="Не могу прочитать код"))
    await page.keyboard.press(" ")
    explained = page.locator("#captcha_solution")
    await expect(explained).to_be_focused()  # the explanation is read out first
    await expect(page.get_by_label("Введите символы с картинки")).to_be_hidden()
    await expect(page.get_by_role("status").filter(has_text="Проверка")).to_contain_text(
        "Проверка пройдена", timeout=CHECK_SECONDS
    )
    assert re.fullmatch(r"\d+", await page.locator("#captcha-solution-value").input_value())
    assert await page.locator("#captcha_answer").input_value() == "", "no test answer on this path"


async def test_register_and_log_in_by_keyboard_without_the_picture(page: Page, cabinet: WebStack) -> None:
    login = unique_login("keys")
    email = f"{login}@example.ru"

    await page.goto(f"{cabinet.api_url}/login")
    await tab_to(page, page.get_by_role("link", name="Зарегистрироваться"))
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Регистрация пользователя")).to_be_visible()

    await type_into(page, page.get_by_label("Логин"), login)
    await type_into(page, page.get_by_label("Адрес электронной почты"), email)
    await type_into(page, page.get_by_label("Пароль", exact=True), PASSWORD)
    await type_into(page, page.get_by_label("Подтверждение пароля"), PASSWORD)
    await pass_without_the_picture(page)
    await tab_to(page, page.get_by_role("button", name="Зарегистрироваться"))
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Проверьте почту")).to_be_visible()

    # The letter, through the real mail sink; its link, then «Подтвердить» by keyboard.
    letter = await cabinet.mailbox.wait_for_async(to=email, subject_contains="Подтверждение регистрации", timeout=30)
    link = next(url for url in links(letter) if "/confirm" in url)
    await page.goto(link)
    await tab_to(page, page.get_by_role("button", name="Подтвердить"))
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Профиль")).to_be_visible()
    await tab_to(page, page.get_by_role("button", name="Выйти", exact=True))
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Вход в систему")).to_be_visible()

    # Three wrong passwords (Enter in the password field); each time the focus lands on
    # the error summary and the title says «Ошибка:».
    for attempt in range(cabinet.settings.login_captcha_after_failures):
        await type_into(page, page.get_by_label("Имя пользователя"), login)
        await type_into(page, page.get_by_label("Пароль", exact=True), f"не-тот-пароль-{attempt}")
        await page.keyboard.press("Enter")
        await expect(page.locator("#error-summary")).to_be_focused()
        await expect(page).to_have_title(re.compile("^Ошибка: Вход в систему"))
    await expect(page.get_by_role("group", name="Код авторизации")).to_be_visible()

    # «Другой код» answers Space; Enter in the code field submits the form, not «Другой код».
    first_code = await page.locator("#captcha_id").input_value()
    await tab_to(page, page.get_by_role("button", name="Другой код"))
    await page.keyboard.press(" ")
    await expect(page.locator("#captcha_id")).not_to_have_value(first_code)
    await expect(page.get_by_label("Введите символы с картинки")).to_be_focused()
    await type_into(page, page.get_by_label("Пароль", exact=True), PASSWORD)
    await type_into(page, page.get_by_label("Введите символы с картинки"), "ХХХХХ")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("alert")).to_contain_text("Код с картинки введён неверно")
    await expect(page.get_by_label("Имя пользователя")).to_have_value(login)

    await type_into(page, page.get_by_label("Пароль", exact=True), PASSWORD)
    await pass_without_the_picture(page)
    await tab_to(page, page.get_by_role("button", name="Войти"))
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Профиль")).to_be_visible()
    await expect(page.locator(".facts")).to_contain_text(login)


async def test_summary_links_keep_label_and_error_in_view_on_a_phone(page: Page, cabinet: WebStack) -> None:
    """A sign-up with two mistakes (e-mail, code) hears both in one round; following a
    summary link by keyboard puts the cursor in the field with its label and error on screen."""
    await page.set_viewport_size({"width": 360, "height": 740})
    login = unique_login("summary")
    await page.goto(f"{cabinet.api_url}/register")
    await type_into(page, page.get_by_label("Логин"), login)
    await type_into(page, page.get_by_label("Адрес электронной почты"), "не-адрес")
    await type_into(page, page.get_by_label("Пароль", exact=True), PASSWORD)
    await type_into(page, page.get_by_label("Подтверждение пароля"), PASSWORD)
    await type_into(page, page.get_by_label("Введите символы с картинки"), "ХХХХХ")
    await page.keyboard.press("Enter")

    summary = page.locator("#error-summary")
    await expect(summary).to_be_focused()
    await expect(page).to_have_title(re.compile("^Ошибка: Регистрация пользователя"))
    await page.wait_for_load_state()
    await expect(summary.get_by_role("link")).to_have_count(2)  # e-mail and code, one round
    for field_id, top_selector in (("captcha_answer", "#captcha legend"), ("email", "label[for=email]")):
        await tab_to(page, summary.locator(f"a[href='#{field_id}']"))
        await page.keyboard.press("Enter")
        await expect(page.locator(f"#{field_id}")).to_be_focused()
        top = await page.locator(top_selector).bounding_box()
        error = await page.locator(f"#{field_id}-error").bounding_box()
        field = await page.locator(f"#{field_id}").bounding_box()
        assert top and error and field
        assert top["y"] >= 0, f"the label of {field_id} is above the screen"
        assert error["y"] >= 0 and field["y"] + field["height"] <= 740, f"{field_id}: error or field off screen"
        await page.keyboard.press("Shift+Tab")  # back towards the summary
