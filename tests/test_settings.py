"""Production mode refuses unsafe settings and any dev-only one; every setting is
documented, one table per settings group."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys

import pytest
from pydantic import ValidationError

from lkkctl import configdoc
from lkk.settings import (
    DEFAULT_SECRET_KEY,
    SETTING_GROUPS,
    DevOnlySettings,
    Settings,
    env_name,
    production_required_fields,
)
from tests.conftest import ROOT

SAFE_PRODUCTION = {
    "environment": "production",
    "secret_key": "q7Hn2vXk9LwZt4RbY8sMc3JfUe6PaD1gWo5NhTiKrVxBl0CyEz",
    "public_base_url": "https://lkk.energosbyt.example.ru",
    "database_url": "postgresql+psycopg://lkk:secret@db.internal:5432/lkk",
    "temporal_address": "temporal.internal:7233",
    "temporal_tls": True,
    "smtp_host": "relay.internal",
    "smtp_port": 587,
    "smtp_tls": True,
    "smtp_user": "lkk",
    "smtp_password": "relay-secret",
    "rate_limit_storage_uri": "redis://redis.internal:6379/0",
}


def production(**overrides: object) -> Settings:
    return Settings(_env_file=None, **{**SAFE_PRODUCTION, **overrides})  # type: ignore[arg-type]


def refusal(**overrides: object) -> str:
    with pytest.raises(ValidationError) as refused:
        production(**overrides)
    return str(refused.value)


def test_safe_production_settings_start() -> None:
    assert production().is_production


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"captcha_test_answer": "TEST42"}, "LKK_CAPTCHA_TEST_ANSWER"),
        ({"secret_key": DEFAULT_SECRET_KEY}, "LKK_SECRET_KEY"),
        ({"secret_key": "short-but-not-default"}, "LKK_SECRET_KEY"),
        ({"public_base_url": "http://lkk.energosbyt.example.ru"}, "LKK_PUBLIC_BASE_URL"),
        # Caddy serves this value as its site address: a path would route only that path.
        ({"public_base_url": "https://lkk.energosbyt.example.ru/"}, "must be an origin"),
        ({"public_base_url": "https://lkk.energosbyt.example.ru/lkk"}, "must be an origin"),
        ({"public_base_url": "https://user@lkk.energosbyt.example.ru"}, "must be an origin"),
        ({"database_url": "sqlite:///var/lkk.db"}, "LKK_DATABASE_URL"),
        ({"smtp_tls": False}, "SMTP credentials must not travel unencrypted"),
        ({"smtp_tls": False, "smtp_user": None, "smtp_password": None}, "LKK_SMTP_HOST is a remote relay without TLS"),
        ({"temporal_tls_client_cert_path": "/run/secrets/temporal.pem"}, "go together"),
        ({"rate_limit_storage_uri": "memory://"}, "LKK_RATE_LIMIT_STORAGE_URI"),
        ({"rate_limit_storage_uri": "MEMORY://"}, "LKK_RATE_LIMIT_STORAGE_URI"),
        ({"rate_limit_storage_uri": "Memory://"}, "LKK_RATE_LIMIT_STORAGE_URI"),
        ({"secret_key": "k" * 48}, "LKK_SECRET_KEY"),
        ({"secret_key": "abcd" * 12}, "LKK_SECRET_KEY"),
        ({"secret_key": "a" * 40 + "bcdefgh"}, "LKK_SECRET_KEY"),
        ({"temporal_tls": False}, "LKK_TEMPORAL_ADDRESS is a remote frontend without TLS"),
        ({"temporal_tls": False, "temporal_address": "10.0.0.5:7233"}, "LKK_TEMPORAL_ADDRESS"),
    ],
)
def test_production_refuses(overrides: dict[str, object], complaint: str) -> None:
    assert complaint in refusal(**overrides)


def test_production_lists_every_problem_at_once() -> None:
    message = refusal(secret_key=DEFAULT_SECRET_KEY, database_url="sqlite:///x.db", captcha_test_answer="X")
    assert all(name in message for name in ("LKK_SECRET_KEY", "LKK_DATABASE_URL", "LKK_CAPTCHA_TEST_ANSWER"))


def test_plaintext_smtp_is_allowed_only_without_credentials_or_on_loopback() -> None:
    no_auth = {"smtp_tls": False, "smtp_user": None, "smtp_password": None}
    assert production(**no_auth, smtp_allow_plaintext=True).smtp_allow_plaintext
    assert production(**no_auth, smtp_host="127.0.0.1").smtp_host == "127.0.0.1"  # a local MTA
    assert production(**no_auth, smtp_host="localhost").smtp_host == "localhost"
    assert production(smtp_tls=False, smtp_ssl=True, smtp_port=465).smtp_ssl
    assert "unencrypted" in refusal(smtp_tls=False, smtp_allow_plaintext=True)  # never with a password


def test_development_defaults_are_accepted() -> None:
    settings = Settings(_env_file=None, environment="development")  # type: ignore[call-arg]
    assert not settings.is_production and settings.database_url.startswith("sqlite")


def test_an_unset_environment_runs_the_production_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only an explicit `development` skips the guard; a forgotten variable does not."""
    monkeypatch.delenv("LKK_ENVIRONMENT", raising=False)
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None)  # type: ignore[call-arg]
    assert "unsafe production settings" in str(refused.value)


