"""Probes for the orchestrator and the load balancer.

``/healthz``: the process is alive (restart it if not). It touches nothing else, so a
database outage never makes every replica "dead" at once.
``/readyz``: the replica can serve (database and Temporal answer); the load balancer
sends traffic only to ready replicas. If Temporal was down when the API started,
this is also where the client connection is retried.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from api.deps import AppContext, Ctx
from lkk.temporal import connect, temporal_reachable

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 2.0


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Database and Temporal are reachable",
    responses={503: {"description": "A dependency is down; see `checks`."}},
)
async def readyz(ctx: Ctx) -> JSONResponse:
    database, temporal = await asyncio.gather(_database_ok(ctx.engine), _temporal_ok(ctx))
    checks = {"database": "ok" if database else "down", "temporal": "ok" if temporal else "down"}
    ready = database and temporal
    return JSONResponse({"status": "ready" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503)


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
    if ctx.temporal is None:
        try:
            ctx.temporal = await asyncio.wait_for(connect(ctx.settings), CHECK_TIMEOUT_SECONDS)
        except Exception as exc:
            log.warning("readiness: Temporal not connected (%s)", type(exc).__name__)
            return False
    return await temporal_reachable(ctx.temporal, CHECK_TIMEOUT_SECONDS)
