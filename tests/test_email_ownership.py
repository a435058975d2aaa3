"""Nobody can hold someone else's e-mail address (issue 12, §4), over a real socket
with the real worker on the Temporal dev server and mail through the SMTP sink.

- A pending sign-up does not keep the address's owner out; the first confirmed link
  gets the address, the other sign-ups end as superseded (support sees why, their
  logins are free) — also when two links are confirmed at the same instant.
- An address our mail cannot reach is refused at the field.
- A permanent send failure ends the sign-up; «Проверьте почту» says what to do.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.deps import AppContext
from api.services.registration import SUPERSEDED_NOTICE, UNDELIVERABLE_NOTICE, read_handle
from lkk import validation
from lkk.db import session_scope
from lkk.models import Account, AccountStatus
from lkk.settings import Settings
from lkk.temporal import onboarding_workflow_id
from lkk.validation import EMAIL_LOCAL_PART_NOT_ASCII
from tests.burst import burst
from tests.conftest import MailSinkProcess
from tests.harness import form_data, running_worker, token_from, unique_login
from tests.mailbox import Mailbox
from tests.web import post_form, web_client
from workflows.messages import OnboardingResult, OnboardingStage
from workflows.search_attributes import LKK_STAGE

pytestmark = pytest.mark.asyncio

LENIENT = {"rate_limit_register": "1000/minute", "rate_limit_resend": "1000/minute"}


@dataclass
class World:
    client: Client
    settings: Settings
    engine: Engine
    mailbox: Mailbox
    api: httpx.AsyncClient


@asynccontextmanager
async def world(env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess) -> AsyncIterator[World]:
    config = settings.model_copy(update=LENIENT)
    async with running_worker(env.client, config) as worker_settings:
        async with web_client(worker_settings, engine, env.client) as api:
            yield World(env.client, worker_settings, engine, mailsink.mailbox, api)
    await mailsink.mailbox.set_smtp_mode_async("accept")  # the sink is shared by the session


async def register(w: World, login: str, address: str) -> httpx.Response:
    return await w.api.post("/api/v1/registrations", json=form_data(login, email=address))


async def link_of(w: World, address: str, login: str, count: int) -> str:
    """The confirmation token mailed to ``address`` for the sign-up of ``login``."""
    mails = await w.mailbox.wait_for_all_async(to=address, count=count, timeout=30)
    [mail] = [m for m in mails if login in str(m["Text"])]
    return token_from(mail)


async def outcome(w: World, account_id: str) -> OnboardingResult:
    handle = w.client.get_workflow_handle(onboarding_workflow_id(account_id), result_type=OnboardingResult)
    return await asyncio.wait_for(handle.result(), timeout=60)  # real time: an early end, or a failure


async def details(w: World, account_id: str) -> str:
    handle = w.client.get_workflow_handle(onboarding_workflow_id(account_id))
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    return metadata.current_details


def account_id_of(engine: Engine, login: str) -> str | None:
    with session_scope(engine) as session:
        return session.exec(select(Account.id).where(Account.login_key == validation.login_key(login))).first()


def statuses_of(engine: Engine, address: str) -> list[AccountStatus]:
    with session_scope(engine) as session:
        return list(session.exec(select(Account.status).where(Account.email_key == validation.email_key(address))).all())


def svc_account(w: World, handle: str) -> str:
    """The account id behind a registration handle (as the API reads it)."""
    account_id = read_handle(AppContext(settings=w.settings, engine=w.engine), handle)
    assert account_id is not None
    return account_id


async def test_a_squatted_address_does_not_keep_its_owner_out(
    dev_server_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    async with world(dev_server_env, settings, engine, mailsink) as w:
        address = f"owner-{uuid.uuid4().hex[:10]}@example.ru"
        squatter, owner = unique_login("squat"), unique_login("owner")
        squatted = await register(w, squatter, address)
        assert squatted.status_code == 202, squatted.text
        squatter_handle = squatted.json()["registration_handle"]
        # The owner signs up with their own address (typed in another case) while the squatter's is pending.
        owned = await register(w, owner, address.upper())
        assert owned.status_code == 202, owned.text

        token = await link_of(w, address, owner, count=2)
        confirmed = await w.api.post("/api/v1/confirmations", json={"token": token})
        assert confirmed.status_code == 200 and confirmed.json()["outcome"] == "confirmed"

        squatter_id = svc_account(w, squatter_handle)
        result = await outcome(w, squatter_id)
        assert result.stage is OnboardingStage.SUPERSEDED
        shown = await details(w, squatter_id)
        assert "подтверждён другой регистрацией" in shown and "логин освобождён" in shown
        description = await w.client.get_workflow_handle(onboarding_workflow_id(squatter_id)).describe()
        assert description.typed_search_attributes.get(LKK_STAGE) == OnboardingStage.SUPERSEDED.value
        status = await w.api.post("/api/v1/registrations/status", json={"registration_handle": squatter_handle})
        assert status.json()["stage"] == "superseded" and status.json()["notice"] == SUPERSEDED_NOTICE

        assert statuses_of(w.engine, address) == [AccountStatus.ACTIVE]
        assert account_id_of(w.engine, squatter) is None  # the squatter's login is free again
        again = await register(w, squatter, f"{squatter}@example.ru")
        assert again.status_code == 202, again.text
        taken = await register(w, unique_login("third"), address)
        assert taken.status_code == 409 and "email" in taken.json()["errors"]  # confirmed: unique as before


async def test_two_links_of_one_address_confirmed_at_the_same_instant_have_one_winner(
    dev_server_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    async with world(dev_server_env, settings, engine, mailsink) as w:
        address = f"twin-{uuid.uuid4().hex[:10]}@example.ru"
        logins = [unique_login("twin") for _ in range(2)]
        handles = []
        for login in logins:
            created = await register(w, login, address)
            assert created.status_code == 202, created.text
            handles.append(created.json()["registration_handle"])
        tokens = [await link_of(w, address, login, count=2) for login in logins]

        answers = await burst(
            [w.api.build_request("POST", "/api/v1/confirmations", json={"token": token}) for token in tokens]
        )
        codes = sorted(a.status for a in answers)
        assert codes[0] == 200 and codes[1] in (400, 409, 410), [(a.status, a.text) for a in answers]
        assert statuses_of(w.engine, address) == [AccountStatus.ACTIVE]

        loser = 1 if answers[0].status == 200 else 0
        loser_id = svc_account(w, handles[loser])
        assert (await outcome(w, loser_id)).stage is OnboardingStage.SUPERSEDED
        assert account_id_of(w.engine, logins[loser]) is None
        winner_id = svc_account(w, handles[1 - loser])
        assert account_id_of(w.engine, logins[1 - loser]) == winner_id


@pytest.mark.parametrize("address", ["иван@example.ru", "ｉｖａｎ@example.ru"], ids=["cyrillic", "full-width"])
async def test_an_address_our_mail_cannot_reach_is_refused_at_the_field(
    dev_server_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess, address: str
) -> None:
    async with world(dev_server_env, settings, engine, mailsink) as w:
        login = unique_login("idn")
        refused = await register(w, login, address)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"]["email"] == EMAIL_LOCAL_PART_NOT_ASCII
        page = await post_form(w.api, "/register", "/register", form_data(login, email=address))
        assert page.status_code == 422 and EMAIL_LOCAL_PART_NOT_ASCII in page.text
        assert account_id_of(w.engine, login) is None  # nothing held


async def test_a_permanent_send_failure_ends_the_signup_and_the_customer_is_told(
    dev_server_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    async with world(dev_server_env, settings, engine, mailsink) as w:
        login = unique_login("bounce")
        await w.mailbox.set_smtp_mode_async("reject")
        sent = await post_form(w.api, "/register", "/register", form_data(login, email=f"{login}@example.ru"))
        assert sent.status_code == 303, sent.text
        account_id = account_id_of(w.engine, login)
        assert account_id is not None

        result = await outcome(w, account_id)
        assert result.stage is OnboardingStage.UNDELIVERABLE
        shown = await details(w, account_id)
        assert "НЕ ОТПРАВЛЕНО" in shown and "550" in shown and "Регистрация отменена" in shown

        page = await w.api.get("/register/sent")  # the «Проверьте почту» page, by the sign-up cookie
        assert "Проверьте почту" in page.text and UNDELIVERABLE_NOTICE in page.text
        assert 'href="/register"' in page.text and "Отправить письмо ещё раз" not in page.text

        # The customer corrects the address and registers again with the same login.
        await w.mailbox.set_smtp_mode_async("accept")
        corrected = f"{login}-ok@example.ru"
        again = await register(w, login, corrected)
        assert again.status_code == 202, again.text
        status = await w.api.post("/api/v1/registrations/status", json={"registration_handle": again.json()["registration_handle"]})
        assert status.json()["stage"] == "awaiting_email" and status.json()["notice"] is None
        await w.mailbox.wait_for_async(to=corrected, timeout=30)
