"""Login over real HTTP against the real app (uvicorn on a local socket, the client
address via X-Forwarded-For as behind the production proxy, real SQLite, real argon2):
generic answers, timing, lockouts, captcha, per-IP limits, sessions, CSRF, headers."""

from __future__ import annotations

import statistics
import time
from datetime import timedelta

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.services.login import INVALID_CREDENTIALS
from lkk import validation
from lkk.models import WebSession
from lkk.security.passwords import hash_password, needs_rehash
from lkk.settings import Settings
from lkk.store import login_throttle, session_for, web_sessions
from lkk.timeutil import utcnow
from tests.conftest import CAPTCHA_TEST_ANSWER
from tests.harness import PASSWORD, unique_login
from tests.web import account, captcha_of, csrf_of, log_in, make_active_account, post_form, web_client

pytestmark = pytest.mark.asyncio

LENIENT = {
    "login_captcha_after_failures": 1000,
    "login_lockout_after_failures": 1000,
    "rate_limit_login": "10000/minute",
    "rate_limit_login_failures": "10000/minute",
}


def _banner(page: httpx.Response) -> str:
    start = page.text.index('class="error banner"')
    return page.text[start : page.text.index("</p>", start)]


async def test_login_opens_a_hardened_session_and_logout_ends_it(settings: Settings, engine: Engine) -> None:
    login = unique_login()
    make_active_account(engine, settings, login, PASSWORD)
    async with web_client(settings, engine) as web:
        ok = await log_in(web, login.upper(), PASSWORD)  # logins are case-insensitive
        assert ok.status_code == 303 and ok.headers["location"] == "/profile"
        cookie = ok.headers["set-cookie"]
        assert cookie.startswith(f"{settings.session_cookie_name}=")
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
        token = web.cookies[settings.session_cookie_name]
        with Session(engine) as session:  # the table holds a hash, never the token
            assert session.exec(select(WebSession).where(WebSession.token_hash == token)).first() is None
        profile = await web.get("/profile")
        assert profile.status_code == 200 and login in profile.text

        bye = await post_form(web, "/profile", "/logout", {})
        assert bye.status_code == 303 and bye.headers["location"] == "/login"
        assert (await web.get("/profile")).headers["location"] == "/login"
        assert web_sessions.resolve(session_for(engine), settings, token, now=utcnow()) is None

    secure = settings.model_copy(update={"public_base_url": "https://lkk.example.ru"})
    async with web_client(secure, engine) as web:
        # The browser talks HTTPS to the proxy and sends Secure cookies back; this client
        # talks plain HTTP to 127.0.0.1 and would not, so the CSRF cookie goes back by hand.
        page = await web.get("/login")
        csrf_cookie = page.headers["set-cookie"]
        assert csrf_cookie.startswith("__Host-lkk_csrf=") and "Secure" in csrf_cookie
        ok = await web.post(
            "/login",
            data={"username": login, "password": PASSWORD, "csrf_token": csrf_of(page)},
            headers={"Cookie": csrf_cookie.split(";", 1)[0]},
        )
        assert ok.status_code == 303 and ok.headers["location"] == "/profile"
        cookies = ok.headers.get_list("set-cookie")
        session_cookie = next(c for c in cookies if c.startswith(f"__Host-{secure.session_cookie_name}="))
        assert "Secure" in session_cookie and "HttpOnly" in session_cookie
        assert ok.headers["strict-transport-security"].startswith("max-age=")


async def test_unknown_login_and_wrong_password_answer_alike(settings: Settings, engine: Engine) -> None:
    config = settings.model_copy(update=LENIENT)
    login = unique_login()
    make_active_account(engine, config, login, PASSWORD)
    async with web_client(config, engine) as web:
        wrong = await log_in(web, login, "не-тот-пароль-2026")
        unknown = await log_in(web, unique_login("nobody"), "не-тот-пароль-2026")
        assert wrong.status_code == unknown.status_code == 401
        assert INVALID_CREDENTIALS in _banner(wrong) and _banner(wrong) == _banner(unknown)
        assert captcha_of(wrong) is None and captcha_of(unknown) is None

        api_wrong = await web.post("/api/v1/session", json={"login": login, "password": "не-тот-пароль-2026"})
        api_unknown = await web.post("/api/v1/session", json={"login": unique_login(), "password": "не-тот-пароль-2026"})
        assert api_wrong.status_code == api_unknown.status_code == 401
        assert api_wrong.json() == api_unknown.json()
        assert api_wrong.json()["detail"] == INVALID_CREDENTIALS

        # About the same time: medians over interleaved tries, generous bounds (shared 2-core box).
        known_times: list[float] = []
        unknown_times: list[float] = []
        for _ in range(7):
            for name, bucket in ((login, known_times), (unique_login("nobody"), unknown_times)):
                started = time.perf_counter()
                answer = await web.post("/api/v1/session", json={"login": name, "password": "не-тот-пароль-2026"})
                bucket.append(time.perf_counter() - started)
                assert answer.status_code == 401
        ratio = statistics.median(known_times) / statistics.median(unknown_times)
        assert 0.5 < ratio < 2.0, (known_times, unknown_times)


