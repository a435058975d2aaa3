"""The customer's way in, in a real browser, as the manual tells it: login page (fig. 1),
«Зарегистрироваться» (fig. 2), the letter in the mailbox, the link, «Подтвердить»,
«Профиль» (fig. 3), the guides behind the blue «?», «Выйти»."""

from __future__ import annotations

import io
import re

from playwright.async_api import Page, expect
from pypdf import PdfReader

from tests.billing.support import OPEN_ENTREPRENEUR, OPEN_LEGAL
from tests.browser.harness import (
    PASSWORD,
    WebStack,
    bind_contract,
    fill_registration,
    follow_link_in_letter,
    log_in,
    log_out,
    mailed_password,
    open_letter_in_mailbox,
    register,
    registered_and_confirmed,
    request_new_password,
    unique_login,
)
from tests.conftest import CAPTCHA_TEST_ANSWER


async def _download_guide(page: Page, expected_title: str) -> None:
    """Click the blue «?» in the top-right corner and read the PDF it gives."""
    help_link = page.get_by_role("link", name=re.compile("Скачать .*инструкци"))
    box = await help_link.bounding_box()
    viewport = page.viewport_size
    assert box and viewport and box["x"] > viewport["width"] * 0.8 and box["y"] < 100, "«?» sits top-right"
    async with page.expect_download() as info:
        await help_link.click()
    download = await info.value
    path = await download.path()
    assert download.suggested_filename.endswith(".pdf")
    reader = PdfReader(io.BytesIO(path.read_bytes()))
    assert reader.metadata is not None and reader.metadata.title == expected_title
    assert "Регистрация пользователя" in "".join(p.extract_text() for p in reader.pages)


async def test_register_confirm_bind_recover_password(page: Page, cabinet: WebStack, binding_codes: dict[str, str]) -> None:
    login = unique_login("journey")
    email = f"{login}@example.ru"

    await page.goto(f"{cabinet.api_url}/")
    await expect(page).to_have_url(re.compile(r"/login$"))
    await expect(page.get_by_role("heading", name="Вход в систему")).to_be_visible()
    await expect(page.get_by_label("Имя пользователя")).to_be_visible()
    await expect(page.get_by_label("Пароль")).to_be_visible()
    await expect(page.get_by_role("button", name="Войти")).to_be_visible()
    await expect(page.get_by_role("link", name="Забыли пароль?")).to_be_visible()
    await _download_guide(page, "Краткая инструкция по регистрации")

    await register(page, cabinet.api_url, login, email)
    await expect(page.get_by_role("heading", name="Проверьте почту")).to_be_visible()
    await expect(page.get_by_text("Повторная отправка станет доступна через")).to_be_visible()

    mail_page = await open_letter_in_mailbox(page, cabinet, email, "Подтверждение регистрации")
    await expect(mail_page.get_by_text(login).first).to_be_visible()
    confirm = await follow_link_in_letter(mail_page, "Подтвердить адрес")
    await expect(confirm.get_by_role("heading", name="Подтверждение адреса электронной почты")).to_be_visible()
    await confirm.get_by_role("button", name="Подтвердить").click()

    await expect(confirm.get_by_role("heading", name="Профиль")).to_be_visible()
    await expect(confirm.get_by_role("status")).to_contain_text("Регистрация завершена")
    await expect(confirm.locator(".facts")).to_contain_text(login)
    await _download_guide(confirm, "Инструкция по работе с Личным кабинетом")

    # Bind the contract with the code from the supplier's office: its ТУ and ПУ appear.
    number, inn, kpp = OPEN_LEGAL
    await bind_contract(confirm, number, inn, kpp, binding_codes[number])
    await expect(confirm.get_by_role("status").first).to_contain_text(f"Договор № {number} привязан")
    contract = confirm.get_by_role("article", name=f"Договор № {number}").first  # the card; «Пользователи кабинета» follows
    await expect(contract.get_by_role("table", name=re.compile("Точки учёта"))).to_be_visible()
    await expect(contract).to_contain_text("TU-000101-01")
    await expect(contract.get_by_role("button", name=f"Отвязать договор № {number}")).to_be_visible()

    await log_out(confirm)
    await confirm.goto(f"{cabinet.api_url}/profile")
    await expect(confirm).to_have_url(re.compile(r"/login$"))  # the session is gone

    # «Забыли пароль?»: the new password comes by mail, works once, then the customer sets their own.
    await request_new_password(confirm, cabinet.api_url, login, email)
    await expect(confirm.get_by_role("status")).to_contain_text("Если логин и адрес электронной почты указаны верно")
    letter = await open_letter_in_mailbox(confirm, cabinet, email, "Восстановление пароля")
    one_time = await mailed_password(letter)
    await log_in(confirm, cabinet.api_url, login, one_time)
    await expect(confirm.get_by_role("heading", name="Придумайте новый пароль")).to_be_visible()
    await confirm.goto(f"{cabinet.api_url}/profile")  # no way around it
    await expect(confirm.get_by_role("heading", name="Придумайте новый пароль")).to_be_visible()
    new_password = "летний-полдень-2027"
    await confirm.get_by_label("Новый пароль", exact=True).fill(new_password)
    await confirm.get_by_label("Новый пароль ещё раз").fill(new_password)
    await confirm.get_by_role("button", name="Сохранить пароль").click()
    await expect(confirm.get_by_role("heading", name="Профиль")).to_be_visible()
    await log_out(confirm)

    await log_in(confirm, cabinet.api_url, login, one_time)  # the mailed one was good for one use
    await expect(confirm.get_by_role("alert")).to_contain_text("Неверное имя пользователя или пароль")
    await log_in(confirm, cabinet.api_url, login, new_password)
    await expect(confirm.get_by_role("heading", name="Профиль")).to_be_visible()


