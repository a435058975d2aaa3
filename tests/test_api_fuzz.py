"""Bad input against the real API: schemathesis over the app's own OpenAPI schema,
plus the hand-written cases schemathesis does not produce (oversized bodies,
malformed forms, wrong content types).

The API and worker are subprocesses on the real Temporal dev server, with a real
database (SQLite, and PostgreSQL when configured) and the SMTP sink.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from lkk.db import make_engine
from lkk.settings import Settings
from tests.binding_harness import OPEN_LEGAL, issue, load_registry
from tests.conftest import BIN, DB_BACKENDS, ROOT, MailSinkProcess, fresh_postgres_database, postgres_server_url
from tests.faults import registration_body
from tests.harness import unique_login
from tests.stack import Stack, running_stack
from tests.test_company_api import _bind, _cabinet

# Small enough for CI (seconds on 2 cores), large enough to hit every operation with
# positive and negative data; a longer hunt is `st run ... --max-examples 1000` by hand.
MAX_EXAMPLES = 30
# positive_data_acceptance: the schema cannot say that a captcha answer, a token or a
# registration handle must be one the server issued, so schema-valid data is rightly
# refused with 4xx there.
# ensure_resource_availability: a captcha challenge is one-time by design: the stateful
# phase links POST /captcha → POST /session or /registrations (which consume it) → GET
# its image, and the 404 is the promise kept (test_a_new_captcha_image_can_be_fetched
# checks the image of an unconsumed challenge). Every other check runs.
EXCLUDED_CHECKS = "positive_data_acceptance,ensure_resource_availability"


@pytest.fixture(scope="module", params=DB_BACKENDS)
def fuzz_db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Both databases: PostgreSQL refuses input SQLite takes (NUL in text)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'lkk.db'}"
        return
    with fresh_postgres_database(postgres_server_url() or "") as url:
        yield url


@pytest.fixture(scope="module")
def api(dev_server_env: WorkflowEnvironment, mailsink: MailSinkProcess, fuzz_db_url: str) -> Iterator[Stack]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="development",
        database_url=fuzz_db_url,
        smtp_port=mailsink.smtp_port,
        captcha_test_answer="TEST42",
        temporal_address=dev_server_env.client.service_client.config.target_host,
        temporal_task_queue=f"fuzz-{uuid.uuid4().hex[:8]}",
        # schemathesis sends hundreds of requests from one IP; per-IP limits (tested in
        # tests/test_login.py) would turn the rest of this module into 429s.
        **{name: "100000/minute" for name in Settings.model_fields
           if name.startswith("rate_limit_") and name not in ("rate_limit_storage_uri", "rate_limit_key_prefix")},
    )
    with running_stack(settings) as (front,):
        yield front


def test_schemathesis_every_operation_no_5xx_and_schema_conformance(api: Stack, tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    run = subprocess.run(
        [
            str(BIN / "st"), "run", f"{api.api_url}/openapi.json",
            "--checks", "all", "--exclude-checks", EXCLUDED_CHECKS,
            "--max-examples", str(MAX_EXAMPLES), "--seed", "8", "--generation-database", "none",
            "--generation-allow-x00", "true",  # NUL in strings: PostgreSQL's DataError must never surface
            "--request-timeout", "30", "--workers", "2", "--no-color",
            "--report", "junit", "--report-junit-path", str(report),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-15000:] + run.stderr[-3000:]
    # Every documented operation was exercised (schemathesis exits 0 on an empty schema too).
    schema = httpx.get(f"{api.api_url}/openapi.json").json()
    operations = sum(len(methods) for methods in schema["paths"].values())
    assert operations >= 5
    assert f"Selected: {operations}/{operations}" in run.stdout and f"Tested: {operations}" in run.stdout, run.stdout[-3000:]


def test_schemathesis_company_operations_signed_in(
    api: Stack, mailsink: MailSinkProcess, fuzz_db_url: str, tmp_path: Path
) -> None:
    """The company routes again with a logged-in administrator's cookie, so the calls get
    past the login to the rights checks, the stores and the Invitation workflow."""
    engine = make_engine(fuzz_db_url)
    load_registry(engine)
    code = issue(engine, OPEN_LEGAL[0])
    engine.dispose()
    web, _login, _email = _cabinet(api, mailsink, "fz")
    try:
        _bind(web, OPEN_LEGAL, code)
        invited = web.post(
            "/api/v1/invitations", json={"email": f"{unique_login('fzc')}@example.ru", "contract_numbers": [OPEN_LEGAL[0]]}
        )
        assert invited.status_code == 201, invited.text
        cookie = "; ".join(f"{name}={value}" for name, value in web.cookies.items())
        run = subprocess.run(
            [
                str(BIN / "st"), "run", f"{api.api_url}/openapi.json", "--include-tag", "company",
                "-H", f"Cookie: {cookie}",
                "--checks", "all", "--exclude-checks", EXCLUDED_CHECKS,
                "--max-examples", str(MAX_EXAMPLES), "--seed", "8", "--generation-database", "none",
                "--generation-allow-x00", "true", "--request-timeout", "30", "--workers", "2", "--no-color",
                "--report", "junit", "--report-junit-path", str(tmp_path / "junit.xml"),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0, run.stdout[-15000:] + run.stderr[-3000:]
        paths = httpx.get(f"{api.api_url}/openapi.json").json()["paths"].values()
        company = sum("company" in op.get("tags", []) for methods in paths for op in methods.values())
        assert company >= 8 and f"Tested: {company}" in run.stdout, run.stdout[-3000:]
        # Still logged in and still the contract's administrator after the hunt.
        assert web.get("/api/v1/company").json()["contracts"][0]["role"] == "admin"
    finally:
        web.close()


def test_oversized_bodies_get_413(api: Stack) -> None:
    big = "x" * (api.settings.max_body_bytes + 1)
    with httpx.Client(base_url=api.api_url, timeout=30) as web:
        as_json = web.post("/api/v1/registrations", content=big, headers={"Content-Type": "application/json"})
        assert as_json.status_code == 413 and as_json.json()["detail"] == "Слишком большой запрос."
        as_form = web.post("/register", data={"login": big})
        assert as_form.status_code == 413 and "Слишком большой запрос" in as_form.text

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit counts streamed bytes
            for _ in range(api.settings.max_body_bytes // 4096 + 2):
                yield b"a" * 4096

        streamed = web.post("/api/v1/confirmations", content=chunks(), headers={"Content-Type": "application/json"})
        assert streamed.status_code == 413


def test_malformed_json_and_wrong_content_types_get_clear_4xx(api: Stack) -> None:
    with httpx.Client(base_url=api.api_url, timeout=30) as web:
        broken = web.post("/api/v1/registrations", content=b'{"login": ', headers={"Content-Type": "application/json"})
        assert broken.status_code == 422 and broken.json()["detail"] == "Неверный запрос."
        not_utf8 = web.post("/api/v1/confirmations", content=b'{"token": "\xff\xfe"}', headers={"Content-Type": "application/json"})
        assert not_utf8.status_code == 400 and "JSON" in not_utf8.json()["detail"]
        form_to_json_api = web.post("/api/v1/registrations", data=registration_body(unique_login("ct")))
        assert form_to_json_api.status_code in (415, 422), form_to_json_api.text
        assert "detail" in form_to_json_api.json()
        xml = web.post("/api/v1/confirmations", content=b"<token/>", headers={"Content-Type": "application/xml"})
        assert xml.status_code in (415, 422)
        wrong_types = web.post("/api/v1/registrations", json={"login": ["a"], "email": 5, "password": None})
        assert wrong_types.status_code == 422
        assert set(wrong_types.json()["errors"]) >= {"login", "email", "password"}
        assert "None" not in wrong_types.text  # field names only, never echoed values


def test_malformed_forms_get_a_russian_page_not_a_500(api: Stack) -> None:
    with httpx.Client(base_url=api.api_url, timeout=30) as web:
        garbage = web.post(
            "/register", content=b"\xff\xfe%%%&&&=\x00", headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert 400 <= garbage.status_code < 500 and "text/html" in garbage.headers["content-type"]
        multipart_lies = web.post(
            "/register", content=b"--x\r\nnot a part", headers={"Content-Type": "multipart/form-data; boundary=x"}
        )
        assert 400 <= multipart_lies.status_code < 500
        json_to_form = web.post("/confirm", json={"token": "abc"})
        assert 400 <= json_to_form.status_code < 500 and "text/html" in json_to_form.headers["content-type"]
        page = web.get("/register")  # a real form: CSRF token and cookie, so validation is what answers
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf, "the form carries a CSRF token"
        nul = web.post(
            "/register",
            data={"login": "a\x00b", "email": "\x00", "password": "\x00" * 10, "csrf_token": csrf.group(1)},
        )
        assert nul.status_code == 422 and "text/html" in nul.headers["content-type"], nul.status_code
        assert "Логин" in nul.text


def test_a_new_captcha_image_can_be_fetched(api: Stack) -> None:
    with httpx.Client(base_url=api.api_url, timeout=30) as web:
        created = web.post("/api/v1/captcha")
        assert created.status_code == 201
        image = web.get(created.json()["image_url"])
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        again = web.get(f"/api/v1/captcha/{created.json()['captcha_id']}.png")
        assert again.status_code == 200, again.text
