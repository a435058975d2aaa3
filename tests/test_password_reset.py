"""Password recovery and password changes with the real workflows and activities on
Temporal's time-skipping server, real SMTP into the sink, a real SQLite database and
the real app over real HTTP (uvicorn on a local socket)."""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.engine import Engine
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from sqlalchemy import delete

from api.deps import AppContext
from api.services import passwords as password_svc
from api.services.login import INVALID_CREDENTIALS
from api.services.passwords import RESET_ANSWER
from lkk.db import session_scope
from lkk.models import Account
from lkk.settings import Settings
from lkk.temporal import password_reset_workflow_id
from tests.conftest import MailSinkProcess
from tests.harness import PASSWORD, history_text, running_worker, unique_login
from tests.mailbox import Mailbox
from tests.web import account, log_in, make_active_account, post_form, web_client
from workflows.messages import PasswordResetState
from workflows.password_changed import PasswordChangedNoticeWorkflow
from workflows.password_reset import PasswordResetWorkflow

pytestmark = pytest.mark.asyncio

NEW_PASSWORD = "летний-рассвет-2027"
RESET_SUBJECT = "Восстановление пароля"
CHANGED_SUBJECT = "Пароль в Личном кабинете клиента изменён"
_OTP = re.compile(r"Ваш новый пароль для входа: (\S+)")


@dataclass
class World:
    client: Client
    settings: Settings
    engine: Engine
    mailbox: Mailbox


@asynccontextmanager
async def world(env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess, **overrides: object) -> AsyncIterator[World]:
    # Per-IP limits have their own tests; here one test client sends many requests.
    lenient = {"password_reset_min_response_ms": 0, "rate_limit_password_reset": "1000/minute"}
    config = settings.model_copy(update={**lenient, **overrides})
    async with running_worker(env.client, config) as worker_settings:
        yield World(env.client, worker_settings, engine, mailsink.mailbox)


def one_time_password(mail: dict[str, object]) -> str:
    found = _OTP.search(str(mail["Text"]))
    assert found, "the e-mail carries the new password"
    return found.group(1)


async def request_reset(web: httpx.AsyncClient, login: str, email: str) -> httpx.Response:
    return await post_form(web, "/password/forgot", "/password/forgot", {"login": login, "email": email})


async def reset_state(w: World, account_id: str) -> PasswordResetState:
    handle = w.client.get_workflow_handle(password_reset_workflow_id(account_id))
    return await handle.query(PasswordResetWorkflow.state)


