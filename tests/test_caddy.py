"""The shipped deploy/caddy/Caddyfile, run by a real Caddy (Debian's `caddy`, installed by
.ci/run) in front of two real API processes started as the image starts them.

The only differences from production are what the Caddyfile reads from the
environment: the site address (https://localhost:<port>, so Caddy's internal CA
issues the certificate), loopback ports and binding, and the upstream addresses.
The APIs trust 127.0.0.1 for X-Forwarded-For, as compose's APIs trust Caddy's `edge`
network. They run in development mode on purpose: there they do serve /docs and
/openapi.json, so a 404 through Caddy proves Caddy itself blocks them.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import ssl
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from temporalio.testing import WorkflowEnvironment

from api.security_headers import HEADERS, HSTS
from lkk import schema
from lkk.settings import Environment, Settings
from tests.conftest import (
    CAPTCHA_TEST_ANSWER,
    ROOT,
    MailSinkProcess,
    fresh_postgres_database,
    free_port,
    postgres_server_url,
    stop_process,
)
from tests.stack import api_process

pytestmark = pytest.mark.asyncio

CADDYFILE = ROOT / "deploy" / "caddy" / "Caddyfile"
REDIS_URL = "redis://127.0.0.1:6379/0"
LIMIT = 3  # recovery requests per minute per client address in these tests
INTERNAL = ("/metrics", "/docs", "/redoc", "/openapi.json")


@dataclass
class Front:
    """Caddy on loopback ports in front of the API processes."""

    https_url: str
    http_url: str
    tls: ssl.SSLContext  # trusts Caddy's internal root only
    apis: list[subprocess.Popen[bytes]]
    api_urls: list[str]

    def client(self, **kwargs: object) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.https_url, verify=self.tls, timeout=15, **kwargs)  # type: ignore[arg-type]


def caddy_binary() -> str:
    found = shutil.which("caddy")
    if found is None:
        pytest.fail("caddy is not installed: `apt-get install -y caddy` (.ci/run does)")
    return found


@contextmanager
def _database(tmp: Path) -> Iterator[str]:
    server = postgres_server_url()
    if server is None:  # PostgreSQL is what production runs; SQLite where none is at hand
        yield f"sqlite:///{tmp}/lkk.db"
        return
    with fresh_postgres_database(server) as url:
        yield url


def _trust_caddy_root(data_home: Path, url: str, proc: subprocess.Popen[bytes], log: Path) -> ssl.SSLContext:
    """Wait (bounded) until Caddy's internal CA exists and the site answers over verified TLS."""
    root = data_home / "caddy" / "pki" / "authorities" / "local" / "root.crt"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"caddy exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        if root.exists():
            context = ssl.create_default_context(cafile=str(root))
            try:
                if httpx.get(f"{url}/healthz", verify=context, timeout=3).status_code == 200:
                    return context
            except httpx.HTTPError:
                pass
        time.sleep(0.2)
    raise TimeoutError(f"caddy did not serve {url}:\n{log.read_text(errors='replace')[-3000:]}")


@contextmanager
def caddy(tmp: Path, https_port: int, upstreams: list[str]) -> Iterator[tuple[str, str, ssl.SSLContext]]:
    """`caddy run` on the shipped Caddyfile; its data and config dirs stay under ``tmp``."""
    http_port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp),
        "XDG_DATA_HOME": str(tmp / "data"),
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "LKK_PUBLIC_BASE_URL": f"https://localhost:{https_port}",
        "CADDY_HTTP_PORT": str(http_port),
        "CADDY_HTTPS_PORT": str(https_port),
        "CADDY_ADMIN": f"127.0.0.1:{free_port()}",
        "CADDY_DEFAULT_BIND": "default_bind 127.0.0.1",
        "CADDY_UPSTREAMS": " ".join(upstreams),
    }
    log = tmp / "caddy.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [caddy_binary(), "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        https_url = f"https://localhost:{https_port}"
        yield https_url, f"http://localhost:{http_port}", _trust_caddy_root(tmp / "data", https_url, proc, log)
    finally:
        stop_process(proc)