async def test_failures_bring_captcha_then_growing_lockouts_that_survive_a_restart(
    settings: Settings, engine: Engine
) -> None:
    config = settings.model_copy(
        update={"rate_limit_login": "10000/minute", "rate_limit_login_failures": "10000/minute"}
    )
    login = unique_login()
    make_active_account(engine, config, login, PASSWORD)
    ghost = unique_login("ghost")  # no such account: it must be treated the same
    lockouts_before = REGISTRY.get_sample_value("lkk_login_lockouts_total") or 0.0
    async with web_client(config, engine) as web:
        for name in (login, ghost):
            for attempt in range(config.login_captcha_after_failures):
                page = await log_in(web, name, f"неверный-пароль-{attempt}")
                assert page.status_code == 401
            assert captcha_of(page) is not None, "after a few failures the form asks for the captcha"
            # Without the captcha the password is not even checked (the right one included).
            no_captcha = await log_in(web, name, PASSWORD)
            assert no_captcha.status_code == 401 and "Введите код с картинки" in no_captcha.text
            for attempt in range(config.login_lockout_after_failures - config.login_captcha_after_failures):
                page = await log_in(web, name, f"опять-неверный-{attempt}", captcha_answer=CAPTCHA_TEST_ANSWER)
                assert page.status_code == 401
            locked = await log_in(web, name, PASSWORD, captcha_answer=CAPTCHA_TEST_ANSWER)
            assert locked.status_code == 429 and "Слишком много неудачных попыток входа" in locked.text
            assert 0 < int(locked.headers["retry-after"]) <= config.login_lockout_base_seconds + 1

    assert REGISTRY.get_sample_value("lkk_login_lockouts_total") == lockouts_before + 2  # one per login

    async with web_client(config, engine) as restarted:  # a new process, the same database
        still = await log_in(restarted, login, PASSWORD, captcha_answer=CAPTCHA_TEST_ANSWER)
        assert still.status_code == 429

    # Each further failure doubles the lockout, up to the maximum.
    key = validation.login_key(login)
    now = utcnow()
    lockouts = []
    for step in range(8):
        moment = now + timedelta(hours=step + 1)  # after each lockout has run out
        reserved = login_throttle.reserve(session_for(engine), config, key, now=moment, captcha_solved=True)
        assert reserved.granted and reserved.newly_locked
        state = reserved.state
        assert state.locked_until is not None
        lockouts.append(int((state.locked_until - moment).total_seconds()))
    assert lockouts[:5] == [120, 240, 480, 960, 1800]
    assert set(lockouts[5:]) == {config.login_lockout_max_seconds}

    # Once the lockout is over, the right password works and takes back its own count.
    login_throttle.clear(session_for(engine), key)
    async with web_client(config, engine) as web:
        assert (await log_in(web, login, PASSWORD)).status_code == 303
    assert login_throttle.state(session_for(engine), config, key, now=utcnow()).failures == 0


async def test_per_ip_rate_limit_on_failed_logins(settings: Settings, engine: Engine) -> None:
    config = settings.model_copy(update={**LENIENT, "rate_limit_login_failures": "3/minute"})
    async with web_client(config, engine, ip="198.51.100.1") as web:
        for _ in range(3):  # different logins: a per-account count would not notice
            assert (await log_in(web, unique_login(), "неверный-пароль-1")).status_code == 401
        limited = await log_in(web, unique_login(), "неверный-пароль-1")
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
        assert "Слишком много запросов с вашего адреса" in limited.text
        api = await web.post("/api/v1/session", json={"login": "someone", "password": "x"})
        assert api.status_code == 429 and api.json()["outcome"] == "rate_limited"


async def test_registration_resend_and_recovery_are_rate_limited(settings: Settings, engine: Engine) -> None:
    config = settings.model_copy(
        update={"rate_limit_register": "2/minute", "rate_limit_resend": "2/minute", "rate_limit_password_reset": "2/minute",
                "password_reset_min_response_ms": 0}
    )
    async with web_client(config, engine) as web:
        for path, page in (("/register", "/register"), ("/register/resend", "/login"), ("/password/forgot", "/password/forgot")):
            codes = [(await post_form(web, page, path, {"login": "", "email": ""})).status_code for _ in range(3)]
            assert codes[:2] != [429, 429] and codes[2] == 429, (path, codes)
        api = await web.post("/api/v1/password-resets", json={"login": "a", "email": "a@example.ru"})
        assert api.status_code == 429 and int(api.headers["retry-after"]) > 0


