"""Development SMTP sink: a small local stand-in for Mailpit.

It accepts every message on an SMTP port, keeps it on disk and shows it in a web UI
and a JSON API shaped like Mailpit's API v1, so that the same test helper
(``tests/mailbox.py``) reads this sink in the embedded stack and Mailpit in the
production-like compose.

Run::

    python -m devstack.mailsink [--host 127.0.0.1] [--smtp-port 1025]
                                [--http-port 8025] [--data-dir var/mailsink]

Defaults come from ``lkk.settings`` (``LKK_MAILSINK_SMTP_PORT``,
``LKK_MAILSINK_HTTP_PORT``, ``LKK_DATA_DIR``/mailsink); the flags override them.
In-process use (e.g. a pytest fixture)::

    sink = MailSink(smtp_port=0, http_port=0, data_dir=tmp_path)  # 0 = any free port
    await sink.start()   # sink.smtp_port / sink.http_port hold the bound ports
    ...
    await sink.stop()

HTTP endpoints (all on ``--http-port``):

* ``GET /`` and ``GET /view/{id}`` - the web UI (Russian).
* ``GET /api/v1/messages?limit=50&start=0`` - summaries, newest first.
* ``GET /api/v1/search?query=...`` - same shape; understands ``to:ADDR``,
  ``from:ADDR``, ``subject:WORD``, plain words (matched against the subject),
  ``"quoted phrases"`` and ``-`` for negation. Matching is a case-insensitive
  substring match, as in Mailpit.
* ``GET /api/v1/message/{id}`` (``latest`` works too), ``GET /api/v1/message/{id}/raw``.
* ``DELETE /api/v1/messages`` with optional ``{"IDs": [...]}``; no IDs = delete all.
* ``GET /livez`` - liveness probe.

Fault switch (a dev-only extension, Mailpit has no such thing)::

    POST /api/v1/dev/smtp-mode  {"mode": "accept" | "tempfail" | "reject"}
    GET  /api/v1/dev/smtp-mode

``tempfail`` answers every RCPT and DATA with ``451 4.3.0 Try again later``,
``reject`` with ``550 5.1.1 Mailbox unavailable``, ``accept`` restores normal
delivery. The mode lives in memory only: a restart brings back ``accept``.

Storage: ``<data-dir>/<8-digit counter>-<id>.eml`` holds each raw message exactly
as received; ``<data-dir>/index.jsonl`` adds what the raw message lacks (receive
time, envelope sender and recipients). On start the ``.eml`` files are the truth:
a missing index entry falls back to the file's mtime, a stale one is dropped.
SMTP AUTH is accepted with any credentials, so the app may be configured with a
user/password and still deliver here.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email
import email.policy
import json
import logging
import os
import re
import secrets
import signal
import socket
import string
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from enum import StrEnum
from html import unescape
from pathlib import Path
from typing import Any

import uvicorn
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from jinja2 import DictLoader, Environment
from pydantic import BaseModel

log = logging.getLogger("lkk.mailsink")

DEFAULT_HOST = "127.0.0.1"
SNIPPET_LENGTH = 250  # what Mailpit shows
UI_LIST_LIMIT = 500
_ID_ALPHABET = string.ascii_letters + string.digits
_EML_NAME = re.compile(r"(\d+)-([A-Za-z0-9]+)\.eml")
INDEX_NAME = "index.jsonl"


class SmtpMode(StrEnum):
    ACCEPT = "accept"
    TEMPFAIL = "tempfail"
    REJECT = "reject"


_REFUSALS = {
    SmtpMode.TEMPFAIL: "451 4.3.0 Try again later",
    SmtpMode.REJECT: "550 5.1.1 Mailbox unavailable",
}


# --------------------------------------------------------------------------- parsing


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)  # guaranteed by policy.default
    return msg


def _header(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:  # a broken header must not break the sink
        return ""
    return str(value).strip() if value is not None else ""


def _addresses(msg: Message, name: str) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    try:
        for value in msg.get_all(name, []):
            for addr in getattr(value, "addresses", ()):
                out.append({"Name": addr.display_name, "Address": addr.addr_spec})
    except Exception:
        pass
    return out


def _text_of(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except Exception:  # unknown charset or broken encoding: best effort
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
    text = content if isinstance(content, str) else content.decode("utf-8", "replace")
    return text.replace("\r\n", "\n")  # SMTP line endings are noise for readers and tests


def _leaves(part: Message, prefix: str = "") -> Iterator[tuple[str, Message]]:
    """Non-multipart parts with Mailpit-like part IDs ("1", "2.1", ...)."""
    if part.get_content_maintype() != "multipart":
        yield prefix or "1", part
        return
    payload = part.get_payload()
    for i, sub in enumerate(payload if isinstance(payload, list) else [], 1):
        yield from _leaves(sub, f"{prefix}.{i}" if prefix else str(i))


@dataclass
class _Content:
    text: str = ""
    html: str = ""
    inline: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)


def _content(msg: EmailMessage) -> _Content:
    out = _Content()
    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    out.text = _text_of(text_part) if text_part is not None else ""
    out.html = _text_of(html_part) if html_part is not None else ""
    for part_id, part in _leaves(msg):
        if part is text_part or part is html_part:
            continue
        payload = part.get_payload(decode=True)
        info = {
            "PartID": part_id,
            "FileName": part.get_filename() or "",
            "ContentType": part.get_content_type(),
            "ContentID": _header(part, "Content-ID").strip("<>"),
            "Size": len(payload) if isinstance(payload, bytes) else 0,
        }
        inline = info["ContentID"] and part.get_content_disposition() != "attachment"
        (out.inline if inline else out.attachments).append(info)
    return out


def _snippet(content: _Content) -> str:
    text = content.text
    if not text and content.html:
        text = re.sub(r"(?is)<(script|style|head)\b.*?</\1\s*>", " ", content.html)
        text = unescape(re.sub(r"<[^>]+>", " ", text))
    return " ".join(text.split())[:SNIPPET_LENGTH]


def _new_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(22))


@dataclass
class StoredMessage:
    """Metadata of one stored message; the body is re-read from disk on demand."""

    id: str
    seq: int
    path: Path
    received: datetime
    mail_from: str
    rcpt_to: list[str]
    size: int
    message_id: str
    subject: str
    from_: dict[str, str]
    to: list[dict[str, str]]
    cc: list[dict[str, str]]
    bcc: list[dict[str, str]]
    reply_to: list[dict[str, str]]
    date: datetime | None
    snippet: str
    attachments: int

    @classmethod
    def build(
        cls, id_: str, seq: int, path: Path, raw: bytes, received: datetime, mail_from: str, rcpt_to: list[str]
    ) -> "StoredMessage":
        msg = _parse(raw)
        content = _content(msg)
        to, cc = _addresses(msg, "To"), _addresses(msg, "Cc")
        # Envelope recipients absent from To/Cc were blind copies.
        bcc = _addresses(msg, "Bcc")
        shown = {a["Address"].lower() for a in to + cc + bcc}
        bcc += [{"Name": "", "Address": r} for r in rcpt_to if r.lower() not in shown]
        senders = _addresses(msg, "From")
        try:
            date_header = msg.get("Date")
            date = getattr(date_header, "datetime", None)
        except Exception:
            date = None
        if date is not None and date.tzinfo is None:
            date = date.replace(tzinfo=UTC)
        return cls(
            id=id_,
            seq=seq,
            path=path,
            received=received,
            mail_from=mail_from,
            rcpt_to=rcpt_to,
            size=len(raw),
            message_id=_header(msg, "Message-ID").strip("<>"),
            subject=_header(msg, "Subject"),
            from_=senders[0] if senders else {"Name": "", "Address": ""},
            to=to,
            cc=cc,
            bcc=bcc,
            reply_to=_addresses(msg, "Reply-To"),
            date=date,
            snippet=_snippet(content),
            attachments=len(content.attachments),
        )

    def summary(self) -> dict[str, Any]:
        """The message as an item of Mailpit's ``/api/v1/messages`` list."""
        return {
            "ID": self.id,
            "MessageID": self.message_id,
            "Read": True,  # the sink does not track reading; "unread" is always 0
            "From": self.from_,
            "To": self.to,
            "Cc": self.cc,
            "Bcc": self.bcc,
            "ReplyTo": self.reply_to,
            "Subject": self.subject,
            "Created": _rfc3339(self.received),
            "Tags": [],
            "Size": self.size,
            "Attachments": self.attachments,
            "Snippet": self.snippet,
        }

    def detail(self, raw: bytes) -> dict[str, Any]:
        """The message as Mailpit's ``/api/v1/message/{ID}``."""
        msg = _parse(raw)
        content = _content(msg)
        return_path = _header(msg, "Return-Path").strip("<>") or self.mail_from
        return {
            "ID": self.id,
            "MessageID": self.message_id,
            "From": self.from_,
            "To": self.to,
            "Cc": self.cc,
            "Bcc": self.bcc,
            "ReplyTo": self.reply_to,
            "ReturnPath": return_path,
            "Subject": self.subject,
            "Date": _rfc3339(self.date or self.received),
            "Tags": [],
            "Text": content.text,
            "HTML": content.html,
            "Size": self.size,
            "Inline": content.inline,
            "Attachments": content.attachments,
        }


