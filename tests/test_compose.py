"""docker-compose.yml and the Dockerfile, validated without a Docker engine.

`docker-compose config` (Debian's docker-compose, installed by .ci/run) parses and
resolves the file; the rest checks what the app needs from it: every setting a
deployment must set is set, nothing unknown is set, the values pass production
mode, start order follows the official Temporal shape and the app's migrations.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from typing import Any

import pytest
import yaml

from api.serve import GRACEFUL_SHUTDOWN_SECONDS
from lkk.settings import Settings, env_name, production_required_fields
from tests.conftest import ROOT
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES

COMPOSE = ROOT / "docker-compose.yml"
SECRETS = {
    "LKK_SECRET_KEY": secrets.token_urlsafe(40),
    "LKK_DB_PASSWORD": secrets.token_urlsafe(16),
    "TEMPORAL_DB_PASSWORD": secrets.token_urlsafe(16),
}
APP_SERVICES = ("migrate", "api-1", "api-2", "worker-1", "worker-2")


def docker_compose() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        pytest.fail("docker-compose is not installed: `apt-get install -y docker-compose` (.ci/run does)")
    return found


def compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [docker_compose(), "-f", str(COMPOSE), "--project-directory", str(ROOT), "config"],
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    resolved = compose_config(SECRETS)
    assert resolved.returncode == 0, resolved.stderr
    return dict(yaml.safe_load(resolved.stdout)["services"])


def test_compose_file_is_valid() -> None:
    checked = subprocess.run(
        [docker_compose(), "-f", str(COMPOSE), "--project-directory", str(ROOT), "config", "-q"],
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", **SECRETS},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_secrets_have_no_defaults(missing: str) -> None:
    """A forgotten secret stops `docker-compose up` instead of starting with a guessable one."""
    resolved = compose_config({k: v for k, v in SECRETS.items() if k != missing})
    assert resolved.returncode != 0 and missing in resolved.stderr


def _app_env(service: dict[str, Any]) -> dict[str, str]:
    env = service["environment"]
    return {k: str(v) for k, v in (env.items() if isinstance(env, dict) else (e.split("=", 1) for e in env))}


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_environment_sets_what_production_needs(services: dict[str, Any], name: str) -> None:
    env = _app_env(services[name])
    known = {env_name(field) for field in Settings.model_fields}
    unknown = sorted(k for k in env if k.startswith("LKK_") and k not in known)
    assert unknown == [], f"{name} sets variables the app does not read"
    missing = sorted(env_name(f) for f in production_required_fields() if env_name(f) not in env)
    assert missing == [], f"{name} leaves production-required settings at their dev defaults"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_environment_passes_production_mode(
    services: dict[str, Any], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [k for k in os.environ if k.startswith("LKK_")]:
        monkeypatch.delenv(key)
    for key, value in _app_env(services[name]).items():
        monkeypatch.setenv(key, value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.is_production
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.secret_key == SECRETS["LKK_SECRET_KEY"]


def test_official_temporal_shape(services: dict[str, Any]) -> None:
    images = {name: svc.get("image", "") for name, svc in services.items()}
    assert not any("auto-setup" in image for image in images.values()), "the auto-setup image is deprecated"
    assert images["temporal"].startswith("temporalio/server:")
    assert images["temporal-admin-tools"].startswith("temporalio/admin-tools:")
    assert images["temporal-create-namespace"].startswith("temporalio/admin-tools:")
    assert images["temporal-ui"].startswith("temporalio/ui:")
    assert _app_env(services["temporal"])["DB"] == "postgres12"
    assert "8080" in str(services["temporal-ui"]["ports"])
    assert images["mailpit"].startswith("axllent/mailpit:") and "8025" in str(services["mailpit"]["ports"])


def _after(services: dict[str, Any], name: str) -> dict[str, str]:
    return {dep: spec["condition"] for dep, spec in services[name]["depends_on"].items()}


def test_start_order(services: dict[str, Any]) -> None:
    assert _after(services, "temporal-admin-tools") == {"postgresql": "service_healthy"}
    assert _after(services, "temporal") == {"temporal-admin-tools": "service_completed_successfully"}
    assert _after(services, "temporal-create-namespace") == {"temporal": "service_healthy"}
    assert _after(services, "migrate") == {"lkk-db": "service_healthy"}
    backends = {
        "migrate": "service_completed_successfully",
        "temporal-create-namespace": "service_completed_successfully",
        "mailpit": "service_healthy",
    }
    for name in ("worker-1", "worker-2"):
        assert _after(services, name) == backends
    for name in ("api-1", "api-2"):  # the APIs also share rate-limit counters in Redis
        assert _after(services, name) == {**backends, "redis": "service_healthy"}
    assert set(_after(services, "caddy").values()) == {"service_healthy"}


def test_long_running_services_have_health_checks(services: dict[str, Any]) -> None:
    one_shot = {"temporal-admin-tools", "temporal-create-namespace", "migrate"}
    without = sorted(
        name for name, svc in services.items() if name not in one_shot | {"temporal-ui", "caddy"} and "healthcheck" not in svc
    )
    assert without == []
    assert "/healthz" in str(services["api-1"]["healthcheck"]["test"])
    assert services["migrate"]["command"] == ["python", "-m", "lkkctl", "db", "upgrade"]


def test_data_lives_in_named_volumes() -> None:
    raw = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert {"temporal-db", "lkk-db", "mailpit-data"} <= set(raw["volumes"])
    for name in ("postgresql", "lkk-db"):
        assert any(str(v).startswith(("temporal-db:", "lkk-db:")) for v in raw["services"][name]["volumes"])


def test_namespace_job_registers_the_workflows_search_attributes() -> None:
    script = (ROOT / "deploy" / "temporal" / "create-namespace.sh").read_text(encoding="utf-8")
    listed = re.search(r"for attribute in ([A-Za-z: ]+); do", script)
    assert listed is not None
    assert {pair.split(":")[0] for pair in listed.group(1).split()} == {key.name for key in SEARCH_ATTRIBUTES}
    assert '--type "$type"' in script


def test_dockerfile_is_small_and_unprivileged() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    # A patch release and a Debian release, never a floating tag (issue 17: images pinned).
    assert re.search(r"^FROM python:3\.11\.\d+-slim-[a-z]+$", text, re.M)
    assert "pip install -r requirements.txt" in text and "PIP_NO_CACHE_DIR=1" in text
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    copied = set(re.findall(r"^COPY (?:\S+ )*?(\S+) \./\1$", text, re.M))
    assert {"migrations", "lkk", "api", "workflows", "activities"} <= copied, "every runtime package is in the image"
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".git", ".venv", "var", ".env", "tests"} <= set(ignored)


def test_image_carries_the_guides_sources_and_a_writable_data_dir() -> None:
    """The API builds the guides (PDF and HTML) at start-up from docs/guides and docs/img,
    caching fonts and light screenshots under the data dir, as the unprivileged user."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    copied = set(re.findall(r"^COPY (\S+) \./\1$", text, re.M))
    assert {"docs/guides", "docs/img"} <= copied
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {"!docs/guides", "!docs/img"} <= set(ignored)
    assert re.search(r"chown lkk:lkk /app/var", text)