async def test_taken_login_is_shown_at_the_field_and_values_are_kept(page: Page, cabinet: WebStack) -> None:
    login = unique_login("taken")
    await register(page, cabinet.api_url, login, f"{login}@example.ru")
    await expect(page.get_by_role("heading", name="Проверьте почту")).to_be_visible()

    other_email = f"other-{login}@example.ru"
    await register(page, cabinet.api_url, login, other_email)
    await expect(page.get_by_role("alert")).to_contain_text("Этот логин уже занят")
    login_field = page.get_by_label("Логин")
    await expect(login_field).to_have_attribute("aria-invalid", "true")
    await expect(login_field).to_have_accessible_description(re.compile("Этот логин уже занят"))
    await expect(login_field).to_have_value(login)
    await expect(page.get_by_label("Адрес электронной почты")).to_have_value(other_email)
    await expect(page.get_by_label("Пароль", exact=True)).to_have_value("")  # never echoed back
    await expect(page.get_by_label("Подтверждение пароля")).to_have_value("")
    # The summary links to the field, and following it puts the cursor there.
    await page.get_by_role("alert").get_by_role("link").first.click()
    await expect(login_field).to_be_focused()


async def test_wrong_captcha_is_reported_and_a_new_code_is_shown(page: Page, cabinet: WebStack) -> None:
    login = unique_login("captcha")
    await page.goto(f"{cabinet.api_url}/register")
    first_code = await page.locator("#captcha_id").input_value()
    await fill_registration(page, login, f"{login}@example.ru", captcha="ZZZZZ")
    await page.get_by_role("button", name="Зарегистрироваться").click()

    answer = page.get_by_label("Введите символы с картинки")
    await expect(answer).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_role("alert")).to_contain_text("Код авторизации")
    second_code = await page.locator("#captcha_id").input_value()
    assert second_code != first_code, "a failed answer uses up the code"

    # «Другой код» swaps the picture in place (captcha.js), keeping what was typed.
    async with page.expect_response(re.compile(r"/api/v1/captcha/.+\.png")) as picture:
        await page.get_by_role("button", name="Другой код").click()
    assert (await picture.value).ok
    await expect(page.locator("#captcha_id")).not_to_have_value(second_code)
    await expect(page.get_by_label("Логин")).to_have_value(login)
    await expect(answer).to_be_focused()


