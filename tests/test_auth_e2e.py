"""Login and password recovery end to end: the real worker and API as subprocesses on
the Temporal dev server, mail over SMTP into the sink, the customer's side over HTTP."""

from __future__ import annotations

import asyncio
import re
import uuid

import httpx
import pytest
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from lkk.settings import Settings
from tests.conftest import MailSinkProcess
from tests.harness import PASSWORD, unique_login
from tests.stack import running_stack
from tests.web import make_active_account

pytestmark = pytest.mark.asyncio

NEW_PASSWORD = "осенний-ветер-2028"


def _csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def _submit(web: httpx.Client, page_url: str, action: str, data: dict[str, str]) -> httpx.Response:
    return web.post(action, data={**data, "csrf_token": _csrf(web.get(page_url))})


async def test_forgot_password_login_with_the_mailed_one_and_choose_a_new_one(
    dev_server_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    config = settings.model_copy(
        update={
            "temporal_address": dev_server_env.client.service_client.config.target_host,
            "temporal_task_queue": f"e2e-{uuid.uuid4().hex[:8]}",
        }
    )
    login = unique_login("e2e")
    email = f"{login}@example.ru"
    make_active_account(engine, config, login, PASSWORD)
    with running_stack(config) as (front,), httpx.Client(base_url=front.api_url, timeout=30) as web:
        page = web.get("/login")
        assert page.status_code == 200
        for label in ("Имя пользователя", "Пароль", "Войти", "Забыли пароль?", "Зарегистрироваться"):
            assert label in page.text
        forgot = web.get("/password/forgot")
        assert "Сбросить пароль" in forgot.text
        answer = _submit(web, "/password/forgot", "/password/forgot", {"login": login, "email": email})
        assert answer.status_code == 200 and "Если логин и адрес электронной почты указаны верно" in answer.text

        mail = await mailsink.mailbox.wait_for_async(to=email, subject_contains="Восстановление пароля", timeout=60)
        otp = re.search(r"Ваш новый пароль для входа: (\S+)", str(mail["Text"]))
        assert otp
        assert f"{front.api_url}/login" in str(mail["Text"])  # built from the configured public URL

        used = _submit(web, "/login", "/login", {"username": login, "password": otp.group(1)})
        assert used.status_code == 303 and used.headers["location"] == "/password/set"
        assert "Придумайте новый пароль" in web.get("/password/set").text
        chosen = _submit(
            web, "/password/set", "/password/set", {"new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD}
        )
        assert chosen.status_code == 303
        assert web.get("/profile").status_code == 200

        assert _submit(web, "/profile", "/logout", {}).status_code == 303
        old = _submit(web, "/login", "/login", {"username": login, "password": PASSWORD})
        assert old.status_code == 401 and "Неверное имя пользователя или пароль" in old.text
        assert _submit(web, "/login", "/login", {"username": login, "password": NEW_PASSWORD}).status_code == 303

        notice = await mailsink.mailbox.wait_for_async(to=email, subject_contains="изменён", count=1, timeout=60)
        assert login in str(notice["Text"])
        await asyncio.sleep(2.0)  # one recovery, one «пароль изменён» letter: no second one comes
        notices = await mailsink.mailbox.wait_for_all_async(to=email, subject_contains="изменён", count=1, timeout=5)
        assert len(notices) == 1
