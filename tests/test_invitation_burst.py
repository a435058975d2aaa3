"""The invitation limits under a burst over two API replicas (subprocesses sharing one
database and one Redis, as behind a load balancer): every request on its own
connection, held back by its last byte, released at the same instant. A limit that
counts and then inserts without a lock lets a burst through; these must not."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import httpx
import pytest
import redis
from sqlmodel import func, select
from temporalio.testing import WorkflowEnvironment

from lkk.billing.models import ContractBinding
from lkk.company import members
from lkk.company.models import Invitation, InvitationStatus
from lkk.db import make_engine, session_for, transaction
from lkk.settings import Settings
from lkk.timeutil import utcnow
from tests.burst import burst
from tests.harness import PASSWORD, unique_login
from tests.stack import Stack, running_stack
from tests.web import make_active_account

pytestmark = pytest.mark.asyncio

REDIS_URL = "redis://127.0.0.1:6379/0"
BURST = 24


@pytest.fixture
def replicas(
    dev_server_env: WorkflowEnvironment, settings: Settings
) -> Iterator[Callable[..., AbstractContextManager[list[Stack]]]]:
    """Starts two API replicas with the given company limits (no worker: the runs start
    and wait; the limits are decided before any letter goes out)."""
    prefix = f"lkk-test-{uuid.uuid4().hex[:12]}"  # shared Redis: this test's keys only

    def start(**limits: int) -> AbstractContextManager[list[Stack]]:
        config = settings.model_copy(
            update={
                "temporal_address": dev_server_env.client.service_client.config.target_host,
                "rate_limit_storage_uri": REDIS_URL,
                "rate_limit_key_prefix": prefix,
                "rate_limit_invitations": "10000/minute",  # only the administrator's limits may stop them
                "max_invitations_per_hour_per_admin": 1000,
                "max_pending_invitations_per_admin": 1000,
                "max_users_per_contract": 1000,
                **limits,
            }
        )
        return running_stack(config, workers=0, apis=2)

    yield start
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def _administrator(settings: Settings, numbers: list[str]) -> str:
    """An active account holding ``numbers`` as their «Администратор»; its login."""
    login = unique_login("burst-admin")
    engine = make_engine(settings.database_url)
    try:
        account_id = make_active_account(engine, settings, login, PASSWORD)
        with session_for(engine) as session, transaction(session):
            for number in numbers:
                session.add(ContractBinding(contract_number=number, account_id=account_id, bound_at=utcnow()))
                session.flush()
                members.add_binder(session, number, account_id, login, utcnow())
    finally:
        engine.dispose()
    return login


def _pending(settings: Settings, number_prefix: str) -> int:
    engine = make_engine(settings.database_url)
    try:
        with session_for(engine) as session:
            return int(
                session.exec(
                    select(func.count()).select_from(Invitation).where(
                        Invitation.status == InvitationStatus.PENDING,  # type: ignore[arg-type]
                        Invitation.email.startswith(number_prefix),  # type: ignore[attr-defined]
                    )
                ).one()
            )
    finally:
        engine.dispose()


async def _invite_burst(apis: list[Stack], login: str, numbers: list[str], tag: str) -> Counter[int]:
    """BURST invitations to different addresses, half on each replica, with one session;
    invitation i is to ``numbers[i % len(numbers)]``."""
    clients = [httpx.AsyncClient(base_url=api.api_url, timeout=60) for api in apis]
    try:
        signed_in = await clients[0].post("/api/v1/session", json={"login": login, "password": PASSWORD})
        assert signed_in.status_code == 200, signed_in.text
        for client in clients[1:]:
            client.cookies = clients[0].cookies  # the session lives in the shared database
        requests = [
            clients[i % 2].build_request(
                "POST",
                "/api/v1/invitations",
                json={"email": f"{tag}-{i}@example.ru", "contract_numbers": [numbers[i % len(numbers)]], "role": "viewer"},
            )
            for i in range(BURST)
        ]
        return Counter(answer.status for answer in await burst(requests))
    finally:
        for client in clients:
            await client.aclose()


@pytest.mark.parametrize(
    ("limits", "contracts", "passed", "refused"),
    [
        # The administrator's limits with a contract per invitation: only the per-administrator
        # lock can serialise them; the contract's limit with one contract for all.
        ({"max_invitations_per_hour_per_admin": 5}, BURST, 5, 429),
        ({"max_pending_invitations_per_admin": 4}, BURST, 4, 429),
        ({"max_users_per_contract": 4}, 1, 3, 409),  # the administrator is one of the four
    ],
    ids=["per-hour", "pending-per-admin", "users-per-contract"],
)
async def test_an_invitation_limit_holds_under_a_burst_over_two_replicas(
    replicas: Callable[..., AbstractContextManager[list[Stack]]],
    limits: dict[str, int],
    contracts: int,
    passed: int,
    refused: int,
) -> None:
    with replicas(**limits) as apis:
        settings = apis[0].settings
        series = uuid.uuid4().int % 10**4
        numbers = [f"77{series:04d}-{i:03d}" for i in range(contracts)]
        login = _administrator(settings, numbers)
        tag = f"burst{uuid.uuid4().hex[:6]}"
        seen = await _invite_burst(apis, login, numbers, tag)
    assert seen == Counter({201: passed, refused: BURST - passed}), seen
    assert _pending(settings, tag) == passed