def test_a_local_or_encrypted_temporal_connection_passes() -> None:
    plain = {"temporal_tls": False}
    assert production(**plain, temporal_address="127.0.0.1:7233").temporal_address == "127.0.0.1:7233"
    assert production(**plain, temporal_address="localhost:7233").temporal_address == "localhost:7233"
    assert production(**plain, temporal_address="[::1]:7233").temporal_address == "[::1]:7233"
    assert production(**plain, temporal_api_key="cloud-key").temporal_api_key == "cloud-key"
    assert production(**plain, temporal_allow_plaintext=True).temporal_allow_plaintext  # a trusted network


def test_random_secret_keys_pass_the_entropy_check() -> None:
    for _ in range(200):
        assert production(secret_key=secrets.token_hex(16)).is_production
        assert production(secret_key=secrets.token_urlsafe(32)).is_production


@pytest.mark.parametrize("value", ["*", "proxy.example", "10.0.0.0/33", "127.0.0.1, *"])
def test_trusted_proxies_accept_only_addresses_and_networks(value: str) -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, environment="development", trusted_proxies=value)  # type: ignore[call-arg]
    assert Settings(_env_file=None, environment="development", trusted_proxies="127.0.0.1, 10.0.0.0/8, ::1").trusted_proxy_list == [  # type: ignore[call-arg]
        "127.0.0.1", "10.0.0.0/8", "::1"
    ]


