"""The JSON API of sign-up over real HTTP (worker and API subprocesses, dev server, SMTP sink)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from lkk.db import make_engine
from lkk.models import CaptchaChallenge
from lkk.settings import Settings
from tests.conftest import CAPTCHA_TEST_ANSWER, MailSinkProcess
from tests.harness import PASSWORD, form_data, token_from, unique_login
from tests.stack import running_stack
from tests.test_registration_e2e import _dev_settings

pytestmark = pytest.mark.asyncio


async def test_json_sign_up_resend_and_confirm(
    dev_server_env: WorkflowEnvironment, settings: Settings, mailsink: MailSinkProcess
) -> None:
    login = unique_login("json")
    email = f"{login}@example.ru"
    with running_stack(_dev_settings(settings, dev_server_env, resend_cooldown_seconds=2)) as (front,), httpx.Client(
        base_url=front.api_url, timeout=30
    ) as api:
        bad = api.post(
            "/api/v1/registrations",
            json={**form_data(login), "email": "not-an-email", "password": "123456", "password_confirm": "654321"},
        )
        assert bad.status_code == 422
        errors = bad.json()["errors"]
        assert errors["email"].startswith("Введите адрес электронной почты")
        assert "не менее 8 символов" in errors["password"]
        assert errors["password_confirm"] == "Пароли не совпадают."

        created = api.post("/api/v1/registrations", json=form_data(login))
        assert created.status_code == 202, created.text
        handle = created.json()["registration_handle"]
        assert created.json()["stage"] == "awaiting_email"

        taken = api.post("/api/v1/registrations", json=form_data(login.upper(), email=f"x{email}"))
        assert taken.status_code == 409 and "login" in taken.json()["errors"]

        first = await mailsink.mailbox.wait_for_async(to=email, timeout=30)
        cooldown = api.post("/api/v1/registrations/resend", json={"registration_handle": handle})
        assert cooldown.status_code == 429 and int(cooldown.headers["Retry-After"]) >= 1

        status = api.post("/api/v1/registrations/status", json={"registration_handle": handle})
        assert status.status_code == 200 and status.json()["emails_sent"] == 1

        await asyncio.sleep(int(cooldown.headers["Retry-After"]) + 0.5)  # wait out the 2 s cooldown
        resent = api.post("/api/v1/registrations/resend", json={"registration_handle": handle})
        assert resent.status_code == 202 and resent.json()["outcome"] == "sent"
        second = await mailsink.mailbox.wait_for_async(to=email, count=2, timeout=30)

        stale = api.post("/api/v1/confirmations", json={"token": token_from(first)})
        assert stale.status_code == 400 and stale.json()["outcome"] == "invalid"
        confirmed = api.post("/api/v1/confirmations", json={"token": token_from(second)})
        assert confirmed.status_code == 200 and confirmed.json()["outcome"] == "confirmed"
        cookie = confirmed.cookies.get(front.settings.session_cookie_name)
        assert cookie
        set_cookie = confirmed.headers["set-cookie"].lower()
        assert "httponly" in set_cookie and "samesite=lax" in set_cookie

        again = api.post("/api/v1/confirmations", json={"token": token_from(second)})
        assert again.status_code == 409 and again.json()["outcome"] == "already_confirmed"
        assert api.post("/api/v1/registrations/resend", json={"registration_handle": handle}).status_code in (409, 410)
        assert api.post("/api/v1/registrations/resend", json={"registration_handle": "forged"}).status_code == 400


async def test_captcha_is_a_real_one_time_image(
    dev_server_env: WorkflowEnvironment, settings: Settings, mailsink: MailSinkProcess
) -> None:
    # Without the test answer: only the real, one-time, expiring challenge counts.
    config = _dev_settings(settings, dev_server_env, captcha_test_answer=None)
    login = unique_login("cap")
    with running_stack(config) as (front,), httpx.Client(base_url=front.api_url, timeout=30) as api:
        challenge = api.post("/api/v1/captcha")
        assert challenge.status_code == 201
        captcha_id = challenge.json()["captcha_id"]
        image = api.get(f"/api/v1/captcha/{captcha_id}.png")
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        assert image.content.startswith(b"\x89PNG") and len(image.content) > 1000

        wrong = api.post(
            "/api/v1/registrations", json={**form_data(login, answer="WRONG"), "captcha_id": captcha_id}
        )
        assert wrong.status_code == 422 and "captcha_answer" in wrong.json()["errors"]
        # The challenge is gone after one attempt, even though the fixed test answer is off.
        assert api.get(f"/api/v1/captcha/{captcha_id}.png").status_code == 404
        assert CAPTCHA_TEST_ANSWER not in wrong.text and PASSWORD not in wrong.text

        # The right answer (read from the real database, as a person would read the image) passes.
        fresh_id = api.post("/api/v1/captcha").json()["captcha_id"]
        engine = make_engine(config.database_url)
        with Session(engine) as session:
            challenge_row = session.get(CaptchaChallenge, fresh_id)
            assert challenge_row is not None
            answer = challenge_row.answer.lower()  # answers are case-insensitive
        engine.dispose()
        right = api.post("/api/v1/registrations", json={**form_data(login, answer=answer), "captcha_id": fresh_id})
        assert right.status_code == 202, right.text
