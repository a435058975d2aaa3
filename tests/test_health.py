"""/healthz and /readyz of the real API process, with its dependencies up and down."""

from __future__ import annotations

import uuid

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from lkk import schema
from lkk.settings import Settings
from tests.conftest import free_port, start_dev_server
from tests.stack import api_process, running_stack, wait_temporal

pytestmark = pytest.mark.asyncio


def _dev(settings: Settings, env: WorkflowEnvironment) -> Settings:
    return settings.model_copy(
        update={
            "temporal_address": env.client.service_client.config.target_host,
            "temporal_task_queue": f"health-{uuid.uuid4().hex[:8]}",
        }
    )


async def test_ready_when_database_and_temporal_answer(dev_server_env: WorkflowEnvironment, settings: Settings) -> None:
    with running_stack(_dev(settings, dev_server_env), workers=0) as (front,):
        assert httpx.get(f"{front.api_url}/healthz").json() == {"status": "ok"}
        ready = httpx.get(f"{front.api_url}/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "checks": {"database": "ok", "temporal": "ok"}}


async def test_ready_but_degraded_without_temporal_then_connects_when_it_comes(settings: Settings) -> None:
    """Temporal down at start: the API starts at once (no waiting on Temporal), and stays
    in the balancer, since login and the Profile need only the database; the body says
    Temporal is down, for monitoring. When Temporal comes, the API connects by itself."""
    temporal_port = free_port()
    config = settings.model_copy(update={"temporal_address": f"127.0.0.1:{temporal_port}"})
    port = free_port()
    schema.upgrade(config.database_url)
    with api_process(config, port, wait_until_ready=False):
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
        assert ready.status_code == 200
        assert ready.json() == {"status": "degraded", "checks": {"database": "ok", "temporal": "down"}}
        temporal = await start_dev_server(port=temporal_port)
        try:
            wait_temporal(f"http://127.0.0.1:{port}")
            assert httpx.get(f"http://127.0.0.1:{port}/readyz").json()["status"] == "ready"
        finally:
            await temporal.shutdown()


async def test_not_ready_without_database(dev_server_env: WorkflowEnvironment, settings: Settings) -> None:
    # Nothing listens on that port: a PostgreSQL server that is down.
    config = _dev(settings, dev_server_env).model_copy(
        update={"database_url": f"postgresql+psycopg://lkk@127.0.0.1:{free_port()}/lkk"}
    )
    port = free_port()
    with api_process(config, port, wait_until_ready=False):
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"database": "down", "temporal": "ok"}
        assert "lkk@127.0.0.1" not in ready.text  # no connection details leak
