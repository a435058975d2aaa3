"""The whole path on the real Temporal dev server over HTTP: register → confirm →
bind → onboarded; then more contracts, the JSON API and unbinding. Worker and API run
as subprocesses; the registry is the sample export; codes are issued as the office does."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from lkk import schema
from lkk.db import make_engine
from lkk.settings import Settings
from tests.binding_harness import OPEN_ENTREPRENEUR, OPEN_LEGAL, issue, load_registry, pending_binding_requests
from tests.conftest import MailSinkProcess
from tests.harness import history_text, token_from, unique_login
from tests.stack import running_stack
from tests.test_registration_e2e import _csrf, _dev_settings, _register
from workflows.messages import OnboardingStage
from workflows.onboarding import OnboardingWorkflow
from workflows.search_attributes import LKK_CONTRACT, LKK_STAGE

pytestmark = pytest.mark.asyncio


async def _runs(client: Client, login: str, count: int) -> dict[str, str]:
    """Workflow id → type of the runs searchable by login (visibility lags a little)."""
    for _ in range(100):
        runs = {run.id: run.workflow_type async for run in client.list_workflows(f"LkkLogin = '{login}'")}
        if len(runs) >= count:
            return runs
        await asyncio.sleep(0.2)
    raise AssertionError(f"expected {count} runs for {login}, found {runs}")


async def test_register_confirm_bind_onboarded_then_more_contracts_and_unbinding(
    dev_server_env: WorkflowEnvironment, settings: Settings, mailsink: MailSinkProcess
) -> None:
    config = _dev_settings(settings, dev_server_env)
    schema.upgrade(config.database_url)
    engine: Engine = make_engine(config.database_url)
    load_registry(engine)
    code_101 = issue(engine, OPEN_LEGAL[0])
    code_103 = issue(engine, OPEN_ENTREPRENEUR[0])
    login = unique_login("bind")
    email = f"{login}@example.ru"
    client = dev_server_env.client

    with running_stack(config) as (front,), httpx.Client(base_url=front.api_url, timeout=90) as web:
        assert web.get("/api/v1/contracts").status_code == 401  # only for a logged-in cabinet

        assert _register(web, login, email).status_code == 303
        mail = await mailsink.mailbox.wait_for_async(to=email, timeout=30)
        token = token_from(mail)
        confirm_page = web.get("/confirm", params={"token": token})
        assert web.post("/confirm", data={"token": token, "csrf_token": _csrf(confirm_page)}).status_code == 303
        profile = web.get("/profile")
        assert "Привязать договор" in profile.text and 'action="/profile/contracts/bind"' in profile.text

        # Malformed fields: per-field Russian errors, values kept, the code never echoed.
        bad = web.post(
            "/profile/contracts/bind",
            data={"contract_number": "7701-000101", "inn": "0001473829", "kpp": "", "code": code_101, "csrf_token": _csrf(profile)},
        )
        assert bad.status_code == 422
        assert "не сходится контрольное число" in bad.text and re.search(r'aria-describedby="inn-error[ "]', bad.text)
        assert 'value="7701-000101"' in bad.text and code_101 not in bad.text

        # Wrong code: one generic message.
        wrong = web.post(
            "/profile/contracts/bind",
            data={
                "contract_number": OPEN_LEGAL[0], "inn": OPEN_LEGAL[1], "kpp": OPEN_LEGAL[2], "code": "ABCD-EFGH",
                "csrf_token": _csrf(bad),
            },
        )
        assert wrong.status_code == 422 and "Данные договора не найдены" in wrong.text

        bound = web.post(
            "/profile/contracts/bind",
            data={
                "contract_number": OPEN_LEGAL[0], "inn": OPEN_LEGAL[1], "kpp": OPEN_LEGAL[2], "code": code_101,
                "csrf_token": _csrf(wrong),
            },
        )
        assert bound.status_code == 303, bound.text
        profile = web.get(bound.headers["location"])
        assert "Договор № 7701-000101 привязан к вашему личному кабинету." in profile.text
        for shown in ("TU-000101-01", "00112201", "СЭТ-4ТМ.03М.01", "Третья ценовая категория", "Отвязать договор"):
            assert shown in profile.text

        # Onboarding is complete, and support sees it in Temporal.
        runs = await _runs(client, login, 1)
        onboarding_id = next(i for i, t in runs.items() if t == "Onboarding")
        handle = client.get_workflow_handle_for(OnboardingWorkflow.run, onboarding_id)
        result = await asyncio.wait_for(handle.result(), timeout=30)
        assert result.stage is OnboardingStage.ONBOARDED and result.contract_number == "7701-000101"
        attributes = (await handle.describe()).typed_search_attributes
        assert attributes.get(LKK_CONTRACT) == "7701-000101"
        assert attributes.get(LKK_STAGE) == OnboardingStage.ONBOARDED.value

        # More contracts after onboarding: the JSON API, on short ContractBinding runs.
        body = {"contract_number": OPEN_ENTREPRENEUR[0], "inn": OPEN_ENTREPRENEUR[1], "code": code_103}
        second = web.post("/api/v1/contracts", json=body)
        assert second.status_code == 201, second.text
        assert second.json()["status"] == "bound"
        assert web.post("/api/v1/contracts", json=body).json()["status"] == "already_bound_to_you"
        guess = web.post(
            "/api/v1/contracts",
            json={"contract_number": "7701-000102", "inn": "0001592649", "kpp": "000150001", "code": "ABCD-EFGH"},
        )
        assert guess.status_code == 422 and guess.json()["status"] == "wrong_data"
        listed = web.get("/api/v1/contracts").json()["contracts"]
        assert [c["number"] for c in listed] == ["7701-000101", "7701-000103"]
        assert listed[1]["kpp"] is None and listed[1]["metering_points"][0]["meters"][0]["serial_number"] == "09876541"

        # Unbinding: JSON DELETE, then the Profile's button.
        assert web.delete("/api/v1/contracts/7701-000103").status_code == 204
        assert web.delete("/api/v1/contracts/7701-000103").status_code == 404
        unbound = web.post(
            "/profile/contracts/unbind", data={"contract_number": "7701-000101", "csrf_token": _csrf(web.get("/profile"))}
        )
        assert unbound.status_code == 303
        profile = web.get(unbound.headers["location"])
        assert "Договор № 7701-000101 отвязан" in profile.text and "TU-000101-01" not in profile.text
        assert web.get("/api/v1/contracts").json()["contracts"] == []

    # Every run of this cabinet: none holds the binding codes. The second DELETE of the same
    # contract is refused by the rights check before any run starts (it has no access any more).
    runs = await _runs(client, login, 6)
    types = sorted(runs.values())
    assert types.count("ContractBinding") == 3 and types.count("ContractUnbinding") == 2
    for workflow_id in runs:
        history = history_text((await client.get_workflow_handle(workflow_id).fetch_history()).to_json_dict())
        for secret in (code_101, code_103, code_101.replace("-", ""), code_103.replace("-", "")):
            assert secret not in history, workflow_id
    assert pending_binding_requests(engine) == 0
    assert re.fullmatch(r"onboarding-[0-9a-f]{32}", onboarding_id)
    engine.dispose()