@contextmanager
def front(tmp: Path, dev_server_env: WorkflowEnvironment, mailsink: MailSinkProcess) -> Iterator[Front]:
    """Two API replicas (one database, one Redis, one Temporal) behind the shipped Caddyfile."""
    https_port = free_port()
    prefix = f"lkk-test-{uuid.uuid4().hex[:12]}"  # shared Redis: this front's keys only
    with ExitStack() as stack:
        database = stack.enter_context(_database(tmp))
        schema.upgrade(database)  # the compose migrate job
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            environment=Environment.DEVELOPMENT,  # serves /docs, so Caddy's 404 is Caddy's
            database_url=database,
            smtp_port=mailsink.smtp_port,
            captcha_test_answer=CAPTCHA_TEST_ANSWER,
            public_base_url=f"https://localhost:{https_port}",
            temporal_address=dev_server_env.client.service_client.config.target_host,
            rate_limit_storage_uri=REDIS_URL,
            rate_limit_key_prefix=prefix,
            rate_limit_password_reset=f"{LIMIT}/minute",
            # Every request through Caddy comes from one client address: the stop test's
            # failed logins must never meet the per-address limits.
            rate_limit_login="100000/minute",
            rate_limit_login_failures="100000/minute",
            password_reset_min_response_ms=0,
            trusted_proxies="127.0.0.1",  # Caddy's address, as compose trusts the edge network
        )
        ports = [free_port(), free_port()]
        apis = [stack.enter_context(api_process(settings, port)) for port in ports]
        upstreams = [f"127.0.0.1:{port}" for port in ports]
        https_url, http_url, tls = stack.enter_context(caddy(tmp, https_port, upstreams))
        try:
            yield Front(https_url, http_url, tls, apis, [f"http://{u}" for u in upstreams])
        finally:
            client = redis.Redis.from_url(REDIS_URL)
            for key in client.scan_iter(f"{prefix}:*"):
                client.delete(key)


@pytest.fixture(scope="module")
def shared_front(
    tmp_path_factory: pytest.TempPathFactory, dev_server_env: WorkflowEnvironment, mailsink: MailSinkProcess
) -> Iterator[Front]:
    with front(tmp_path_factory.mktemp("caddy"), dev_server_env, mailsink) as running:
        yield running


async def test_https_is_served_with_a_certificate_for_the_site(shared_front: Front) -> None:
    async with shared_front.client() as web:  # verified against Caddy's internal root only
        page = await web.get("/login")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert page.http_version in ("HTTP/1.1", "HTTP/2")
    assert page.headers.get("server") == "Caddy", "answered by Caddy, not by an API directly"


async def test_plain_http_is_redirected_to_https(shared_front: Front) -> None:
    async with httpx.AsyncClient(timeout=15) as web:
        answer = await web.get(f"{shared_front.http_url}/login?next=x")
    assert answer.status_code in (301, 308)
    # Caddy names no port when the site is on its https_port (443 in production, a free
    # port here), so the redirect is exactly production's: https://<host><same path>.
    assert answer.headers["location"] == "https://localhost/login?next=x"


async def test_internal_endpoints_are_not_reachable_through_caddy(shared_front: Front) -> None:
    async with httpx.AsyncClient(base_url=shared_front.api_urls[0], timeout=15) as direct:
        served = {path: (await direct.get(path)).status_code for path in INTERNAL}
    assert served == {path: 200 for path in INTERNAL}, "the API serves them (development mode, backend network)"
    async with shared_front.client() as web:
        through = {path: (await web.get(path)).status_code for path in (*INTERNAL, "/docs/oauth2-redirect", "/metrics/")}
    assert set(through.values()) == {404}, through


async def _recover(web: httpx.AsyncClient, forwarded_for: str) -> int:
    answer = await web.post(
        "/api/v1/password-resets",
        json={"login": "nobody", "email": "nobody@example.ru"},
        headers={"X-Forwarded-For": forwarded_for},
    )
    return answer.status_code


