"""Any text a client sends, NUL and lone surrogates included, gets a 4xx and never a 500,
on SQLite and on PostgreSQL (which refuses NUL in text with DataError): a Hypothesis
property over the endpoints that look text up in the database, through real HTTP."""

from __future__ import annotations

import asyncio
import json
import re
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from lkk.settings import Settings
from tests.web import web_client

pytestmark = pytest.mark.asyncio

# Any code point, surrogates and control characters included.
ANY_TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), min_size=1, max_size=40)
ODD = st.sampled_from(["\x00", "\ud800", "a\x00b", "\udfff\x00", "ooo\udc80"])
TEXT = st.one_of(ANY_TEXT, ODD, st.builds(lambda a, b: a + b, ANY_TEXT, ODD))
LENIENT = {
    **{name: "100000/minute" for name in Settings.model_fields if name.startswith("rate_limit_") and name.endswith(
        ("login", "login_failures", "register", "resend", "password_reset", "password_change", "binding"))},
    "login_captcha_after_failures": 100000,
    "login_lockout_after_failures": 100000,
    "password_reset_min_response_ms": 0,
}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _json(value: object) -> bytes:
    # json.dumps escapes a lone surrogate as \\udXXX, which is what a hostile client sends.
    return json.dumps(value).encode()


def _probe(base_url: str, value: str) -> list[tuple[str, int]]:
    """Every endpoint that looks a client's text up in the database, with `value` in it."""
    answers: list[tuple[str, int]] = []
    with httpx.Client(base_url=base_url, timeout=60) as web:
        token = _CSRF.search(web.get("/login").text)
        assert token
        csrf = token.group(1)
        api = {"Content-Type": "application/json"}
        form = {"Content-Type": "application/x-www-form-urlencoded"}

        def form_body(fields: dict[str, str]) -> bytes:
            # Percent-encode as UTF-8, surrogates passed through, as a raw client could.
            return "&".join(f"{k}={quote(v.encode('utf-8', 'surrogatepass'))}" for k, v in fields.items()).encode()

        calls = [
            ("POST /api/v1/session", web.post("/api/v1/session", content=_json({"login": value, "password": value, "captcha_id": value}), headers=api)),
            ("POST /api/v1/password-resets", web.post("/api/v1/password-resets", content=_json({"login": value, "email": value}), headers=api)),
            ("POST /api/v1/registrations/status", web.post("/api/v1/registrations/status", content=_json({"registration_handle": value}), headers=api)),
            ("POST /api/v1/confirmations", web.post("/api/v1/confirmations", content=_json({"token": value}), headers=api)),
            ("GET /api/v1/captcha/{id}.png", web.get(f"/api/v1/captcha/{quote(value.encode('utf-8', 'surrogatepass'), safe='')}.png")),
            ("POST /login", web.post("/login", content=form_body({"username": value, "password": value, "captcha_id": value, "captcha_answer": "x", "csrf_token": csrf}), headers=form)),
            ("POST /password/forgot", web.post("/password/forgot", content=form_body({"login": value, "email": value, "csrf_token": csrf}), headers=form)),
            ("GET /confirm?token=", web.get(f"/confirm?token={quote(value.encode('utf-8', 'surrogatepass'))}")),
        ]
        answers = [(name, response.status_code) for name, response in calls]
    return answers


async def test_any_text_gets_a_4xx_never_a_500_on_every_database(settings: Settings, engine: Engine) -> None:
    config = settings.model_copy(update=LENIENT)
    async with web_client(config, engine) as web:
        base_url = str(web.base_url)
        failures: list[tuple[str, str, int]] = []

        @hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(value=TEXT)
        @example(value="\x00")
        @example(value="\ud800")
        @example(value="ooo-romashka\x00")
        def check(value: str) -> None:
            for name, status in _probe(base_url, value):
                if status >= 500:
                    failures.append((name, repr(value), status))
                assert status < 500, f"{name} answered {status} for {value!r}"

        # The server runs on this event loop; the property's blocking client runs beside it.
        await asyncio.to_thread(check)