async def test_rehash_on_login_when_argon2_parameters_change(settings: Settings, engine: Engine) -> None:
    old_params = settings.model_copy(update={"argon2_memory_kib": 8 * 1024, "argon2_time_cost": 3})
    login = unique_login()
    account_id = make_active_account(engine, old_params, login, PASSWORD)
    old_hash = account(engine, account_id).password_hash
    assert needs_rehash(settings, old_hash)
    async with web_client(settings, engine) as web:
        assert (await log_in(web, login, PASSWORD)).status_code == 303
    new_hash = account(engine, account_id).password_hash
    assert new_hash != old_hash and not needs_rehash(settings, new_hash)
    assert f"m={settings.argon2_memory_kib}" in new_hash
    async with web_client(settings, engine) as web:
        assert (await log_in(web, login, PASSWORD)).status_code == 303


async def test_sessions_end_after_idle_and_absolute_timeouts(settings: Settings, engine: Engine) -> None:
    config = settings.model_copy(update={"session_idle_seconds": 600, "session_absolute_seconds": 3600})
    account_id = make_active_account(engine, config, unique_login(), PASSWORD)
    start = utcnow()
    idle = web_sessions.open_session(session_for(engine), config, account_id, now=start)
    assert web_sessions.resolve(session_for(engine), config, idle, now=start + timedelta(seconds=599)) is not None
    assert web_sessions.resolve(session_for(engine), config, idle, now=start + timedelta(seconds=599 + 601)) is None
    busy = web_sessions.open_session(session_for(engine), config, account_id, now=start)
    for minute in range(5, 60, 5):  # active every 5 minutes: the idle timeout slides...
        assert web_sessions.resolve(session_for(engine), config, busy, now=start + timedelta(minutes=minute)) is not None
    assert web_sessions.resolve(session_for(engine), config, busy, now=start + timedelta(minutes=60, seconds=1)) is None  # ...the absolute one does not


async def test_log_out_everywhere_ends_every_session(settings: Settings, engine: Engine) -> None:
    login = unique_login()
    make_active_account(engine, settings, login, PASSWORD)
    async with web_client(settings, engine) as office, web_client(settings, engine) as home:
        assert (await log_in(office, login, PASSWORD)).status_code == 303
        assert (await log_in(home, login, PASSWORD)).status_code == 303
        everywhere = await post_form(home, "/profile", "/logout/all", {})
        assert everywhere.status_code == 303
        assert (await office.get("/profile")).headers["location"] == "/login"
        assert (await home.get("/profile")).headers["location"] == "/login"
        # The JSON API does the same.
        assert (await office.post("/api/v1/session", json={"login": login, "password": PASSWORD})).status_code == 200
        assert (await home.post("/api/v1/session", json={"login": login, "password": PASSWORD})).status_code == 200
        assert (await office.delete("/api/v1/sessions")).status_code == 204
        assert (await home.get("/profile")).headers["location"] == "/login"


async def test_every_state_changing_form_needs_the_csrf_token(settings: Settings, engine: Engine) -> None:
    login = unique_login()
    make_active_account(engine, settings, login, PASSWORD)
    async with web_client(settings, engine) as web:
        assert (await log_in(web, login, PASSWORD)).status_code == 303
        forms = ["/login", "/logout", "/logout/all", "/register", "/register/resend", "/confirm",
                 "/password/forgot", "/password/set", "/profile/password"]
        for path in forms:
            refused = await web.post(path, data={"username": login, "password": PASSWORD})
            assert refused.status_code == 403, path
            assert refused.headers["content-type"].startswith("text/html")
        page = await web.get("/profile")
        forged = await web.post("/logout", data={"csrf_token": csrf_of(page)[::-1]})
        assert forged.status_code == 403
        assert (await web.get("/profile")).status_code == 200, "still logged in: nothing happened"
        # Another site's page has no cookie: the token alone is not enough.
        async with web_client(settings, engine) as other_site:
            stolen = await other_site.post("/login", data={"username": login, "password": PASSWORD, "csrf_token": csrf_of(page)})
            assert stolen.status_code == 403


async def test_json_api_only_takes_json_and_pages_send_security_headers(settings: Settings, engine: Engine) -> None:
    async with web_client(settings, engine) as web:
        form_post = await web.post("/api/v1/session", data={"login": "a", "password": "b"})
        assert form_post.status_code == 415
        plain = await web.post("/api/v1/password-resets", content=b'{"login":"a","email":"b"}', headers={"content-type": "text/plain"})
        assert plain.status_code == 415
        page = await web.get("/login")
        headers = page.headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["cross-origin-opener-policy"] == "same-origin"
        assert headers["cache-control"] == "no-store"
        csrf_cookie = headers["set-cookie"]
        assert "HttpOnly" in csrf_cookie and "SameSite=lax" in csrf_cookie


async def test_hashes_use_the_configured_argon2id_parameters(settings: Settings) -> None:
    encoded = hash_password(settings, PASSWORD)
    assert encoded.startswith("$argon2id$")
    assert f"m={settings.argon2_memory_kib},t={settings.argon2_time_cost},p={settings.argon2_parallelism}" in encoded
