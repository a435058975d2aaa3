"""Locked out, recovery still works; unconfirmed, the customer is told (issue 12, §3).

The real app over a real socket, the real workflows on the Temporal dev server with an
in-process worker, mail over SMTP into the sink, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter

import httpx
import pytest
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from api.services.login import EMAIL_NOT_CONFIRMED, INVALID_CREDENTIALS
from api.services.passwords import RESET_ANSWER
from lkk import validation
from lkk.settings import Settings
from lkk.store import login_throttle, session_for
from lkk.timeutil import utcnow
from tests.burst import burst
from tests.conftest import CAPTCHA_TEST_ANSWER, MailSinkProcess
from tests.harness import PASSWORD, context, sign_up, unique_login
from tests.test_password_reset import CHANGED_SUBJECT, NEW_PASSWORD, RESET_SUBJECT, one_time_password, request_reset, world
from tests.web import log_in, make_active_account, post_form, web_client

pytestmark = pytest.mark.asyncio

LOCKED = "Слишком много неудачных попыток входа"
BURST = 30


def _form_error(page: httpx.Response) -> str:
    start = page.text.index('class="error banner"')
    return page.text[start : page.text.index("</p>", start)]


async def _lock(web: httpx.AsyncClient, settings: Settings, login: str) -> None:
    for attempt in range(settings.login_lockout_after_failures):
        wrong = {"login": login, "password": f"неверный-{attempt}", "captcha_answer": CAPTCHA_TEST_ANSWER}
        assert (await web.post("/api/v1/session", json=wrong)).status_code == 401
    right = {"login": login, "password": PASSWORD, "captcha_answer": CAPTCHA_TEST_ANSWER}
    assert (await web.post("/api/v1/session", json=right)).status_code == 429


async def test_a_locked_login_opens_with_the_mailed_password_and_one_letter_tells_the_owner(
    dev_server_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    async with world(dev_server_env, settings, engine, mailsink) as w:
        login = unique_login()
        email = f"{login}@example.ru"
        make_active_account(engine, w.settings, login, PASSWORD)
        async with web_client(w.settings, engine, w.client) as attacker, web_client(w.settings, engine, w.client) as owner:
            await _lock(attacker, w.settings, login)
            answer = await request_reset(owner, login, email)
            assert answer.status_code == 200 and RESET_ANSWER in answer.text
            otp = one_time_password(await w.mailbox.wait_for_async(to=email, subject_contains=RESET_SUBJECT, timeout=30))

            # During the lock the account's own password is never checked: the right one
            # and a wrong one get the same answer, so the lock is no oracle for it.
            right = await attacker.post(
                "/api/v1/session", json={"login": login, "password": PASSWORD, "captcha_answer": CAPTCHA_TEST_ANSWER}
            )
            wrong = await attacker.post(
                "/api/v1/session", json={"login": login, "password": "не-тот-2026", "captcha_answer": CAPTCHA_TEST_ANSWER}
            )
            assert right.status_code == wrong.status_code == 429
            assert right.json()["outcome"] == wrong.json()["outcome"] == "locked"
            # The mailed password opens the cabinet during the lock (the page asks for the captcha).
            locked_page = await log_in(owner, login, otp)
            assert locked_page.status_code == 429 and LOCKED in locked_page.text and "captcha_answer" in locked_page.text
            used = await log_in(owner, login, otp, captcha_answer=CAPTCHA_TEST_ANSWER)
            assert used.status_code == 303 and used.headers["location"] == "/password/set"
            state = login_throttle.state(session_for(engine), w.settings, validation.login_key(login), now=utcnow())
            assert state.failures == 0 and state.locked_until is None, "a completed recovery clears the lock"

            chosen = await post_form(
                owner, "/password/set", "/password/set", {"new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD}
            )
            assert chosen.status_code == 303
        async with web_client(w.settings, engine, w.client) as later:
            assert (await log_in(later, login, NEW_PASSWORD)).status_code == 303, "no lock stays behind"

        notices = await w.mailbox.wait_for_all_async(to=email, subject_contains=CHANGED_SUBJECT, count=1, timeout=30)
        await asyncio.sleep(2.0)  # room for a second letter, which must not come
        again = await w.mailbox.wait_for_all_async(to=email, subject_contains=CHANGED_SUBJECT, count=1, timeout=5)
        assert len(notices) == len(again) == 1, "one recovery, one «пароль изменён» letter"


async def test_the_right_password_of_an_unconfirmed_sign_up_says_so_and_offers_the_link(
    dev_server_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    async with world(dev_server_env, settings, engine, mailsink, resend_cooldown_seconds=0) as w:
        login = unique_login()
        email = f"{login}@example.ru"
        await sign_up(context(w.settings, engine, w.client), login)
        await w.mailbox.wait_for_async(to=email, timeout=30)
        async with web_client(w.settings, engine, w.client) as web:
            page = await log_in(web, login, PASSWORD)
            assert page.status_code == 403 and EMAIL_NOT_CONFIRMED in _form_error(page)
            assert 'action="/register/resend"' in page.text, "the page offers the link again"
            resent = await post_form(web, "/login", "/register/resend", {})
            assert resent.status_code == 200 and "Новое письмо отправлено" in resent.text
            await w.mailbox.wait_for_async(to=email, count=2, timeout=30)

            api = await web.post("/api/v1/session", json={"login": login, "password": PASSWORD})
            assert api.status_code == 403 and api.json()["outcome"] == "email_not_confirmed"
            assert api.json()["detail"] == EMAIL_NOT_CONFIRMED
            again = await web.post(
                "/api/v1/registrations/resend", json={"registration_handle": api.json()["registration_handle"]}
            )
            assert again.status_code == 202
            await w.mailbox.wait_for_async(to=email, count=3, timeout=30)

            # Without the password nothing is revealed: the generic answer of an unknown login.
            wrong = await log_in(web, login, "не-тот-пароль-2026")
            unknown = await log_in(web, unique_login("nobody"), "не-тот-пароль-2026")
            assert wrong.status_code == unknown.status_code == 401
            assert INVALID_CREDENTIALS in _form_error(wrong) and _form_error(wrong) == _form_error(unknown)
            api_wrong = await web.post("/api/v1/session", json={"login": login, "password": "не-тот-пароль-2026"})
            assert api_wrong.status_code == 401 and api_wrong.json()["detail"] == INVALID_CREDENTIALS
            assert api_wrong.json()["registration_handle"] is None


async def test_recovery_of_an_unconfirmed_sign_up_sends_the_confirmation_link_again(
    dev_server_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    async with world(dev_server_env, settings, engine, mailsink, resend_cooldown_seconds=0) as w:
        login = unique_login()
        email = f"{login}@example.ru"
        await sign_up(context(w.settings, engine, w.client), login)
        first = await w.mailbox.wait_for_async(to=email, timeout=30)
        async with web_client(w.settings, engine, w.client) as web:
            unconfirmed = await request_reset(web, login, email)
            nobody = await request_reset(web, unique_login("nobody"), email)
            assert unconfirmed.status_code == nobody.status_code == 200
            strip = re.compile(r'value="[^"]*"')
            assert strip.sub("", unconfirmed.text) == strip.sub("", nobody.text) and RESET_ANSWER in unconfirmed.text
        second = await w.mailbox.wait_for_async(to=email, count=2, timeout=30)
        assert second["Subject"] == first["Subject"], "the confirmation link again, not a password"
        assert "/confirm?token=" in str(second["Text"])
        assert not [m for m in await w.mailbox.messages_async(limit=200)
                    if RESET_SUBJECT in str(m["Subject"]) and any(a["Address"] == email for a in m["To"])]


async def test_a_burst_with_the_mailed_password_lets_one_in_and_checks_no_more_than_the_limit(
    dev_server_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    no_ip_limits = {"rate_limit_login": "10000/minute", "rate_limit_login_failures": "10000/minute"}
    async with world(dev_server_env, settings, engine, mailsink, **no_ip_limits) as w:
        login = unique_login()
        email = f"{login}@example.ru"
        make_active_account(engine, w.settings, login, PASSWORD)
        async with web_client(w.settings, engine, w.client) as web:
            await request_reset(web, login, email)
            otp = one_time_password(await w.mailbox.wait_for_async(to=email, subject_contains=RESET_SUBJECT, timeout=30))
            bodies = [{"login": login, "password": f"неверный-{i}"} for i in range(BURST - 1)]
            bodies.insert(BURST // 2, {"login": login, "password": otp})
            answers = await burst([web.build_request("POST", "/api/v1/session", json=b) for b in bodies])
        seen = Counter(json.loads(a.body)["outcome"] for a in answers)
        # Wrong guesses (at the password and the one-time password alike) stop at the
        # captcha threshold; the mailed password gets in only if it had one of the slots.
        assert seen["invalid"] <= w.settings.login_captcha_after_failures, seen
        assert seen["must_change_password"] <= 1 and seen["success"] == 0, seen
        assert seen["captcha"] >= BURST - w.settings.login_captcha_after_failures - 1, seen