async def test_expired_link_leads_to_a_clear_page(page: Page, short_lived_cabinet: WebStack) -> None:
    stack = short_lived_cabinet
    login = unique_login("late")
    email = f"{login}@example.ru"
    await register(page, stack.api_url, login, email)
    mail_page = await open_letter_in_mailbox(page, stack, email, "Подтверждение регистрации")
    confirm = await follow_link_in_letter(mail_page, "Подтвердить адрес")
    await expect(confirm.get_by_role("button", name="Подтвердить")).to_be_visible()

    # The customer comes back too late: the sign-up expires (4 s here, 72 h in production).
    await page.goto(f"{stack.api_url}/register/sent")
    await _reload_until(page, re.compile(r"срок (подтверждения регистрации |её )?истёк", re.IGNORECASE))

    await confirm.get_by_role("button", name="Подтвердить").click()
    card = confirm.locator("[data-outcome]")
    await expect(card).to_have_attribute("data-outcome", re.compile("^(expired|invalid)$"))
    await expect(confirm.get_by_role("heading", level=1)).to_have_text(re.compile("Срок действия ссылки истёк|Ссылка недействительна"))
    await expect(confirm.get_by_role("link", name="Зарегистрироваться заново")).to_be_visible()
    await expect(confirm.get_by_role("link", name="Служба поддержки пользователей").first).to_be_visible()
    assert "Traceback" not in await confirm.content()

    # The login is free again: the same customer registers anew.
    await register(page, stack.api_url, login, email)
    await expect(page.get_by_role("heading", name="Проверьте почту")).to_be_visible()


async def _reload_until(page: Page, text: str | re.Pattern[str], attempts: int = 60) -> None:
    for _ in range(attempts):
        if await page.get_by_text(text).count():
            return
        await page.wait_for_timeout(500)
        await page.reload()
    raise AssertionError(f"{text!r} never appeared")


async def test_wrong_passwords_bring_a_captcha_then_a_lockout(page: Page, cabinet: WebStack) -> None:
    login = unique_login("locked")
    confirm = await registered_and_confirmed(page, cabinet, login)
    await log_out(confirm)

    settings = cabinet.settings
    locked_at = None
    for attempt in range(1, settings.login_lockout_after_failures + 2):
        await confirm.get_by_label("Имя пользователя").fill(login)
        await confirm.get_by_label("Пароль", exact=True).fill(f"не-тот-пароль-{attempt}")
        if await confirm.get_by_label("Введите символы с картинки").count():
            await confirm.get_by_label("Введите символы с картинки").fill(CAPTCHA_TEST_ANSWER)
        await confirm.get_by_role("button", name="Войти").click()
        alert = await confirm.get_by_role("alert").inner_text()
        if "Слишком много неудачных попыток входа" in alert:
            locked_at = attempt
            break
        assert "Неверное имя пользователя или пароль" in alert or "код" in alert.lower()
        if attempt == settings.login_captcha_after_failures:
            await expect(confirm.get_by_role("group", name="Код авторизации")).to_be_visible()
    assert locked_at is not None and locked_at > settings.login_captcha_after_failures, locked_at
    await expect(confirm.get_by_role("link", name="Забыли пароль?")).to_be_visible()
    assert "Traceback" not in await confirm.content()

    # Even the right password waits out the lockout.
    await log_in(confirm, cabinet.api_url, login, PASSWORD)
    if await confirm.get_by_label("Введите символы с картинки").count():
        await confirm.get_by_label("Введите символы с картинки").fill(CAPTCHA_TEST_ANSWER)
        await confirm.get_by_label("Пароль", exact=True).fill(PASSWORD)
        await confirm.get_by_role("button", name="Войти").click()
    await expect(confirm.get_by_role("alert")).to_contain_text("Слишком много неудачных попыток входа")


async def test_wrong_binding_code_is_refused_without_echoing_it(
    page: Page, cabinet: WebStack, binding_codes: dict[str, str]
) -> None:
    login = unique_login("wrongcode")
    confirm = await registered_and_confirmed(page, cabinet, login)
    await expect(confirm.get_by_role("heading", name="Профиль")).to_be_visible()

    number, inn, _ = OPEN_ENTREPRENEUR
    await bind_contract(confirm, number, inn, None, "ABCD-EFGH")
    await expect(confirm.get_by_role("alert")).to_contain_text("Данные договора не найдены")
    await expect(confirm.get_by_label("Номер договора")).to_have_value(number)
    await expect(confirm.get_by_label("Код подтверждения")).to_have_value("")
    await expect(confirm.get_by_role("article")).to_have_count(0)  # nothing bound
