"""Degrade, don't die: Temporal stops under the running API and worker.

A Temporal dev server of this test's own (a SQLite file, a fixed port) is stopped
while the worker and the API run as processes. Login, the Profile with its bound
contract, logout, the help pages and /readyz keep working; registration, resend
and binding answer the Russian 503 and keep nothing (no claimed login, no parked
code) while the forms keep their values; a recovery request and the notice of a
password changed in the Profile are parked. Temporal
then starts again from the same file on the same port: registration works, and the
recovery request and the notice made during the outage arrive by mail.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from activities.password import CHANGED_SUBJECT, RESET_SUBJECT
from api.unavailable import MESSAGE as UNAVAILABLE
from lkk import schema
from lkk.db import make_engine
from lkk.models import Account, ParkedPasswordNotice, ParkedPasswordReset
from lkk.settings import Settings
from tests.binding_harness import OPEN_ENTREPRENEUR, OPEN_LEGAL, issue, load_registry, pending_binding_requests
from tests.conftest import MailSinkProcess, free_port, start_dev_server
from tests.faults import registration_body
from tests.harness import PASSWORD, token_from, unique_login
from tests.stack import running_stack, wait_temporal
from tests.test_registration_e2e import _csrf, _register
from tests.web import make_active_account

pytestmark = pytest.mark.asyncio

NEW_PASSWORD = "осенний-дождь-над-рекой-2027"
GUIDE_PAGES = ("/support", "/guides/registration", "/guides/user-guide", "/guides/registration.pdf", "/guides/user-guide.pdf")


def _readyz(web: httpx.Client) -> httpx.Response:
    return web.get("/readyz", timeout=10)


def _wait_temporal_down(web: httpx.Client, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _readyz(web).json()["checks"]["temporal"] == "down":
            return
        time.sleep(0.2)
    raise AssertionError("the API never noticed that Temporal stopped")


def _accounts_with_login(engine: Engine, login: str) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(Account).where(Account.login == login)).scalar_one())


def _parked(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(session.execute(select(ParkedPasswordReset.account_id)).scalars())


def _parked_notices(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(ParkedPasswordNotice)).scalar_one())


def _bind_form(page: httpx.Response, contract: tuple[str, str, str | None], code: str) -> dict[str, str]:
    number, inn, kpp = contract
    return {"contract_number": number, "inn": inn, "kpp": kpp or "", "code": code, "csrf_token": _csrf(page)}


def _log_in(web: httpx.Client, login: str) -> httpx.Response:
    page = web.get("/login")
    return web.post("/login", data={"username": login, "password": PASSWORD, "csrf_token": _csrf(page)})


async def test_site_keeps_working_while_temporal_is_down_and_nothing_is_lost(
    settings: Settings, mailsink: MailSinkProcess, tmp_path: Path
) -> None:
    port, db_file = free_port(), tmp_path / "temporal.db"
    temporal = await start_dev_server(port=port, db_file=db_file)
    config = settings.model_copy(
        update={"temporal_address": f"127.0.0.1:{port}", "temporal_task_queue": f"down-{unique_login('q')}"}
    )
    schema.upgrade(config.database_url)
    engine = make_engine(config.database_url)
    load_registry(engine)
    code_101, code_103 = issue(engine, OPEN_LEGAL[0]), issue(engine, OPEN_ENTREPRENEUR[0])
    owner, pending, newcomer = unique_login("own"), unique_login("pend"), unique_login("new")
    forgetful = unique_login("forg")
    forgetful_id = make_active_account(engine, config, forgetful, PASSWORD)
    try:
        with running_stack(config) as (front,), httpx.Client(base_url=front.api_url, timeout=90) as web:
            # Before the outage: a cabinet with a bound contract, and a sign-up awaiting its e-mail.
            assert _register(web, owner, f"{owner}@example.ru").status_code == 303
            token = token_from(await mailsink.mailbox.wait_for_async(to=f"{owner}@example.ru", timeout=30))
            confirm_page = web.get("/confirm", params={"token": token})
            assert web.post("/confirm", data={"token": token, "csrf_token": _csrf(confirm_page)}).status_code == 303
            bound = web.post("/profile/contracts/bind", data=_bind_form(web.get("/profile"), OPEN_LEGAL, code_101))
            assert bound.status_code == 303, bound.text
            web.post("/logout", data={"csrf_token": _csrf(web.get("/profile"))})
            with httpx.Client(base_url=front.api_url, timeout=90) as signup_browser:
                assert _register(signup_browser, pending, f"{pending}@example.ru").status_code == 303
                sent_before = signup_browser.get("/register/sent")  # left open in the browser

                # Temporal goes away under the running API and worker.
                await temporal.shutdown()
                _wait_temporal_down(web)
                ready = _readyz(web)
                assert ready.status_code == 200, "a Temporal outage must not take the web tier out of the balancer"
                assert ready.json() == {"status": "degraded", "checks": {"database": "ok", "temporal": "down"}}
                assert "lkk_api_temporal_up 0.0" in web.get("/metrics").text  # what monitoring alerts on

                # Login, the Profile with its contract, the help pages, logout: all served.
                assert _log_in(web, owner).headers["location"] == "/profile"
                profile = web.get("/profile")
                assert profile.status_code == 200
                assert "7701-000101" in profile.text and "TU-000101-01" in profile.text
                for path in GUIDE_PAGES:
                    assert web.get(path).status_code == 200, path

                # Binding: the Russian 503, values kept (the code never echoed), nothing parked or bound.
                refused = web.post("/profile/contracts/bind", data=_bind_form(profile, OPEN_ENTREPRENEUR, code_103))
                assert refused.status_code == 503 and UNAVAILABLE in refused.text
                assert f'value="{OPEN_ENTREPRENEUR[0]}"' in refused.text and code_103 not in refused.text
                assert pending_binding_requests(engine) == 0
                assert "7701-000103" not in web.get("/profile").text
                api_bind = web.post(
                    "/api/v1/contracts",
                    json={"contract_number": OPEN_ENTREPRENEUR[0], "inn": OPEN_ENTREPRENEUR[1], "code": code_103},
                )
                assert api_bind.status_code == 503 and api_bind.json()["detail"] == UNAVAILABLE
                unbind = web.post(
                    "/profile/contracts/unbind", data={"contract_number": OPEN_LEGAL[0], "csrf_token": _csrf(web.get("/profile"))}
                )
                assert unbind.status_code == 503 and UNAVAILABLE in unbind.text and "TU-000101-01" in unbind.text
                # A password changed in the Profile: done at once, its "password changed" notice parked.
                changed = web.post(
                    "/profile/password",
                    data={
                        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD,
                        "csrf_token": _csrf(web.get("/profile")),
                    },
                )
                assert changed.status_code == 303, changed.text[-800:]
                assert _parked_notices(engine) == 1
                logged_out = web.post("/logout", data={"csrf_token": _csrf(web.get("/profile"))})
                assert logged_out.status_code == 303 and web.get("/profile").headers["location"] == "/login"

                # Registration: the Russian 503, the form keeps its values but not the password; no account.
                refused = _register(web, newcomer, f"{newcomer}@example.ru")
                assert refused.status_code == 503 and UNAVAILABLE in refused.text
                assert f'value="{newcomer}"' in refused.text and f'value="{newcomer}@example.ru"' in refused.text
                assert PASSWORD not in refused.text
                api_refused = web.post("/api/v1/registrations", json=registration_body(newcomer))
                assert api_refused.status_code == 503 and api_refused.json()["detail"] == UNAVAILABLE
                assert _accounts_with_login(engine, newcomer) == 0

                # Resend of the pending sign-up: the Russian 503; the page says the letter was sent
                # (not "registration not found"), and so does the status API.
                resent = signup_browser.post("/register/resend", data={"csrf_token": _csrf(sent_before)})
                assert resent.status_code == 503 and UNAVAILABLE in resent.text
                sent = signup_browser.get("/register/sent")
                assert sent.status_code == 200 and UNAVAILABLE in sent.text and "Мы отправили письмо" in sent.text
                assert "не найдена" not in sent.text

                # Recovery: the usual answer, and the request waits in the database.
                forgot = web.get("/password/forgot")
                answer = web.post(
                    "/password/forgot",
                    data={"login": forgetful, "email": f"{forgetful}@example.ru", "csrf_token": _csrf(forgot)},
                )
                assert answer.status_code == 200 and "придёт письмо с новым паролем" in answer.text
                assert _parked(engine) == [forgetful_id]
                assert "lkk_password_resets_parked_total 1.0" in web.get("/metrics").text
                assert mailsink.mailbox.search(f"to:{forgetful}@example.ru") == []

                # Temporal is back (same file, same port): the parked recovery goes out, sign-ups work.
                temporal = await start_dev_server(port=port, db_file=db_file)
                wait_temporal(front.api_url, timeout=60)
                assert _readyz(web).json() == {"status": "ready", "checks": {"database": "ok", "temporal": "ok"}}
                assert "lkk_api_temporal_up 1.0" in web.get("/metrics").text
                letter = await mailsink.mailbox.wait_for_async(
                    to=f"{forgetful}@example.ru", subject_contains=RESET_SUBJECT, timeout=60
                )
                assert letter
                assert _parked(engine) == []
                await mailsink.mailbox.wait_for_async(to=f"{owner}@example.ru", subject_contains=CHANGED_SUBJECT, timeout=60)
                assert _parked_notices(engine) == 0
                assert _register(web, newcomer, f"{newcomer}@example.ru").status_code == 303
                await mailsink.mailbox.wait_for_async(to=f"{newcomer}@example.ru", timeout=60)
                assert _accounts_with_login(engine, newcomer) == 1
    finally:
        await temporal.shutdown()
        engine.dispose()
