"""Refuse text the database cannot store before any route sees it: NUL characters and
lone UTF-16 surrogates.

PostgreSQL rejects NUL in text (``DataError``) and psycopg cannot encode a lone
surrogate; SQLite takes both. Either way such text is never a login, an address or a
token, so one check at the edge covers every endpoint, present and future: the path,
the query string and JSON or form bodies. The answer is a 422 in the request's own
language: JSON naming the field under /api/, a Russian page naming it otherwise.

Pure ASGI (no BaseHTTPMiddleware). Bodies are read whole only for JSON and forms,
which ``BodyLimitMiddleware`` (outside this one) has already capped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send

from api.http_middleware import HttpMiddleware
from api.templating import render

REFUSED = "Недопустимые символы."
# Russian names of the form fields, for the page that says which one to correct.
FIELD_LABELS = {
    "username": "Логин",
    "login": "Логин",
    "email": "Электронная почта",
    "phone": "Телефон",
    "password": "Пароль",
    "password_confirm": "Повтор пароля",
    "new_password": "Новый пароль",
    "new_password_confirm": "Повтор нового пароля",
    "current_password": "Текущий пароль",
    "captcha_answer": "Код с картинки",
    "contract_number": "Номер договора",
    "inn": "ИНН",
    "kpp": "КПП",
    "code": "Код подтверждения",
}
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def is_odd(text: str) -> bool:
    """NUL or a lone surrogate (valid UTF-8 never decodes to one)."""
    return "\x00" in text or any("\ud800" <= ch <= "\udfff" for ch in text)


def _odd_pairs(pairs: list[tuple[str, str]]) -> str | None:
    for name, value in pairs:
        if is_odd(name) or is_odd(value):
            return name if not is_odd(name) else "form"
    return None


def _strings(node: object, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield path, str(key)
            yield from _strings(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, f"{path}.{index}" if path else str(index))


def _odd_in_json(body: bytes) -> str | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None  # FastAPI answers malformed JSON itself
    for path, value in _strings(document, ""):
        if is_odd(value):
            return path or "body"
    return None


def _odd_in_form(content_type: str, body: bytes) -> str | None:
    if content_type == "multipart/form-data":
        return "form" if b"\x00" in body else None  # no uploads here: a NUL is never wanted
    return _odd_pairs(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


class OddInputMiddleware(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        field = "path" if is_odd(scope["path"]) else _odd_pairs(
            parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        )
        content_type = Headers(scope=scope).get("content-type", "").split(";")[0].strip().lower()
        checks_body = content_type == "application/json" or content_type in FORM_TYPES
        if field is None and checks_body:
            body, receive = await _buffered(receive)
            field = _odd_in_json(body) if content_type == "application/json" else _odd_in_form(content_type, body)
        if field is None:
            await self.app(scope, receive, send)
            return
        await _refusal(scope, field)(scope, receive, send)


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """Read the whole body, then hand the app a receive that replays it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"", _replay([message], receive)
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    return body, _replay([{"type": "http.request", "body": body, "more_body": False}], receive)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    async def replaying() -> Message:
        return messages.pop(0) if messages else await receive()

    return replaying


def _refusal(scope: Scope, field: str) -> Response:
    if scope["path"].startswith("/api/"):
        return JSONResponse({"detail": "Неверный запрос.", "errors": {field: REFUSED}}, status_code=422)
    label = FIELD_LABELS.get(field)
    text = f"В поле «{label}» есть недопустимые символы." if label else "В запросе есть недопустимые символы."
    context = {"title": "Неверный запрос", "text": text + " Вернитесь, исправьте и отправьте снова.", "kind": "error"}
    return render(Request(scope), "message.html", context, status_code=422)