def _random_ip() -> str:
    return "198.18." + ".".join(str(secrets.randbelow(256)) for _ in range(2))


async def test_a_client_sent_x_forwarded_for_is_not_trusted(shared_front: Front) -> None:
    # Control: the API does trust its peer 127.0.0.1 (as compose's APIs trust Caddy), so
    # sent straight to it every made-up address opens a new budget...
    async with httpx.AsyncClient(base_url=shared_front.api_urls[0], timeout=15) as direct:
        straight = [await _recover(direct, _random_ip()) for _ in range(LIMIT + 2)]
    assert straight == [202] * (LIMIT + 2)
    # ...but through Caddy the header is Caddy's own: the client's real address counts,
    # on both replicas (round robin, counters in Redis).
    async with shared_front.client() as web:
        spoofed = [await _recover(web, _random_ip()) for _ in range(LIMIT + 2)]
    assert spoofed == [202] * LIMIT + [429, 429]


async def test_security_headers_survive_the_proxy(shared_front: Front) -> None:
    async with shared_front.client() as web:
        for path in ("/login", "/api/v1/captcha", "/no-such-page"):
            answer = await (web.post(path) if path.startswith("/api/") else web.get(path))
            headers = answer.headers
            assert {name: headers.get(name) for name in HEADERS} == HEADERS, path
            assert headers.get("strict-transport-security") == HSTS, path
            assert headers.get_list("content-security-policy") == [HEADERS["Content-Security-Policy"]], path


async def _page(web: httpx.AsyncClient) -> tuple[int, int]:
    return (await web.get("/login")).status_code, 200


async def _failed_login(web: httpx.AsyncClient) -> tuple[int, int]:
    # A POST Caddy does not retry once written; a fresh unknown login each time, so no
    # per-login lockout or captcha comes into play (only a failure counter is written).
    answer = await web.post("/api/v1/session", json={"login": f"nobody-{uuid.uuid4().hex}", "password": "wrong-password"})
    return answer.status_code, 401


async def _steady_traffic(web: httpx.AsyncClient, stop: asyncio.Event, seen: list[tuple[int, int]]) -> None:
    for turn in range(4000):  # bounded; ends when told to
        if stop.is_set():
            return
        try:
            seen.append(await (_failed_login if turn % 2 else _page)(web))
        except httpx.HTTPError:
            seen.append((-1, 0))  # a broken connection counts as a failure too


async def test_a_replica_stopped_mid_traffic_gives_no_errors(
    tmp_path: Path, dev_server_env: WorkflowEnvironment, mailsink: MailSinkProcess
) -> None:
    with front(tmp_path, dev_server_env, mailsink) as running:
        stop = asyncio.Event()
        seen: list[tuple[int, int]] = []  # (answered, expected)
        async with running.client() as web:
            clients = [asyncio.create_task(_steady_traffic(web, stop, seen)) for _ in range(4)]
            await asyncio.sleep(3.0)
            before = len(seen)
            # As `docker compose stop api-2` does: SIGTERM; the replica drains (not ready,
            # still serving) until Caddy has taken it out, then finishes what it has.
            await asyncio.to_thread(stop_process, running.apis[1], 60)
            stopped_at = len(seen)
            await asyncio.sleep(4.0)
            stop.set()
            await asyncio.gather(*clients)
        failures = [answered for answered, expected in seen if answered != expected]
        assert failures == [], f"{len(failures)} of {len(seen)} requests failed: {sorted(set(failures))}"
        counts = (before, stopped_at - before, len(seen) - stopped_at)
        assert min(counts) > 10, f"traffic ran before, during and after the stop: {counts}"
        assert running.apis[1].returncode is not None
        posts = sum(1 for _, expected in seen if expected == 401)
        assert posts > 10, f"POSTs, which Caddy does not retry, were part of the traffic: {posts}"
