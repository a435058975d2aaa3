"""Probes for the orchestrator and the load balancer.

``/healthz``: the process is alive (restart it if not). It touches nothing else, so a
database outage never makes every replica "dead" at once.
``/readyz``: the replica can serve, which takes the database only: login, the
Profile and the help pages work without Temporal, so a Temporal restart must not
take every replica out of the balancer. Temporal's state is in the body
(``checks.temporal``, and ``status`` is ``degraded`` while it is down: registration,
resend and binding then answer 503, recovery requests are parked); monitoring
alerts on that, the balancer does not act on it. While the process drains before a
stop (``api.serve``) it answers 503 ``draining`` without checking anything, so the
balancer takes it out of rotation while it still serves.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from api.deps import AppContext, Ctx
from lkk.temporal import temporal_reachable

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 2.0


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The database is reachable (Temporal's state reported, not required)",
    responses={503: {"description": "The database is down (see `checks`), or the process is stopping (`draining`)."}},
)
async def readyz(request: Request, ctx: Ctx) -> JSONResponse:
    if request.app.state.draining:
        return JSONResponse({"status": "draining", "checks": {}}, status_code=503)
    database, temporal = await asyncio.gather(_database_ok(ctx.engine), _temporal_ok(ctx))
    checks = {"database": "ok" if database else "down", "temporal": "ok" if temporal else "down"}
    status = "unavailable" if not database else "ready" if temporal else "degraded"
    return JSONResponse({"status": status, "checks": checks}, status_code=200 if database else 503)


def _select_one(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


async def _database_ok(engine: Engine) -> bool:
    try:
        await asyncio.wait_for(run_in_threadpool(_select_one, engine), CHECK_TIMEOUT_SECONDS)
        return True
    except Exception as exc:  # any failure means "not ready"; log the kind, never the URL
        log.warning("readiness: database check failed (%s)", type(exc).__name__)
        return False


async def _temporal_ok(ctx: AppContext) -> bool:
    # The served app: the background link's latest check (a probe never waits on Temporal).
    if ctx.temporal_link is not None:
        return ctx.temporal_link.up
    return ctx.temporal is not None and await temporal_reachable(ctx.temporal, CHECK_TIMEOUT_SECONDS)
