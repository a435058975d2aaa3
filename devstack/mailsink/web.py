"""The HTTP side: the mailbox pages and a JSON API shaped like Mailpit's v1, plus the fault switch."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel

from devstack.mailsink.smtp import SmtpMode
from devstack.mailsink.store import Letter, matches

if TYPE_CHECKING:
    from devstack.mailsink.sink import MailSink

log = logging.getLogger("devstack.mailsink")
PAGE_LIMIT = 500  # letters on the web page


def _addresses(items: list[dict[str, str]]) -> str:
    return ", ".join(f"{a['Name']} <{a['Address']}>" if a["Name"] else a["Address"]
                     for a in items if a["Address"] or a["Name"])


def _filesize(size: int) -> str:
    if size < 1024:
        return f"{size} Б"
    unit, value = ("КБ", size / 1024) if size < 1024 * 1024 else ("МБ", size / 1024 / 1024)
    return f"{value:.1f} {unit}".replace(".", ",")


def _localtime(value: datetime | str) -> str:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone().strftime("%d.%m.%Y %H:%M:%S")


def _framed(html: str) -> str:
    """The letter's HTML for a sandboxed iframe: its links open in a new tab."""
    head = re.search(r"<head\b[^>]*>", html, re.IGNORECASE)
    base = '<base target="_blank">'
    return html[: head.end()] + base + html[head.end():] if head else base + html


templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))
templates.env.filters.update(addresses=_addresses, filesize=_filesize, localtime=_localtime)


class _Mode(BaseModel):
    mode: SmtpMode


def create_app(sink: MailSink) -> FastAPI:
    store, handler = sink.store, sink.handler
    app = FastAPI(title="LKK mail sink", docs_url=None, redoc_url=None, openapi_url=None)

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        context |= {"mode": handler.mode.value, "smtp_address": f"{sink.host}:{sink.smtp_port}"}
        return templates.TemplateResponse(request, name, context, status_code=status)

    def found(id_: str) -> tuple[Letter, bytes]:
        if (hit := store.get(id_)) is None:
            raise HTTPException(404, "message not found")
        return hit

    def listing(letters: list[Letter], start: int, limit: int) -> dict[str, Any]:
        chunk = letters[start : start + limit]
        return {"total": len(store.all()), "unread": 0, "count": len(chunk), "messages_count": len(letters),
                "start": start, "tags": [], "messages": [m.summary() for m in chunk]}

    @app.get("/livez", response_class=PlainTextResponse)
    def livez() -> str:
        return "ok"

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        letters = store.all()
        return page(request, "index.html", messages=[m.summary() for m in letters[:PAGE_LIMIT]], total=len(letters))

    @app.get("/view/{id_}", response_class=HTMLResponse)
    def view(request: Request, id_: str) -> HTMLResponse:
        if (hit := store.get(id_)) is None:
            return page(request, "not_found.html", status=404)
        detail = hit[0].detail(hit[1])
        return page(request, "view.html", m=detail, received=hit[0].received, html_doc=_framed(detail["HTML"]))

    @app.get("/api/v1/messages")
    def messages(limit: int = Query(50, ge=1), start: int = Query(0, ge=0)) -> dict[str, Any]:
        return listing(store.all(), start, limit)

    @app.get("/api/v1/search")
    def search(query: str = "", limit: int = Query(50, ge=1), start: int = Query(0, ge=0)) -> dict[str, Any]:
        return listing([m for m in store.all() if matches(m, query)], start, limit)

    @app.get("/api/v1/message/{id_}")
    def message(id_: str) -> dict[str, Any]:
        letter, raw = found(id_)
        return letter.detail(raw)

    @app.get("/api/v1/message/{id_}/raw")
    def raw(id_: str) -> Response:
        return Response(found(id_)[1], media_type="text/plain; charset=utf-8")

    @app.delete("/api/v1/messages", response_class=PlainTextResponse)
    async def delete(request: Request) -> str:
        """Body ``{"IDs": [...]}`` deletes those; no body or no IDs deletes all (as Mailpit)."""
        body = await request.body()
        try:
            ids = json.loads(body).get("IDs") if body.strip() else None
        except (ValueError, AttributeError):
            raise HTTPException(400, "body must be a JSON object") from None
        await asyncio.to_thread(store.delete, [str(i) for i in ids] if ids else None)
        return "ok"

    @app.get("/api/v1/dev/smtp-mode")
    def get_mode() -> dict[str, str]:
        return {"mode": handler.mode.value}

    @app.post("/api/v1/dev/smtp-mode")
    def set_mode(body: _Mode) -> dict[str, str]:
        handler.mode = body.mode
        log.warning("SMTP mode set to %s", body.mode.value)
        return {"mode": handler.mode.value}

    return app
