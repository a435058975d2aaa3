"""Test helpers that drive the real code paths (service layer, worker, mail)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from urllib.parse import parse_qs, urlparse

from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.worker import Worker

from api.deps import AppContext
from api.services import registration as svc
from lkk.models import SignupCreate
from lkk.settings import Settings
from lkk.store import session_for
from tests.mailbox import Mailbox, links
from worker import WORKFLOWS, build_activities

PASSWORD = "зимний-вечер-2026"


@asynccontextmanager
async def running_worker(
    client: Client, settings: Settings, *, workflows: Sequence[type] | None = None, task_queue: str | None = None
) -> AsyncIterator[Settings]:
    """A worker on a fresh task queue (or ``task_queue``); yields the settings that point at it.

    ``workflows`` replaces the registered workflow classes, e.g. with a buggy variant.
    """
    queue = task_queue or f"test-{uuid.uuid4().hex[:8]}"
    settings = settings.model_copy(update={"temporal_task_queue": queue})
    with ThreadPoolExecutor(max_workers=8) as executor:
        async with Worker(
            client,
            task_queue=settings.temporal_task_queue,
            workflows=list(workflows) if workflows is not None else WORKFLOWS,
            activities=build_activities(settings),
            activity_executor=executor,
        ):
            yield settings


def unique_login(prefix: str = "ooo") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def form_data(login: str, *, email: str | None = None, password: str = PASSWORD, answer: str = "TEST42") -> dict[str, str]:
    return {
        "login": login,
        "email": email or f"{login}@example.ru",
        "phone": "+7 912 345-67-89",
        "password": password,
        "password_confirm": password,
        "captcha_id": "",
        "captcha_answer": answer,
    }


async def sign_up(ctx: AppContext, login: str, **kwargs: str) -> svc.Registered:
    """The form's sign-up through the service (the captcha is the route's, not checked here)."""
    signup = SignupCreate.model_validate(form_data(login, **kwargs), context={"settings": ctx.settings})
    with session_for(ctx.engine) as db:
        return await svc.register(ctx, db, signup)


async def confirm(ctx: AppContext, token: str) -> svc.Confirmation:
    """The confirmation link, through the service, as ``POST /confirm`` does."""
    with session_for(ctx.engine) as db:
        return await svc.confirm(ctx, db, token)


def context(settings: Settings, engine: Engine, client: Client) -> AppContext:
    return AppContext(settings=settings, engine=engine, temporal=client)


def token_from(message: dict[str, object]) -> str:
    for link in links(message):
        query = parse_qs(urlparse(link).query)
        if "token" in query:
            return query["token"][0]
    raise AssertionError("no confirmation link in the e-mail")


async def confirmation_token(mailbox: Mailbox, email: str, count: int = 1) -> str:
    """The token of the newest of ``count`` confirmation e-mails sent to ``email``."""
    # Async: a blocking wait would stall the in-process worker on the same event loop.
    newest = await mailbox.wait_for_async(to=email, count=count, timeout=30)
    return token_from(newest)


def history_text(history_json: dict[str, object]) -> str:
    """A workflow history as text with every payload decoded, to search for secrets.

    Payload bodies are base64 in the JSON export, so a plain search would miss them.
    """

    def decode(node: object) -> object:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "data" and isinstance(value, str):
                    try:
                        out[key] = base64.b64decode(value).decode("utf-8", errors="replace")
                        continue
                    except ValueError:
                        pass
                out[key] = decode(value)
            return out
        if isinstance(node, list):
            return [decode(item) for item in node]
        return node

    return json.dumps(decode(history_json), ensure_ascii=False)