def test_apis_trust_only_caddys_network_for_the_client_address(services: dict[str, Any]) -> None:
    """X-Forwarded-For counts only from Caddy's range, never from any peer (`*`)."""
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert '"-m", "api.serve"' in dockerfile and "--forwarded-allow-ips" not in dockerfile
    launcher = (ROOT / "api" / "serve.py").read_text(encoding="utf-8")
    assert "proxy_headers=False" in launcher and "forwarded_allow_ips" not in launcher
    raw = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    edge_subnet = raw["networks"]["edge"]["ipam"]["config"][0]["subnet"]
    for name in ("api-1", "api-2"):
        trusted = _app_env(services[name])["LKK_TRUSTED_PROXIES"]
        assert trusted == str(edge_subnet).split(":-", 1)[-1].rstrip("}")
        assert "edge" in services[name]["networks"]
    assert set(services["caddy"]["networks"]) == {"edge"}, "Caddy is the only other peer on the edge network"


def test_shipped_caddyfile_keeps_internal_endpoints_private() -> None:
    text = (ROOT / "deploy" / "caddy" / "Caddyfile").read_text(encoding="utf-8")
    matcher = re.search(r"@internal path ([^\n]+)", text)
    assert matcher, "the Caddyfile names the internal endpoints"
    paths = set(matcher.group(1).split())
    assert {"/docs", "/docs/*", "/redoc", "/redoc/*", "/openapi.json", "/metrics", "/metrics/*"} <= paths
    internal = re.search(r"handle @internal \{\s*respond 404\s*\}", text)
    proxied = text.index("reverse_proxy")
    assert internal and internal.start() < proxied, "answered by Caddy, never proxied to the API"