@pytest.mark.parametrize("environment", ["production", None], ids=["production", "unset"])
@pytest.mark.parametrize("command", [["-c", "import api.main"], ["worker.py"]])
def test_api_and_worker_refuse_to_start_with_unsafe_production_settings(command: list[str], environment: str | None) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        **({"LKK_ENVIRONMENT": environment} if environment else {}),
        "LKK_SECRET_KEY": "hunter2-too-short",
        "LKK_SMTP_PASSWORD": "relay-password-xyz",
    }
    started = subprocess.run([sys.executable, *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert started.returncode != 0
    assert "unsafe production settings" in started.stderr and "LKK_SECRET_KEY" in started.stderr
    for secret in ("hunter2-too-short", "relay-password-xyz"):
        assert secret not in started.stderr  # the refusal never echoes a secret


def test_every_setting_has_a_description() -> None:
    missing = [env_name(name) for name, field in Settings.model_fields.items() if not (field.description or "").strip()]
    assert missing == []


def test_configuration_doc_is_generated_from_the_settings() -> None:
    """docs/configuration.md drifts the moment a setting changes: regenerate it with
    `python -m lkkctl.configdoc --write`."""
    assert configdoc.DOC_PATH.read_text(encoding="utf-8") == configdoc.render()


def test_configuration_doc_has_one_row_per_setting() -> None:
    rows = [line for line in configdoc.render().splitlines() if line.startswith("| `LKK_")]
    assert [row.split("`")[1] for row in rows] == [env_name(name) for name in Settings.model_fields]
    required = [row for row in rows if "Required in production" in row]
    assert len(required) == len(production_required_fields())


def test_every_setting_is_in_exactly_one_group_and_groups_run_in_order() -> None:
    grouped = [name for group in SETTING_GROUPS for name in group.model_fields]
    assert grouped == list(Settings.model_fields)  # each once, in group order
    assert SETTING_GROUPS[-1] is DevOnlySettings


def test_configuration_doc_has_one_titled_table_per_group_in_order() -> None:
    doc = configdoc.render()
    sections = re.findall(r"^## (.+)\n\n(.+)\n\n\| variable \|", doc, flags=re.MULTILINE)
    assert sections == [configdoc.group_doc(group) for group in SETTING_GROUPS]
    for title, sentence in sections:
        assert title and sentence.endswith(".") and "\n" not in sentence
    for group, chunk in zip(SETTING_GROUPS, doc.split("\n## ")[1:], strict=True):
        assert re.findall(r"^\| `(LKK_\w+)`", chunk, flags=re.MULTILINE) == [env_name(n) for n in group.model_fields]


DEV_ONLY_VALUES: dict[str, object] = {
    "captcha_test_answer": "TEST42",
    "fault_pause_after_reserve_seconds": 0.5,
    "mailsink_smtp_port": 1025,  # even its default value: set at all is refused
    "mailsink_http_port": 8025,
}


def test_every_dev_only_setting_has_a_sample_value() -> None:
    assert set(DEV_ONLY_VALUES) == set(DevOnlySettings.model_fields)


@pytest.mark.parametrize("name", sorted(DEV_ONLY_VALUES))
def test_production_refuses_any_dev_only_setting_that_is_set(name: str) -> None:
    message = refusal(**{name: DEV_ONLY_VALUES[name]})
    assert f"{env_name(name)} is for the embedded stack and tests only" in message


@pytest.mark.parametrize("name", sorted(DEV_ONLY_VALUES))
def test_a_dev_only_variable_in_the_environment_stops_production(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in SAFE_PRODUCTION.items():
        monkeypatch.setenv(env_name(key), str(value))
    # Set at all is refused: an empty answer too, a port at its default value too.
    monkeypatch.setenv(env_name(name), "" if name == "captcha_test_answer" else str(DEV_ONLY_VALUES[name]))
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None)  # type: ignore[call-arg]
    assert env_name(name) in str(refused.value)


def test_dev_only_settings_are_accepted_in_development() -> None:
    settings = Settings(_env_file=None, environment="development", **DEV_ONLY_VALUES)  # type: ignore[arg-type]
    assert settings.captcha_test_answer == "TEST42"


def test_production_files_set_no_dev_only_variable() -> None:
    """What docker-compose.yml, the Dockerfile and deploy/ hand the app is production:
    none of it may be a dev-only variable (production would refuse to start)."""
    files = [ROOT / "docker-compose.yml", ROOT / "Dockerfile", *sorted(p for p in (ROOT / "deploy").rglob("*") if p.is_file())]
    dev_only = {env_name(name) for name in DevOnlySettings.model_fields}
    found = {f"{path.relative_to(ROOT)}: {var}" for path in files
             for var in re.findall(r"\bLKK_[A-Z0-9_]+", path.read_text(encoding="utf-8", errors="replace")) if var in dev_only}
    assert found == set()


def test_a_public_origin_with_a_port_passes() -> None:
    assert production(public_base_url="https://lkk.energosbyt.example.ru:8443").is_production
