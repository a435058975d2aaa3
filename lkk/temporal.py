"""Connecting to Temporal the same way everywhere (API, worker, CLI, tests)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from datetime import timedelta
from typing import NoReturn
from urllib.parse import quote

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import RPCError, RPCStatusCode, TLSConfig

from lkk.settings import Settings
from workflows import messages
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES

log = logging.getLogger(__name__)


def onboarding_workflow_id(account_id: str) -> str:
    """Account ids are random, so a login freed by an expired sign-up can start a new
    onboarding while the old run is still closing. Support finds runs by the
    ``LkkLogin`` search attribute."""
    return f"onboarding-{account_id}"


def password_reset_workflow_id(account_id: str) -> str:
    """One recovery per account at a time: repeated requests join the running one
    (signal-with-start), so they cannot multiply e-mails or valid passwords."""
    return f"password-reset-{account_id}"


def password_changed_workflow_id(account_id: str, nonce: str) -> str:
    """One notice per change; the nonce is random, made by the API."""
    return f"password-changed-{account_id}-{nonce}"


def contract_binding_workflow_id(request_id: str) -> str:
    """One run per parked attempt (``binding_requests.id``): a retried start is a no-op."""
    return f"contract-binding-{request_id}"


def contract_unbinding_workflow_id(request_id: str) -> str:
    return f"contract-unbinding-{request_id}"


def invitation_workflow_id(invitation_id: str) -> str:
    """One ``Invitation`` run per invitation (``invitations.id`` is random): a retried start is a no-op."""
    return messages.invitation_workflow_id(invitation_id)


def ui_link(settings: Settings, workflow_id: str, run_id: str) -> str:
    """The run's history page in the Temporal Web UI (what support opens)."""
    base = settings.temporal_ui_url.rstrip("/")
    return f"{base}/namespaces/{quote(settings.temporal_namespace)}/workflows/{quote(workflow_id)}/{run_id}/history"


def metrics_runtime(bind: str) -> Runtime:
    """A Temporal runtime whose SDK metrics are served to Prometheus on ``host:port``."""
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind, durations_as_seconds=True)))


async def connect(settings: Settings, *, wait_seconds: float = 0.0, runtime: Runtime | None = None) -> Client:
    """Connect with the pydantic converter; optionally keep trying while the server starts."""
    deadline = asyncio.get_running_loop().time() + wait_seconds
    while True:
        try:
            return await Client.connect(
                settings.temporal_address,
                namespace=settings.temporal_namespace,
                data_converter=pydantic_data_converter,
                tls=_tls(settings),
                api_key=settings.temporal_api_key,
                runtime=runtime,
            )
        except RuntimeError:
            if asyncio.get_running_loop().time() >= deadline:
                raise
            log.info("Temporal at %s not reachable yet; retrying", settings.temporal_address)
            await asyncio.sleep(1.0)


def _tls(settings: Settings) -> TLSConfig | bool:
    """mTLS with a client certificate, plain TLS (API key, TLS cluster), or none (dev server)."""
    if settings.temporal_tls_client_cert_path and settings.temporal_tls_client_key_path:
        return TLSConfig(
            client_cert=settings.temporal_tls_client_cert_path.read_bytes(),
            client_private_key=settings.temporal_tls_client_key_path.read_bytes(),
        )
    return settings.temporal_tls or settings.temporal_api_key is not None


async def temporal_reachable(client: Client, timeout_seconds: float = 2.0) -> bool:
    """The frontend answers its gRPC health check within the timeout."""
    try:
        return await asyncio.wait_for(
            client.service_client.check_health(timeout=timedelta(seconds=timeout_seconds)), timeout_seconds + 0.5
        )
    except Exception:  # any failure means "not ready"; the reason is in the server's logs
        return False


async def register_search_attributes(client: Client, namespace: str) -> None:
    """Register the project's custom search attributes (idempotent).

    The embedded stack passes them to ``temporal server start-dev``; this is for
    other servers (the time-skipping test server, a fresh cluster namespace).
    """
    # The SDK's enum numbers its types as the API's IndexedValueType does.
    wanted = {key.name: IndexedValueType.ValueType(key.indexed_value_type.value) for key in SEARCH_ATTRIBUTES}
    try:
        existing = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        wanted = {name: kind for name, kind in wanted.items() if name not in existing.custom_attributes}
    except RPCError as err:  # the time-skipping test server cannot list, only add
        if err.status is not RPCStatusCode.UNIMPLEMENTED:
            raise
    if wanted:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=wanted)
        )


def exit_skipping_finalization(code: int) -> NoReturn:
    """End a process that used a Temporal client without interpreter finalization.

    The SDK's Rust core keeps native threads that may still touch the GIL while
    CPython finalizes, which can abort the process ("PyGILState_Release: thread
    state must be current", temporalio/sdk-python#300) after all work is done.
    Everything is flushed first; nothing else is left to clean up at that point.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