def _tag(image: str) -> str:
    return image.rsplit(":", 1)[1]


def test_one_temporal_version_for_server_and_schema_tooling(services: dict[str, Any]) -> None:
    """admin-tools carries the schema the server of the same release expects."""
    tags = {_tag(services[name]["image"]) for name in ("temporal", "temporal-admin-tools", "temporal-create-namespace")}
    assert len(tags) == 1, tags
    assert re.fullmatch(r"1\.3[12]\.\d+", tags.pop()), "the 1.31/1.32 line of the dev server the tests run"
    raw = COMPOSE.read_text(encoding="utf-8")
    assert "TEMPORAL_ADMINTOOLS_VERSION" not in raw


def test_images_are_pinned(services: dict[str, Any]) -> None:
    """A floating tag (postgres:16, caddy:2-alpine) changes under a running deployment."""
    floating = sorted(
        svc["image"]
        for svc in services.values()
        if "build" not in svc and not re.fullmatch(r"v?\d+\.\d+(\.\d+)?(-alpine)?", _tag(svc["image"]))
    )
    assert floating == []


def test_history_shard_count_is_chosen_on_purpose(services: dict[str, Any]) -> None:
    """The shard count is fixed when the cluster is created; the image's default (4) is for development."""
    assert int(_app_env(services["temporal"])["NUM_HISTORY_SHARDS"]) >= 128
    assert "never changeable later" in COMPOSE.read_text(encoding="utf-8")


def test_schema_job_fails_on_real_errors() -> None:
    script = (ROOT / "deploy" / "temporal" / "setup-postgres.sh").read_text(encoding="utf-8")
    assert "set -eu" in script
    assert not re.search(r"\|\|\s*(echo|true|:)", script), "a swallowed error lets the server start on a broken schema"
    assert 'grep -q "already exists"' in script, "only an existing database is tolerated"


def test_long_running_services_restart_and_start_gracefully(services: dict[str, Any]) -> None:
    one_shot = {"temporal-admin-tools", "temporal-create-namespace", "migrate"}
    for name, svc in services.items():
        if name not in one_shot:
            assert svc.get("restart") == "unless-stopped", name
        if "healthcheck" in svc:
            assert "start_period" in svc["healthcheck"], f"{name} would count start-up as failures"


def test_caddy_serves_the_public_url_on_80_and_443(services: dict[str, Any]) -> None:
    """ACME's HTTP challenge and the HTTPS redirect need 80; the site is on 443."""
    caddy = services["caddy"]
    published = {(str(p["target"]), str(p.get("published")), p.get("protocol", "tcp")) for p in caddy["ports"]}
    assert {("80", "80", "tcp"), ("443", "443", "tcp")} <= published
    site = _app_env(caddy)["LKK_PUBLIC_BASE_URL"]
    assert all(_app_env(services[name])["LKK_PUBLIC_BASE_URL"] == site for name in APP_SERVICES)
    text = (ROOT / "deploy" / "caddy" / "Caddyfile").read_text(encoding="utf-8")
    assert re.search(r"^\{\$LKK_PUBLIC_BASE_URL(:[^}]*)?\} \{$", text, re.M), "the site address is the public URL"
    global_options = text[text.index("{\n") : text.index("\n}\n")]
    assert not re.search(r"^\s*local_certs\s*$", global_options, re.M), "internal certificates only for localhost or opt-in"


def _seconds(value: str) -> float:
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)", value.strip()).groups()  # type: ignore[union-attr]
    return float(number) * {"ms": 0.001, "s": 1, "m": 60}[unit]


def test_a_stopping_api_drains_long_enough_for_caddy_and_docker(services: dict[str, Any]) -> None:
    """The drain outlasts Caddy's health check (so it stops routing to the replica before
    it stops accepting), and Docker's grace period outlasts drain + in-flight requests
    (or SIGKILL cuts them off)."""
    drain = Settings(_env_file=None).shutdown_drain_seconds  # type: ignore[call-arg]
    caddyfile = (ROOT / "deploy" / "caddy" / "Caddyfile").read_text(encoding="utf-8")
    health = {key: _seconds(value) for key, value in re.findall(r"(health_interval|health_timeout) (\S+)", caddyfile)}
    assert drain >= health["health_interval"] + health["health_timeout"], (drain, health)
    for name in ("api-1", "api-2"):
        grace = _seconds(services[name]["stop_grace_period"])
        assert grace >= drain + GRACEFUL_SHUTDOWN_SECONDS + 2, (name, grace)