async def test_recovery_mails_a_one_time_password_that_works_once_and_forces_a_new_one(
    dev_server_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    # The dev server (not the time-skipping one) so the notices can be listed by type.
    async with world(dev_server_env, settings, engine, mailsink) as w:
        login = unique_login()
        email = f"{login}@example.ru"
        account_id = make_active_account(engine, w.settings, login, PASSWORD)
        async with (
            web_client(w.settings, engine, w.client) as customer,
            web_client(w.settings, engine, w.client) as other_device,
        ):
            assert (await log_in(other_device, login, PASSWORD)).status_code == 303
            answer = await request_reset(customer, login.upper(), email.upper())
            assert answer.status_code == 200 and RESET_ANSWER in answer.text

            mail = await w.mailbox.wait_for_async(to=email, subject_contains=RESET_SUBJECT, timeout=30)
            otp = one_time_password(mail)
            assert login in str(mail["Text"]) and otp in str(mail["HTML"])
            stored = account(engine, account_id)
            assert stored.otp_hash and stored.otp_hash.startswith("$argon2id$") and otp not in stored.otp_hash

            # Until the mailed password is used, the old one keeps working.
            async with web_client(w.settings, engine, w.client) as third:
                assert (await log_in(third, login, PASSWORD)).status_code == 303

            used = await log_in(customer, login, otp)
            assert used.status_code == 303 and used.headers["location"] == "/password/set"
            # Every other session is revoked; the new one may only set a password.
            assert (await other_device.get("/profile")).headers["location"] == "/login"
            assert (await customer.get("/profile")).headers["location"] == "/password/set"
            assert (await log_in(other_device, login, PASSWORD)).status_code == 401, "the old password is gone"
            async with web_client(w.settings, engine, w.client) as again:
                reused = await log_in(again, login, otp)
                assert reused.status_code == 401 and INVALID_CREDENTIALS in reused.text, "one use only"

            mismatch = await post_form(
                customer, "/password/set", "/password/set",
                {"new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD + "!"},
            )
            assert mismatch.status_code == 422 and "Пароли не совпадают" in mismatch.text
            assert NEW_PASSWORD not in mismatch.text  # passwords are never echoed
            chosen = await post_form(
                customer, "/password/set", "/password/set",
                {"new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD},
            )
            assert chosen.status_code == 303
            assert (await customer.get("/profile")).status_code == 200
            assert (await log_in(other_device, login, NEW_PASSWORD)).status_code == 303

        reset = w.client.get_workflow_handle_for(PasswordResetWorkflow.run, password_reset_workflow_id(account_id))
        result = await reset.result()
        assert result.used and result.emails_sent == 1
        notices = await w.mailbox.wait_for_all_async(to=email, subject_contains=CHANGED_SUBJECT, count=1, timeout=30)
        await asyncio.sleep(2.0)  # room for a second letter, which must not come
        notices = await w.mailbox.wait_for_all_async(to=email, subject_contains=CHANGED_SUBJECT, count=1, timeout=5)
        assert len(notices) == 1, "one recovery, one «пароль изменён» letter (when the mailed password was used)"
        assert "паролем из письма" in str(notices[0]["Text"])

        # No password, hash or one-time password in any of the histories.
        final = account(engine, account_id)
        secrets = [PASSWORD, NEW_PASSWORD, otp, stored.otp_hash, stored.password_hash, final.password_hash, email]
        histories = [history_text((await reset.fetch_history()).to_json_dict())]
        async for run in w.client.list_workflows("WorkflowType = 'PasswordChangedNotice'"):
            if run.id.startswith(f"password-changed-{account_id}-"):
                handle = w.client.get_workflow_handle_for(PasswordChangedNoticeWorkflow.run, run.id)
                histories.append(history_text((await handle.fetch_history()).to_json_dict()))
        assert len(histories) == 2
        for history in histories:
            assert account_id in history  # the id is there; the secrets are not
            for secret in secrets:
                assert secret not in history


async def test_recovery_answers_alike_whether_or_not_the_pair_matches(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    async with world(time_skipping_env, settings, engine, mailsink, password_reset_min_response_ms=300) as w:
        login = unique_login()
        email = f"{login}@example.ru"
        account_id = make_active_account(engine, w.settings, login, PASSWORD)
        other = unique_login()
        make_active_account(engine, w.settings, other, PASSWORD)
        async with web_client(w.settings, engine, w.client) as web:
            cases = {
                "match": (login, email),
                "wrong_email": (login, f"{other}@example.ru"),  # an e-mail of another account
                "unknown_login": (unique_login("nobody"), email),
            }
            pages = {name: await request_reset(web, *pair) for name, pair in cases.items()}
            assert {p.status_code for p in pages.values()} == {200}
            bodies = {re.sub(r'value="[^"]*"', "", p.text) for p in pages.values()}
            assert len(bodies) == 1 and RESET_ANSWER in bodies.pop()
            api = [await web.post("/api/v1/password-resets", json={"login": l, "email": e}) for l, e in cases.values()]
            assert {r.status_code for r in api} == {202} and len({r.text for r in api}) == 1

            # About the same time (medians of interleaved tries, generous bounds).
            times: dict[str, list[float]] = {name: [] for name in cases}
            for _ in range(5):
                for name, (l, e) in cases.items():
                    started = time.perf_counter()
                    await web.post("/api/v1/password-resets", json={"login": l, "email": e})
                    times[name].append(time.perf_counter() - started)
            medians = {name: statistics.median(t) for name, t in times.items()}
            assert max(medians.values()) / min(medians.values()) < 2.0, times

        state = await reset_state(w, account_id)
        assert state.emails_sent == 1, "repeated requests within the cooldown send nothing new"
        assert state.requests >= 2
        await asyncio.sleep(1.0)
        assert await w.mailbox.wait_for_all_async(to=email, subject_contains=RESET_SUBJECT, count=1, timeout=10)
        mails_to_other = [m for m in await w.mailbox.messages_async(limit=200)
                          if any(a["Address"] == f"{other}@example.ru" for a in m["To"])]
        assert mails_to_other == [], "a non-matching pair mails nobody"
        assert account(engine, account_id).password_hash  # nothing changed on the account


async def test_the_mailed_password_expires_and_the_old_one_keeps_working(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    async with world(time_skipping_env, settings, engine, mailsink, password_reset_ttl_seconds=2) as w:
        login = unique_login()
        email = f"{login}@example.ru"
        account_id = make_active_account(engine, w.settings, login, PASSWORD)
        async with web_client(w.settings, engine, w.client) as web:
            await request_reset(web, login, email)
            otp = one_time_password(await w.mailbox.wait_for_async(to=email, subject_contains=RESET_SUBJECT, timeout=30))
            await asyncio.sleep(2.5)  # real time: the expiry is checked against the clock
            assert (await log_in(web, login, otp)).status_code == 401
            assert (await log_in(web, login, PASSWORD)).status_code == 303
        reset = w.client.get_workflow_handle_for(PasswordResetWorkflow.run, password_reset_workflow_id(account_id))
        result = await reset.result()
        assert not result.used and result.emails_sent == 1
        assert account(engine, account_id).otp_hash is None, "the expired password was cleared"


async def test_repeated_requests_join_one_recovery_and_a_later_one_replaces_the_password(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    async with world(time_skipping_env, settings, engine, mailsink) as w:
        login = unique_login()
        email = f"{login}@example.ru"
        account_id = make_active_account(engine, w.settings, login, PASSWORD)
        async with web_client(w.settings, engine, w.client) as web:
            for _ in range(3):
                await request_reset(web, login, email)
            first = one_time_password(await w.mailbox.wait_for_async(to=email, subject_contains=RESET_SUBJECT, timeout=30))
            state = await reset_state(w, account_id)
            assert state.requests == 3 and state.emails_sent == 1

            await time_skipping_env.sleep(timedelta(seconds=w.settings.password_reset_resend_cooldown_seconds + 1))
            await request_reset(web, login, email)
            mails = await w.mailbox.wait_for_all_async(to=email, subject_contains=RESET_SUBJECT, count=2, timeout=30)
            second = one_time_password(mails[-1])
            assert second != first
            assert (await log_in(web, login, first)).status_code == 401, "the newest e-mail's password is the valid one"
            assert (await log_in(web, login, second)).status_code == 303


async def test_a_mail_server_outage_delays_the_recovery_email_but_does_not_lose_it(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    async with world(time_skipping_env, settings, engine, mailsink) as w:
        login = unique_login()
        email = f"{login}@example.ru"
        account_id = make_active_account(engine, w.settings, login, PASSWORD)
        await w.mailbox.set_smtp_mode_async("tempfail")
        try:
            async with web_client(w.settings, engine, w.client) as web:
                answer = await request_reset(web, login, email)
                assert answer.status_code == 200 and RESET_ANSWER in answer.text
                await asyncio.sleep(3)
                assert (await reset_state(w, account_id)).emails_sent == 0
                with pytest.raises(TimeoutError):
                    await w.mailbox.wait_for_async(to=email, subject_contains=RESET_SUBJECT, timeout=1)
        finally:
            await w.mailbox.set_smtp_mode_async("accept")
        await time_skipping_env.sleep(timedelta(minutes=15))  # the next retries find the server back
        mail = await w.mailbox.wait_for_async(to=email, subject_contains=RESET_SUBJECT, timeout=60)
        async with web_client(w.settings, engine, w.client) as web:
            assert (await log_in(web, login, one_time_password(mail))).status_code == 303


async def test_profile_password_change_needs_the_current_one_and_revokes_other_sessions(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    async with world(time_skipping_env, settings, engine, mailsink) as w:
        login = unique_login()
        email = f"{login}@example.ru"
        make_active_account(engine, w.settings, login, PASSWORD)
        async with (
            web_client(w.settings, engine, w.client) as web,
            web_client(w.settings, engine, w.client) as other_device,
        ):
            assert (await log_in(web, login, PASSWORD)).status_code == 303
            assert (await log_in(other_device, login, PASSWORD)).status_code == 303

            wrong = await post_form(web, "/profile", "/profile/password", {
                "current_password": "не-текущий-пароль", "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD,
            })
            assert wrong.status_code == 422 and "Неверный текущий пароль" in wrong.text
            differ = await post_form(web, "/profile", "/profile/password", {
                "current_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_confirm": "другой-пароль-2027",
            })
            assert differ.status_code == 422 and "Пароли не совпадают" in differ.text
            weak = await post_form(web, "/profile", "/profile/password", {
                "current_password": PASSWORD, "new_password": "password", "new_password_confirm": "password",
            })
            assert weak.status_code == 422
            assert (await other_device.get("/profile")).status_code == 200, "failed attempts change nothing"

            changed = await post_form(web, "/profile", "/profile/password", {
                "current_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD,
            })
            assert changed.status_code == 303
            page = await web.get(changed.headers["location"])
            assert page.status_code == 200 and "Пароль изменён" in page.text, "this browser stays logged in"
            assert (await other_device.get("/profile")).headers["location"] == "/login"
            assert (await log_in(other_device, login, PASSWORD)).status_code == 401
            assert (await log_in(other_device, login, NEW_PASSWORD)).status_code == 303

            # The JSON API: current + new twice, the answer carries the new session.
            api = await other_device.put("/api/v1/password", json={
                "current_password": NEW_PASSWORD, "new_password": PASSWORD, "new_password_confirm": PASSWORD,
            })
            assert api.status_code == 200
            assert (await other_device.get("/profile")).status_code == 200
            assert (await web.get("/profile")).headers["location"] == "/login"

        notices = await w.mailbox.wait_for_all_async(to=email, subject_contains=CHANGED_SUBJECT, count=2, timeout=30)
        assert "изменён в профиле" in str(notices[-1]["Text"])
        for notice in notices:
            assert PASSWORD not in str(notice["Text"]) and NEW_PASSWORD not in str(notice["Text"])


async def test_a_recovery_for_an_account_gone_meanwhile_sends_nothing_and_ends(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    async with world(time_skipping_env, settings, engine, mailsink) as w:
        login = unique_login()
        account_id = make_active_account(engine, w.settings, login, PASSWORD)
        with session_scope(engine) as session:  # deleted between the match and the e-mail
            session.exec(delete(Account).where(Account.id == account_id))
        ctx = AppContext(settings=w.settings, engine=engine, temporal=w.client)
        await password_svc._signal_with_start_reset(ctx, account_id)
        handle = w.client.get_workflow_handle_for(PasswordResetWorkflow.run, password_reset_workflow_id(account_id))
        result = await handle.result()
        assert result.emails_sent == 0 and not result.used
        assert (await handle.describe()).status is WorkflowExecutionStatus.COMPLETED
        with pytest.raises(TimeoutError):
            await w.mailbox.wait_for_async(to=f"{login}@example.ru", timeout=1)


async def test_two_simultaneous_logins_with_the_mailed_password_let_only_one_in(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    async with world(time_skipping_env, settings, engine, mailsink) as w:
        login = unique_login()
        email = f"{login}@example.ru"
        make_active_account(engine, w.settings, login, PASSWORD)
        async with (
            web_client(w.settings, engine, w.client) as first,
            web_client(w.settings, engine, w.client) as second,
        ):
            await request_reset(first, login, email)
            otp = one_time_password(await w.mailbox.wait_for_async(to=email, subject_contains=RESET_SUBJECT, timeout=30))
            answers = await asyncio.gather(
                first.post("/api/v1/session", json={"login": login, "password": otp}),
                second.post("/api/v1/session", json={"login": login, "password": otp}),
            )
            codes = sorted(a.status_code for a in answers)
            assert codes == [200, 401], [a.text for a in answers]
            winner = next(a for a in answers if a.status_code == 200)
            assert winner.json() == {"outcome": "must_change_password", "must_change_password": True}
        notices = await w.mailbox.wait_for_all_async(to=email, subject_contains=CHANGED_SUBJECT, count=1, timeout=30)
        await asyncio.sleep(1.0)
        again = await w.mailbox.wait_for_all_async(to=email, subject_contains=CHANGED_SUBJECT, count=1, timeout=5)
        assert len(notices) == len(again) == 1, "one use, one notice"