# --------------------------------------------------------------------------- storage


class MailStore:
    """Messages as ``.eml`` files plus a JSON-lines index; safe to use from threads."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()  # HTTP handlers run in a thread pool
        self._messages: dict[str, StoredMessage] = {}
        self._seq = 0
        self._load()

    @property
    def _index(self) -> Path:
        return self.directory / INDEX_NAME

    def _load(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        for leftover in self.directory.glob("*.tmp"):  # a write interrupted by a crash
            leftover.unlink(missing_ok=True)
        meta: dict[str, dict[str, Any]] = {}
        if self._index.exists():
            for line in self._index.read_text("utf-8", errors="replace").splitlines():
                try:
                    entry = json.loads(line)
                    meta[entry["id"]] = entry
                except (ValueError, KeyError, TypeError):
                    continue  # a torn last line must not lose the other messages
        for path in sorted(self.directory.glob("*.eml")):
            match = _EML_NAME.fullmatch(path.name)
            if not match:
                log.warning("ignoring unexpected file %s", path.name)
                continue
            seq, id_ = int(match[1]), match[2]
            entry = meta.get(id_, {})
            try:
                received = datetime.fromisoformat(entry["received"])
            except (KeyError, TypeError, ValueError):
                received = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            rcpt_to = [str(r) for r in entry.get("rcpt_to") or []]
            self._messages[id_] = StoredMessage.build(
                id_, seq, path, path.read_bytes(), received, str(entry.get("mail_from") or ""), rcpt_to
            )
            self._seq = max(self._seq, seq)
        self._rewrite_index()

    @staticmethod
    def _entry(rec: StoredMessage) -> str:
        return json.dumps(
            {"id": rec.id, "file": rec.path.name, "received": rec.received.isoformat(),
             "mail_from": rec.mail_from, "rcpt_to": rec.rcpt_to},
            ensure_ascii=False,
        )

    def _rewrite_index(self) -> None:
        tmp = self._index.with_suffix(".tmp")
        ordered = sorted(self._messages.values(), key=lambda r: r.seq)
        tmp.write_text("".join(self._entry(r) + "\n" for r in ordered), "utf-8")
        os.replace(tmp, self._index)  # atomic: readers never see half an index

    def add(self, raw: bytes, mail_from: str, rcpt_to: list[str]) -> StoredMessage:
        received = datetime.now(UTC)
        id_ = _new_id()
        with self._lock:
            self._seq += 1
            path = self.directory / f"{self._seq:08d}-{id_}.eml"
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(raw)
            os.replace(tmp, path)
            rec = StoredMessage.build(id_, self._seq, path, raw, received, mail_from, rcpt_to)
            self._messages[id_] = rec
            with self._index.open("a", encoding="utf-8") as index:
                index.write(self._entry(rec) + "\n")
        return rec

    def all(self) -> list[StoredMessage]:
        """Newest first."""
        with self._lock:
            return sorted(self._messages.values(), key=lambda r: r.seq, reverse=True)

    def get(self, id_: str) -> StoredMessage | None:
        with self._lock:
            if id_ == "latest":  # Mailpit accepts "latest" in place of an ID
                return max(self._messages.values(), key=lambda r: r.seq, default=None)
            return self._messages.get(id_)

    def raw(self, rec: StoredMessage) -> bytes | None:
        try:
            return rec.path.read_bytes()
        except FileNotFoundError:  # deleted meanwhile
            return None

    def delete(self, ids: Iterable[str] | None = None) -> int:
        """Delete the given messages, or all of them when ``ids`` is None."""
        with self._lock:
            doomed = list(self._messages) if ids is None else [i for i in ids if i in self._messages]
            for id_ in doomed:
                self._messages.pop(id_).path.unlink(missing_ok=True)
            self._rewrite_index()
            return len(doomed)


_QUERY_TOKEN = re.compile(r'(-|!)?(?:(\w+):)?("[^"]*"|\S+)')


def matches(rec: StoredMessage, query: str) -> bool:
    """Mailpit-like search: every term must match (or not match, when negated)."""
    for negated, field_name, value in _QUERY_TOKEN.findall(query):
        field_name = field_name.lower()
        if field_name not in ("to", "from", "subject", ""):
            value, field_name = f"{field_name}:{value}", ""  # e.g. a URL: a plain word
        value = value.strip('"').casefold()
        if not value:
            continue
        if field_name == "to":
            haystack = " ".join(f"{a['Name']} {a['Address']}" for a in rec.to + rec.cc + rec.bcc)
        elif field_name == "from":
            haystack = f"{rec.from_['Name']} {rec.from_['Address']}"
        else:
            haystack = rec.subject
        if (value in haystack.casefold()) == bool(negated):
            return False
    return True


# --------------------------------------------------------------------------- SMTP side


class _SmtpHandler:
    """aiosmtpd hooks: honour the fault switch, store accepted messages."""

    def __init__(self, sink: "MailSink") -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if refusal := _REFUSALS.get(self.sink.mode):
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if refusal := _REFUSALS.get(self.sink.mode):
            return refusal
        raw = envelope.original_content
        if raw is None:
            raw = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content or "").encode()
        rec = await asyncio.to_thread(self.sink.store.add, raw, envelope.mail_from or "", list(envelope.rcpt_tos))
        log.info("received %s to=%s subject=%r", rec.id, ", ".join(rec.rcpt_to), rec.subject)
        return f"250 2.0.0 Ok: queued as {rec.id}"


def _accept_any_login(*_args: Any) -> AuthResult:
    return AuthResult(success=True)


# --------------------------------------------------------------------------- web UI


_BASE_HTML = """<!doctype html>
<html lang="ru"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}Почтовый ящик (разработка){% endblock %}</title>
<style>
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2733;background:#f4f6f8}
header{background:#123b63;color:#fff;padding:10px 20px;display:flex;gap:16px;align-items:center;flex-wrap:wrap}
header a{color:#fff;text-decoration:none;font-weight:600;font-size:16px}
header .info{opacity:.8}
main{max-width:1100px;margin:20px auto;padding:0 20px}
table{width:100%;border-collapse:collapse;background:#fff;box-shadow:0 1px 2px rgba(0,0,0,.08)}
th,td{text-align:left;padding:8px 10px;border-bottom:1px solid #e3e7eb;vertical-align:top}
th{background:#eef1f4;font-weight:600}
tr.msg:hover{background:#eef4fb}
tr.msg a{color:inherit;text-decoration:none;display:block}
.muted{color:#6b7785}
.warn{background:#ffe9b3;color:#6b4b00;padding:2px 8px;border-radius:4px}
.toolbar{display:flex;gap:12px;align-items:center;margin-bottom:12px}
button{font:inherit;padding:6px 14px;border:1px solid #b3261e;background:#fff;color:#b3261e;border-radius:4px;cursor:pointer}
button:hover{background:#b3261e;color:#fff}
h1{font-size:20px;margin:0 0 12px}
h2{font-size:16px;margin:20px 0 8px}
iframe{width:100%;height:60vh;border:1px solid #d5dbe1;background:#fff;resize:vertical}
pre{white-space:pre-wrap;word-break:break-word;background:#fff;border:1px solid #d5dbe1;padding:12px;margin:0}
table.headers th{width:160px;background:#fff}
</style></head>
<body>
<header><a href="/">Почтовый ящик (разработка)</a>
<span class="info">SMTP {{ smtp_address }}</span>
{% if mode == "tempfail" %}<span class="warn">SMTP временно отказывает (451)</span>
{% elif mode == "reject" %}<span class="warn">SMTP отклоняет письма (550)</span>{% endif %}
</header>
<main>{% block main %}{% endblock %}</main>
<script>
async function deleteMessages(ids) {
  if (!confirm(ids ? "Удалить письмо?" : "Удалить все письма?")) return;
  await fetch("/api/v1/messages", {method: "DELETE", headers: {"Content-Type": "application/json"},
                                   body: JSON.stringify(ids ? {IDs: ids} : {})});
  location.href = "/";
}
</script>
</body></html>
"""

_INDEX_HTML = """{% extends "base.html" %}
{% block main %}
<div class="toolbar">
  <h1>Письма: {{ total }}</h1>
  <a href="/">Обновить</a>
  {% if total %}<button type="button" onclick="deleteMessages(null)">Удалить все письма</button>{% endif %}
</div>
{% if messages %}
<table>
<thead><tr><th>Время</th><th>От кого</th><th>Кому</th><th>Тема</th></tr></thead>
<tbody>
{% for m in messages %}
<tr class="msg">
  <td class="muted"><a href="/view/{{ m.id }}">{{ m.received | localtime }}</a></td>
  <td><a href="/view/{{ m.id }}">{{ [m.from_] | addresses }}</a></td>
  <td><a href="/view/{{ m.id }}">{{ (m.to + m.cc + m.bcc) | addresses }}</a></td>
  <td><a href="/view/{{ m.id }}">{{ m.subject or "(без темы)" }}</a></td>
</tr>
{% endfor %}
</tbody></table>
{% if total > messages | length %}<p class="muted">Показаны последние {{ messages | length }} из {{ total }}.</p>{% endif %}
{% else %}
<p class="muted">Писем пока нет.</p>
{% endif %}
{% endblock %}
"""

_VIEW_HTML = """{% extends "base.html" %}
{% block title %}{{ m.subject or "(без темы)" }} — Почтовый ящик (разработка){% endblock %}
{% block main %}
<div class="toolbar">
  <a href="/">← Все письма</a>
  <a href="/api/v1/message/{{ m.id }}/raw" target="_blank" rel="noopener">Исходный текст</a>
  <button type="button" onclick='deleteMessages({{ [m.id] | tojson }})'>Удалить письмо</button>
</div>
<h1>{{ m.subject or "(без темы)" }}</h1>
<table class="headers">
<tr><th>От кого</th><td>{{ [m.from_] | addresses }}</td></tr>
<tr><th>Кому</th><td>{{ m.to | addresses }}</td></tr>
{% if m.cc %}<tr><th>Копия</th><td>{{ m.cc | addresses }}</td></tr>{% endif %}
{% if m.bcc %}<tr><th>Скрытая копия</th><td>{{ m.bcc | addresses }}</td></tr>{% endif %}
{% if m.reply_to %}<tr><th>Ответить</th><td>{{ m.reply_to | addresses }}</td></tr>{% endif %}
<tr><th>Дата</th><td>{{ (m.date or m.received) | localtime }}</td></tr>
<tr><th>Получено</th><td>{{ m.received | localtime }}</td></tr>
<tr><th>Message-ID</th><td>{{ m.message_id }}</td></tr>
<tr><th>Размер</th><td>{{ m.size | filesize }}</td></tr>
{% if d.Attachments %}<tr><th>Вложения</th><td>
{% for a in d.Attachments %}{{ a.FileName or a.ContentType }} ({{ a.Size | filesize }}){% if not loop.last %}, {% endif %}{% endfor %}
</td></tr>{% endif %}
</table>
<h2>HTML</h2>
{% if d.HTML %}
<iframe title="HTML-версия письма" referrerpolicy="no-referrer"
  sandbox="allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation"
  srcdoc="{{ html_doc }}"></iframe>
{% else %}<p class="muted">HTML-версии нет.</p>{% endif %}
<h2>Текст</h2>
{% if d.Text %}<pre>{{ d.Text }}</pre>{% else %}<p class="muted">Текстовой версии нет.</p>{% endif %}
{% endblock %}
"""

_NOT_FOUND_HTML = """{% extends "base.html" %}
{% block main %}<h1>Письмо не найдено</h1><p><a href="/">← Все письма</a></p>{% endblock %}
"""


def _format_addresses(items: list[dict[str, str]]) -> str:
    shown = [a for a in items if a["Address"] or a["Name"]]
    return ", ".join(f"{a['Name']} <{a['Address']}>" if a["Name"] else a["Address"] for a in shown)


def _format_size(size: int) -> str:
    if size < 1024:
        return f"{size} Б"
    unit, value = ("КБ", size / 1024) if size < 1024 * 1024 else ("МБ", size / 1024 / 1024)
    return f"{value:.1f} {unit}".replace(".", ",")


def _templates() -> Environment:
    env = Environment(
        loader=DictLoader({"base.html": _BASE_HTML, "index.html": _INDEX_HTML, "view.html": _VIEW_HTML,
                           "404.html": _NOT_FOUND_HTML}),
        autoescape=True,
    )
    env.filters["addresses"] = _format_addresses
    env.filters["filesize"] = _format_size
    env.filters["localtime"] = lambda dt: dt.astimezone().strftime("%d.%m.%Y %H:%M:%S")
    return env


def _frame_document(html: str) -> str:
    """Make links in the mail open in a new tab (out of the sandboxed iframe)."""
    base = '<base target="_blank">'
    head = re.search(r"<head\b[^>]*>", html, re.IGNORECASE)
    return html[: head.end()] + base + html[head.end():] if head else base + html


# --------------------------------------------------------------------------- HTTP API


class _ModeIn(BaseModel):
    mode: SmtpMode


def _page(store: MailStore, items: list[StoredMessage], start: int, limit: int) -> dict[str, Any]:
    chunk = items[start : start + limit]
    return {
        "total": len(store.all()),
        "unread": 0,
        "count": len(chunk),
        "messages_count": len(items),
        "start": start,
        "tags": [],
        "messages": [m.summary() for m in chunk],
    }


def create_app(sink: "MailSink") -> FastAPI:
    store = sink.store
    templates = _templates()
    app = FastAPI(title="ЛКК mail sink", docs_url=None, redoc_url=None, openapi_url=None)

    def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        context |= {"mode": sink.mode.value, "smtp_address": f"{sink.host}:{sink.smtp_port}"}
        return HTMLResponse(templates.get_template(name).render(**context), status_code=status)

    def found(id_: str) -> tuple[StoredMessage, bytes]:
        rec = store.get(id_)
        raw = store.raw(rec) if rec else None
        if rec is None or raw is None:
            raise HTTPException(404, "message not found")
        return rec, raw

    @app.get("/livez", response_class=PlainTextResponse)
    def livez() -> str:
        return "ok"

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        items = store.all()
        return render("index.html", messages=items[:UI_LIST_LIMIT], total=len(items))

    @app.get("/view/{id_}", response_class=HTMLResponse)
    def view(id_: str) -> HTMLResponse:
        try:
            rec, raw = found(id_)
        except HTTPException:
            return render("404.html", status=404)
        detail = rec.detail(raw)
        return render("view.html", m=rec, d=detail, html_doc=_frame_document(detail["HTML"]))

    @app.get("/api/v1/messages")
    def list_messages(limit: int = Query(50, ge=1), start: int = Query(0, ge=0)) -> dict[str, Any]:
        return _page(store, store.all(), start, limit)

    @app.get("/api/v1/search")
    def search(query: str = "", limit: int = Query(50, ge=1), start: int = Query(0, ge=0)) -> dict[str, Any]:
        return _page(store, [m for m in store.all() if matches(m, query)], start, limit)

    @app.get("/api/v1/message/{id_}")
    def message(id_: str) -> dict[str, Any]:
        rec, raw = found(id_)
        return rec.detail(raw)

    @app.get("/api/v1/message/{id_}/raw")
    def raw_message(id_: str) -> Response:
        _, raw = found(id_)
        return Response(raw, media_type="text/plain; charset=utf-8")

    @app.delete("/api/v1/messages", response_class=PlainTextResponse)
    async def delete_messages(request: Request) -> str:
        body = (await request.body()).strip()
        ids: list[str] | None = None
        if body:
            try:
                payload = json.loads(body)
            except ValueError:
                raise HTTPException(400, "body must be JSON") from None
            found_ids = payload.get("IDs") if isinstance(payload, dict) else None
            if found_ids:
                ids = [str(i) for i in found_ids]
        await asyncio.to_thread(store.delete, ids)
        return "ok"

    @app.get("/api/v1/dev/smtp-mode")
    def get_mode() -> dict[str, str]:
        return {"mode": sink.mode.value}

    @app.post("/api/v1/dev/smtp-mode")
    def set_mode(body: _ModeIn) -> dict[str, str]:
        sink.mode = body.mode
        log.warning("SMTP mode set to %s", body.mode.value)
        return {"mode": sink.mode.value}

    return app


# --------------------------------------------------------------------------- process


class _Server(uvicorn.Server):
    # The sink owns signal handling; uvicorn must not install (and later re-raise) its own.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class MailSink:
    """SMTP + HTTP servers on the current event loop; ports 0 pick free ports."""

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        smtp_port: int = 1025,
        http_port: int = 8025,
        data_dir: Path | str = Path("var/mailsink"),
    ) -> None:
        self.host = host
        self.smtp_port = smtp_port
        self.http_port = http_port
        self.store = MailStore(Path(data_dir))
        self.mode = SmtpMode.ACCEPT
        self._handler = _SmtpHandler(self)
        self._smtp_server: asyncio.Server | None = None
        self._smtp_sessions: set[SMTP] = set()
        self._http: _Server | None = None
        self._http_task: asyncio.Task[None] | None = None

    def _smtp_protocol(self) -> SMTP:
        proto = SMTP(
            self._handler,
            hostname="mailsink.localhost",  # avoids a slow getfqdn() per connection
            ident="LKK mail sink",
            enable_SMTPUTF8=True,
            authenticator=_accept_any_login,
            auth_require_tls=False,
        )
        self._smtp_sessions.add(proto)
        return proto

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self._smtp_server = await loop.create_server(self._smtp_protocol, self.host, self.smtp_port)
            self.smtp_port = self._smtp_server.sockets[0].getsockname()[1]
            # Bind the HTTP socket ourselves: port 0 works and bind errors surface here.
            # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say so, and
            # without it every keep-alive response waits ~40 ms for a delayed ACK (Nagle).
            sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM,
                                 socket.IPPROTO_TCP)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((self.host, self.http_port))
            except OSError:
                sock.close()
                raise
            self.http_port = sock.getsockname()[1]
            config = uvicorn.Config(
                create_app(self), log_config=None, log_level="warning", access_log=False,
                lifespan="off", timeout_graceful_shutdown=2,
            )
            self._http = _Server(config)
            self._http_task = asyncio.create_task(self._http.serve(sockets=[sock]))
            while not self._http.started:
                if self._http_task.done():
                    self._http_task.result()  # re-raises the startup error
                    raise RuntimeError("HTTP server stopped during startup")
                await asyncio.sleep(0.01)
        except BaseException:
            await self.stop()
            raise
        log.info(
            "mail sink: SMTP %s:%d, web http://%s:%d/, %d stored message(s) in %s",
            self.host, self.smtp_port, self.host, self.http_port, len(self.store.all()), self.store.directory,
        )

    async def stop(self) -> None:
        if self._http is not None and self._http_task is not None:
            self._http.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._http_task, 5)
        self._http = self._http_task = None
        if self._smtp_server is not None:
            self._smtp_server.close()
            for proto in self._smtp_sessions:  # don't wait for idle SMTP clients
                if proto.transport is not None:
                    proto.transport.close()
            self._smtp_sessions.clear()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._smtp_server.wait_closed(), 2)
            self._smtp_server = None


async def serve(
    host: str = DEFAULT_HOST, smtp_port: int = 1025, http_port: int = 8025, data_dir: Path | str = Path("var/mailsink")
) -> None:
    """Run the sink until cancelled."""
    sink = MailSink(host, smtp_port, http_port, data_dir)
    await sink.start()
    try:
        await asyncio.Event().wait()
    finally:
        await sink.stop()


def _defaults() -> tuple[int, int, Path]:
    try:
        from lkk.settings import get_settings

        settings = get_settings()
        return settings.mailsink_smtp_port, settings.mailsink_http_port, settings.data_dir / "mailsink"
    except Exception as exc:  # the sink is a dev tool: odd settings must not stop it
        log.warning("settings not usable (%s), using built-in defaults", exc)
        return 1025, 8025, Path("var/mailsink")


async def _run_until_signalled(args: argparse.Namespace) -> None:
    sink = MailSink(args.host, args.smtp_port, args.http_port, args.data_dir)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # e.g. Windows
            loop.add_signal_handler(sig, stop.set)
    await sink.start()
    try:
        await stop.wait()
    finally:
        log.info("mail sink: stopping")
        await sink.stop()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command
    smtp_port, http_port, data_dir = _defaults()
    parser = argparse.ArgumentParser(prog="python -m devstack.mailsink", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default=DEFAULT_HOST, help="interface for both servers (default: %(default)s)")
    parser.add_argument("--smtp-port", type=int, default=smtp_port, help="SMTP port (default: %(default)s)")
    parser.add_argument("--http-port", type=int, default=http_port, help="web UI and API port (default: %(default)s)")
    parser.add_argument("--data-dir", type=Path, default=data_dir, help="message store (default: %(default)s)")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):  # where signal handlers are unavailable
        asyncio.run(_run_until_signalled(args))


if __name__ == "__main__":
    main()
