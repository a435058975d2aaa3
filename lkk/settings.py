"""The one source of truth for configuration.

<<<<<<< HEAD
Every option is an environment variable with the ``LKK_`` prefix. Options come in
groups (``SETTING_GROUPS``: Temporal, database, mail, ...), each a small pydantic
model; ``Settings`` inherits them all, so every option is still the flat
``settings.x`` read from ``LKK_X``. Each field's ``description`` is its
documentation: ``docs/configuration.md`` is generated from these classes, one
table per group (``python -m lkkctl.configdoc``), and a test fails when it drifts.
Defaults describe the embedded stack (one machine, SQLite, the dev Temporal server,
the local SMTP sink); ``LKK_ENVIRONMENT=production`` refuses the ones that are
unsafe there and any option of the dev-only group that is set (see
``_refuse_unsafe_production``).
=======
Every option is an environment variable with the ``LKK_`` prefix. Each field's
``description`` is its documentation: ``docs/configuration.md`` is generated from
this class (``python -m lkkctl.configdoc``) and a test fails when it drifts. Defaults
describe the embedded stack (one machine, SQLite, the dev Temporal server, the
local SMTP sink); ``LKK_ENVIRONMENT=production`` refuses the ones that are unsafe
there (see ``_refuse_unsafe_production``).
>>>>>>> tools-pkg

A field marked with ``production_required()`` has no default that is right for a
real deployment: the production compose file must set it (a test checks that).
"""

from __future__ import annotations

import ipaddress
import math
from collections import Counter
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "dev-only-secret-key-change-me"
ENV_PREFIX = "LKK_"

# Marker in a field's json_schema_extra: a deployment must set this variable.
PRODUCTION_REQUIRED = {"production_required": True}


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class LogFormat(StrEnum):
    JSON = "json"
    TEXT = "text"


class SettingsGroup(BaseModel):
    """One group of settings, a mixin of ``Settings``. A group's docstring is its section
    in docs/configuration.md: the first line the title, the paragraph after it the one
    sentence under it."""


class DeploymentSettings(SettingsGroup):
    """Deployment

    What every deployment decides: the mode, the public address, the signing key, and
    how the API and worker processes start and stop.
    """

    # Production unless a process says otherwise: a forgotten variable must not skip the guard.
    environment: Environment = Field(
        default=Environment.PRODUCTION,
        description=(
            "`production` (refuses unsafe settings at start) or `development` (embedded stack: `make` targets, "
            "the Procfile and the tests set it); unset means production."
        ),
        json_schema_extra=PRODUCTION_REQUIRED,
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description=(
            "The cabinet's public address (links in e-mails are built from it, never from the Host header); in production "
            "an `https://` origin without a path, which the shipped Caddyfile also serves as its site address."
        ),
        json_schema_extra=PRODUCTION_REQUIRED,
    )
    secret_key: str = Field(
        default=DEFAULT_SECRET_KEY,
        repr=False,
        description="Signs sign-up handles and other tokens; production needs a random value of at least 32 characters.",
        json_schema_extra=PRODUCTION_REQUIRED,
    )
    data_dir: Path = Field(
        default=Path("var"),
        description="Directory for local data: the guides' font and image caches; the embedded stack's SQLite and dev mailbox.",
    )
    shutdown_drain_seconds: float = Field(
        default=5.0,
        ge=0,
        description=(
            "On SIGTERM the API first answers `/readyz` with 503 and keeps serving this long, so the load balancer takes "
            "it out of rotation before it stops accepting (then in-flight requests get up to 25 s). At least the "
            "balancer's health-check interval plus its timeout (the shipped Caddyfile: 2 s + 3 s). A second signal "
            "stops at once."
        ),
    )
    worker_activity_threads: int = Field(default=32, description="Threads that run the worker's (synchronous) activities.")
    # A pending sign-up sleeps for days on a timer: keeping its run in the worker's
    # memory buys nothing, and a woken run is rebuilt from its (short) history.
    worker_max_cached_workflows: int = Field(
        default=300, description="Workflow runs kept in the worker's memory between tasks (bounds its RSS; evicted runs are replayed when they wake)."
    )
    worker_graceful_shutdown_seconds: float = Field(
        default=30.0, description="On SIGTERM the worker stops polling and gives in-flight activities this long to finish."
    )
    worker_heartbeat_file: Path | None = Field(
        default=None,
        description="If set, the worker touches this file every few seconds while it runs; the container health check reads its age.",
    )

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def is_development(self) -> bool:
        return self.environment is Environment.DEVELOPMENT

    @property
    def public_base_url_clean(self) -> str:
        return self.public_base_url.rstrip("/")


class DatabaseSettings(SettingsGroup):
    """Database

    The app database and its connection pool (the worker and each API replica have their
    own).
    """

    database_url: str = Field(
        default="sqlite:///var/lkk.db",
        description="SQLAlchemy URL of the app database: SQLite for the embedded stack, `postgresql+psycopg://…` in production.",
        json_schema_extra=PRODUCTION_REQUIRED,
    )
    database_pool_size: int = Field(
        default=5,
        description="PostgreSQL connections kept open per process (API replica or worker); mind the server's max_connections.",
    )
    database_max_overflow: int = Field(default=10, description="Extra PostgreSQL connections a process may open under load.")


class TemporalSettings(SettingsGroup):
    """Temporal

    Where the worker and the API find Temporal, how they authenticate, and where support
    staff see the workflows.
    """

    temporal_address: str = Field(
        default="127.0.0.1:7233",
        description="host:port of the Temporal frontend (cluster or Temporal Cloud namespace endpoint).",
        json_schema_extra=PRODUCTION_REQUIRED,
    )
    temporal_namespace: str = Field(
        default="default", description="Temporal namespace.", json_schema_extra=PRODUCTION_REQUIRED
    )
    temporal_task_queue: str = Field(default="lkk-onboarding", description="Task queue the worker polls and the API starts workflows on.")
    temporal_tls: bool = Field(default=False, description="Connect to Temporal over TLS (always on with an API key or a client certificate).")
    temporal_tls_client_cert_path: Path | None = Field(
        default=None, description="PEM client certificate for mTLS to Temporal (Temporal Cloud or a TLS cluster)."
    )
    temporal_tls_client_key_path: Path | None = Field(default=None, description="PEM private key of that client certificate.")
    temporal_api_key: str | None = Field(default=None, repr=False, description="Temporal Cloud API key (instead of mTLS).")
    temporal_allow_plaintext: bool = Field(
        default=False,
        description="Production only: allow a Temporal frontend without TLS on a trusted network (e.g. the compose stack's).",
    )
    temporal_ui_url: str = Field(default="http://127.0.0.1:8233", description="Temporal Web UI address shown to support staff.")
    temporal_connect_wait_seconds: float = Field(
        default=60.0,
        description=(
            "How long the worker keeps retrying the first connection to Temporal at start. The API does not wait: "
            "it serves login and the Profile at once and connects in the background."
        ),
    )


class MailSettings(SettingsGroup):
    """Mail (SMTP)

    The relay the worker hands the cabinet's e-mails to, and their sender.
    """

    smtp_host: str = Field(default="127.0.0.1", description="SMTP relay host.", json_schema_extra=PRODUCTION_REQUIRED)
    smtp_port: int = Field(default=1025, description="SMTP relay port.", json_schema_extra=PRODUCTION_REQUIRED)
    smtp_user: str | None = Field(default=None, description="SMTP login (unset: no authentication).")
    smtp_password: str | None = Field(default=None, repr=False, description="SMTP password.")
    smtp_tls: bool = Field(default=False, description="Use STARTTLS.")
    smtp_ssl: bool = Field(default=False, description="Use implicit TLS (SMTPS, usually port 465).")
    smtp_allow_plaintext: bool = Field(
        default=False,
        description="Production only: allow an unencrypted relay on a trusted network (e.g. the compose Mailpit stand-in); never with SMTP credentials.",
    )
    smtp_timeout_seconds: float = Field(default=10.0, description="SMTP connect/read timeout; a timeout is retried by the workflow.")
    mail_from_address: str = Field(
        default="noreply@lkk.example.ru", description="Sender address of the cabinet's e-mails.", json_schema_extra=PRODUCTION_REQUIRED
    )
    mail_from_name: str = Field(default="Личный кабинет клиента", description="Sender name of the cabinet's e-mails.")


class WebSettings(SettingsGroup):
    """Web and sessions

    Login sessions, form tokens and what the API accepts from the network in front of
    it.
    """

    session_cookie_name: str = Field(
        default="lkk_session", description="Name of the login session cookie (with the `__Host-` prefix when the public URL is https)."
    )
    session_idle_seconds: int = Field(default=30 * 60, description="A session ends after this long without requests.")
    session_absolute_seconds: int = Field(default=12 * 3600, description="A session ends this long after login, active or not.")
    csrf_token_seconds: int = Field(
        default=12 * 3600,
        description="How long a form's CSRF token stays valid; a form left open longer is shown again with a fresh one.",
    )
    # The edge: which peers may tell us the client's address (X-Forwarded-For).
    trusted_proxies: str = Field(
        default="",
        description=(
            "Comma-separated addresses/CIDRs of the reverse proxies in front of the API (e.g. `172.30.0.0/24`). "
            "The client address is the right-most X-Forwarded-For entry not added by one of them; "
            "empty = the header is ignored and the socket peer is the client. Never `*`."
        ),
    )
    # Request bodies larger than this are refused with 413 before any parsing (forms and
    # JSON here are a few hundred bytes; a megabyte-sized body is an attack or a mistake).
    max_body_bytes: int = Field(default=64 * 1024, description="Largest accepted request body in bytes; larger ones get 413.")

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_proxies(cls, value: str) -> str:
        # uvicorn would quietly treat a typo as a literal host name that never matches.
        for item in split_proxies(value):
            ipaddress.ip_network(item, strict=False)
        return value

    @property
    def trusted_proxy_list(self) -> list[str]:
        return split_proxies(self.trusted_proxies)


class SupplierSettings(SettingsGroup):
    """Supplier branding

    The guaranteed supplier whose cabinet this is (the Inter RAO group has several):
    shown on pages, in e-mails and in the guides.
    """

    supplier_name: str = Field(default="ПАО «Энергосбыт-Пример»", description="Supplier's name on pages and in e-mails.")
    supplier_site_url: str = Field(default="https://energosbyt.example.ru", description="Supplier's public site.")
    supplier_helpdesk_phones: list[str] = Field(
        default=["8 800 000-00-00", "+7 (495) 000-00-00"], description="Help desk phones (JSON list in the variable)."
    )
    supplier_helpdesk_hours: str = Field(default="пн–пт 8:00–20:00, сб 9:00–15:00 (МСК)", description="Help desk hours.")
    # A written way to the help desk for people who cannot phone (deaf, hard of hearing, speech).
    supplier_helpdesk_email: str = Field(
        default="lkk-support@energosbyt.example.ru",
        description="Help desk e-mail address, shown on /support and in every page's footer (for people who cannot phone).",
    )
    supplier_helpdesk_form_url: str | None = Field(
        default=None, description="Optional web form of the help desk (https://…), shown beside the e-mail address; unset = none."
    )
    supplier_logo_file: Path | None = Field(
        default=None,
        description="Logo in the page header: a PNG/SVG/JPEG file served at /branding/logo (CSP allows 'self' only); unset = the bundled neutral logo.",
    )


class OnboardingSettings(SettingsGroup):
    """Sign-up and onboarding

    How long each step of sign-up, e-mail confirmation and contract binding may take;
    the guides quote these values.
    """

    signup_ttl_seconds: int = Field(
        default=72 * 3600, description="An unconfirmed sign-up is deleted after this long (frees login and e-mail)."
    )
    signup_expiry_jitter_seconds: int = Field(
        default=0,
        ge=0,
        le=24 * 3600,
        description=(
            "Each sign-up lives signup_ttl_seconds plus a random 0..this many seconds, so sign-ups created in one "
            "burst (a batch import) do not all expire at the same moment and stall the worker. 0: registrations "
            "through the API are paced by the password hash, so their deadlines are spread already; set e.g. 900 "
            "before a bulk import. Never shortens the link's quoted lifetime."
        ),
    )
    signup_claim_seconds: int = Field(
        default=15 * 60, description="Short reservation of login and e-mail until the onboarding workflow has started."
    )
    resend_cooldown_seconds: int = Field(default=60, description="Minimum pause between two resends of the confirmation e-mail.")
    max_resends: int = Field(default=5, description="How many times the confirmation e-mail may be resent.")
    binding_reminder_seconds: int = Field(
        default=7 * 24 * 3600,
        description="After e-mail confirmation, one reminder e-mail is sent after this long without a bound contract.",
    )
    binding_wait_seconds: int = Field(
        default=90 * 24 * 3600,
        description=(
            "The onboarding workflow stops waiting for the first contract after this long "
            "(three 30-day codes fit); binding keeps working afterwards."
        ),
    )
    binding_request_ttl_seconds: int = Field(
        default=60,
        description="How long a submitted binding attempt (its code sealed in the DB) may wait for the worker; also the form's wait.",
    )
    # Binding codes are handed out by the supplier's office against ID.
    billing_code_valid_days: int = Field(default=30, description="Validity of a binding code issued by `lkk billing issue-code`.")


class CompanySettings(SettingsGroup):
    """Company accounts

    Colleagues invited to a contract (``lkk.company``): how long an invitation lives,
    how often its letter may be re-sent, and the limits that keep one administrator
    from flooding addresses or a contract from growing without bound.
    """

    invitation_ttl_seconds: int = Field(
        default=72 * 3600, description="An invitation not accepted within this long expires (its link stops working)."
    )
    invitation_resend_cooldown_seconds: int = Field(
        default=60, description="Minimum pause between two re-sends of an invitation letter."
    )
    invitation_max_resends: int = Field(default=5, description="How many times one invitation letter may be re-sent.")
    max_users_per_contract: int = Field(
        default=20, description="Users with access to one contract, pending invitations to it included."
    )
    max_pending_invitations_per_admin: int = Field(
        default=20, description="Pending invitations one administrator may have at a time."
    )
    max_invitations_per_hour_per_admin: int = Field(
        default=10, description="Invitations one administrator may send in any 60 minutes."
    )
    audit_page_size: int = Field(default=20, description="Entries per page of «Журнал действий».")


class PasswordSettings(SettingsGroup):
    """Passwords and recovery

    Password hashing, accepted lengths and the e-mailed one-time password of password
    recovery.
    """

    # Passwords (argon2id, OWASP minimum: m=19 MiB, t=2, p=1)
    argon2_memory_kib: int = Field(default=19 * 1024, description="argon2id memory cost in KiB (OWASP minimum 19 MiB).")
    argon2_time_cost: int = Field(default=2, description="argon2id iterations (OWASP minimum 2 at 19 MiB).")
    argon2_parallelism: int = Field(default=1, description="argon2id lanes.")
    argon2_max_concurrent: int = Field(
        default=0,
        ge=0,
        description="argon2id computations at once per process; more wait their turn (0 = one per CPU core). "
        "Bounds memory under a login flood (19 MiB each) and keeps cores from thrashing between hashes.",
    )
    password_min_length: int = Field(default=8, description="Shortest accepted password.")
    password_max_length: int = Field(default=128, description="Longest accepted password.")
    password_reset_ttl_seconds: int = Field(default=3600, description="Lifetime of the mailed one-time password.")
    password_reset_resend_cooldown_seconds: int = Field(
        default=5 * 60, description="Repeated recovery requests within this time send no new e-mail."
    )
    password_reset_max_emails: int = Field(default=3, description="Recovery e-mails per recovery (one workflow run).")
    password_reset_min_response_ms: int = Field(
        default=400, description="The recovery form answers no faster than this, so a match is not visible in timing."
    )
    one_time_password_length: int = Field(default=12, description="Length of the mailed one-time password (31-character alphabet).")
    security_mail_retry_seconds: int = Field(
        default=72 * 3600, description="Security e-mails (recovery, password changed): SMTP trouble is retried this long."
    )


class SecurityLimitSettings(SettingsGroup):
    """Security limits

    Captcha, lockouts and per-address rate limits against guessing and floods.
    """

    captcha_ttl_seconds: int = Field(default=10 * 60, description="Lifetime of an image captcha challenge.")
    captcha_length: int = Field(default=5, description="Characters in a captcha image.")
    captcha_pow_max_number: int = Field(
        default=100_000,
        ge=1000,
        description="Search space of the no-picture check («Не могу прочитать код», a SHA-256 proof of work): "
        "the browser tries half of it on average, about a second on a phone.",
    )
    # Contract binding: lockouts against guessing codes.
    billing_lockout_threshold: int = Field(
        default=5, description="Failed binding attempts (per contract and per account) before a lockout."
    )
    billing_lockout_base_seconds: int = Field(default=60, description="The first binding lockout; each further failure doubles it.")
    billing_lockout_max_seconds: int = Field(default=86400, description="The longest binding lockout.")
    billing_lockout_forget_seconds: int = Field(
        default=86400, description="A quiet period this long forgets old binding failures."
    )
    # Login guessing: counted per login (known or not, so a lockout reveals nothing),
    # stored in the database so restarts do not reset it.
    login_captcha_after_failures: int = Field(default=3, description="Failed logins after which the login form asks for the captcha.")
    login_lockout_after_failures: int = Field(default=5, description="Failed logins after which the login is locked.")
    login_lockout_base_seconds: int = Field(default=60, description="The first lockout; each further failure doubles it.")
    login_lockout_max_seconds: int = Field(default=30 * 60, description="The longest lockout.")
    login_failure_memory_seconds: int = Field(default=24 * 3600, description="A quiet period this long forgets old failures.")
    purge_interval_seconds: int = Field(
        default=3600,
        description="How often the worker's Temporal Schedule purges stale login-throttle rows and binding counters.",
    )
    # Per-client-IP rate limits (``limits`` notation, several joined by ";").
    rate_limit_storage_uri: str = Field(
        default="memory://",
        description="Where rate-limit counters live: memory:// is per process; with several API replicas point all at one Redis, e.g. redis://redis:6379/0.",
        json_schema_extra=PRODUCTION_REQUIRED,
    )
    rate_limit_key_prefix: str = Field(default="lkk-rl", description="Prefix of rate-limit keys; separates deployments sharing one Redis.")
    rate_limit_login: str = Field(default="30/minute;300/hour", description="Per-IP limit on every login attempt (bounds argon2 CPU).")
    rate_limit_login_failures: str = Field(default="10/minute;60/hour", description="Per-IP limit on failed logins.")
    rate_limit_register: str = Field(default="10/minute;50/hour", description="Per-IP limit on sign-ups.")
    rate_limit_resend: str = Field(default="10/minute;60/hour", description="Per-IP limit on confirmation resends.")
    rate_limit_registration_status: str = Field(
        default="30/minute;600/hour", description="Per-IP limit on reading a sign-up's state (POST /api/v1/registrations/status)."
    )
    rate_limit_password_reset: str = Field(default="5/minute;30/hour", description="Per-IP limit on password recovery requests.")
    rate_limit_password_change: str = Field(default="10/minute;60/hour", description="Per-IP limit on password changes.")
    rate_limit_binding: str = Field(default="10/minute;60/hour", description="Per-IP limit on contract binding attempts.")
    rate_limit_invitations: str = Field(
        default="10/minute;60/hour",
        description="Per-IP limit on sending, re-sending and accepting invitations to a contract (accepting may create an account).",
    )
    rate_limit_captcha: str = Field(
        default="30/minute;300/hour", description="Per-IP limit on new captcha challenges (pages with a code and POST /api/v1/captcha)."
    )
    rate_limit_captcha_image: str = Field(default="60/minute;600/hour", description="Per-IP limit on captcha picture fetches.")


class ObservabilitySettings(SettingsGroup):
    """Observability

    Logs and the worker's Prometheus metrics.
    """

    log_level: str = Field(default="INFO", description="Python log level of the API and the worker.")
    log_format: LogFormat = Field(
        default=LogFormat.JSON,
        description='Log lines: "json" (one object per line, with the workflow id; for log shippers) or "text" (a terminal).',
    )
    # Two metrics endpoints because the Temporal SDK's exporter (Rust core) cannot serve
    # prometheus_client counters.
    worker_metrics_bind: str | None = Field(
        default=None, description='Worker: serve Temporal SDK metrics for Prometheus on "host:port"; unset = off.'
    )
    worker_app_metrics_bind: str | None = Field(
        default=None,
        description='Worker: serve its business counters (expired sign-ups, e-mails) on "host:port"; unset = off.',
    )


class DevOnlySettings(SettingsGroup):
    """Development and tests only

    Hooks of the embedded stack and the test suite; production refuses to start while
    any of them is set.
    """

    captcha_test_answer: str | None = Field(
        default=None, repr=False, description="Automated tests only: an answer that always passes. Refused in production."
    )
    # TEST ONLY (fault suite): lets a test kill the API "in the middle" of a registration.
    fault_pause_after_reserve_seconds: float = Field(
        default=0.0,
        description="TEST ONLY: the API sleeps this long between reserving a sign-up and starting its workflow (fault tests). Refused in production.",
    )
    mailsink_smtp_port: int = Field(default=1025, description="Embedded stack only: SMTP port of the dev mail sink.")
    mailsink_http_port: int = Field(default=8025, description="Embedded stack only: web/JSON port of the dev mail sink.")


# Pydantic collects a class's fields from its last base to its first: the groups are
# listed last-first so that ``Settings.model_fields`` (and the generated doc) run in
# SETTING_GROUPS order. Each group adds plain fields, so ``settings.x`` and ``LKK_X``
# are exactly what they were when all fields sat in this one class.
class Settings(
    DevOnlySettings,
    ObservabilitySettings,
    SecurityLimitSettings,
    PasswordSettings,
    CompanySettings,
    OnboardingSettings,
    SupplierSettings,
    WebSettings,
    MailSettings,
    TemporalSettings,
    DatabaseSettings,
    DeploymentSettings,
    BaseSettings,
):
    # hide_input_in_errors: a refusal must never print the submitted values (secrets).
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", hide_input_in_errors=True)

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> "Settings":
        if not self.is_production:
            return self
        problems = unsafe_production_settings(self)
        if problems:
            raise ValueError("unsafe production settings: " + "; ".join(problems))
        return self


# The groups in documentation order.
SETTING_GROUPS: tuple[type[SettingsGroup], ...] = tuple(
    base for base in reversed(Settings.__bases__) if issubclass(base, SettingsGroup)
)


def dev_only_fields_set(s: Settings) -> list[str]:
    """Dev-only fields given a value (environment, .env or argument), whatever the value:
    an `LKK_CAPTCHA_TEST_ANSWER=` left in a production env file is a mistake too."""
    return [name for name in DevOnlySettings.model_fields if name in s.model_fields_set]


def unsafe_production_settings(s: Settings) -> list[str]:
    """Why these settings must not run in production (empty list: fine)."""
    problems: list[str] = []
    problems.extend(
        f"{env_name(name)} is for the embedded stack and tests only and must not be set in production"
        for name in dev_only_fields_set(s)
    )
    if s.secret_key == DEFAULT_SECRET_KEY or len(s.secret_key) < 32 or not _looks_random(s.secret_key):
        problems.append("LKK_SECRET_KEY must be a random value of at least 32 characters")
    if not s.public_base_url.startswith("https://"):
        problems.append("LKK_PUBLIC_BASE_URL must use https://")
    elif not _is_origin(s.public_base_url):
        # The Caddyfile serves this very value as its site address: a path there would
        # route only that path, so both must be a bare origin.
        problems.append("LKK_PUBLIC_BASE_URL must be an origin like https://lkk.example.ru (no path, not even a trailing /)")
    if s.database_url.startswith("sqlite"):
        problems.append("LKK_DATABASE_URL must point to PostgreSQL, not SQLite")
    encrypted_smtp = s.smtp_tls or s.smtp_ssl
    if s.smtp_user and not encrypted_smtp:
        problems.append("SMTP credentials must not travel unencrypted: set LKK_SMTP_TLS or LKK_SMTP_SSL")
    elif not encrypted_smtp and not _is_loopback(s.smtp_host) and not s.smtp_allow_plaintext:
        problems.append(
            "LKK_SMTP_HOST is a remote relay without TLS: set LKK_SMTP_TLS/LKK_SMTP_SSL "
            "(or LKK_SMTP_ALLOW_PLAINTEXT=true for a relay on a trusted network)"
        )
    if s.rate_limit_storage_uri.strip().lower().startswith("memory://"):
        problems.append("LKK_RATE_LIMIT_STORAGE_URI must be shared by all API replicas (e.g. redis://...), not memory://")
    temporal_tls = s.temporal_tls or bool(s.temporal_api_key) or bool(s.temporal_tls_client_cert_path)
    if not temporal_tls and not _is_loopback(_host_of(s.temporal_address)) and not s.temporal_allow_plaintext:
        problems.append(
            "LKK_TEMPORAL_ADDRESS is a remote frontend without TLS: set LKK_TEMPORAL_TLS (or an API key/client "
            "certificate), or LKK_TEMPORAL_ALLOW_PLAINTEXT=true for a frontend on a trusted network"
        )
    if bool(s.temporal_tls_client_cert_path) != bool(s.temporal_tls_client_key_path):
        problems.append("LKK_TEMPORAL_TLS_CLIENT_CERT_PATH and LKK_TEMPORAL_TLS_CLIENT_KEY_PATH go together")
    return problems


# A secret key must measure at least this much entropy (character frequencies times
# length): 32 random base64url characters measure 125+ bits, 32 random hex digits 94+
# (in 20,000 draws), "k" * 48 measures 0. It catches placeholders, not every weak key.
MIN_SECRET_KEY_BITS = 80


def _looks_random(key: str) -> bool:
    """Shannon entropy of the key's characters times its length, and not a repeated unit."""
    counts = Counter(key)
    per_char = -sum(n / len(key) * math.log2(n / len(key)) for n in counts.values())
    repeated = (key + key).find(key, 1) < len(key)  # "abcabc…": a short unit repeated
    return per_char * len(key) >= MIN_SECRET_KEY_BITS and not repeated


def _is_origin(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.hostname) and not (parts.path or parts.query or parts.fragment or parts.username)


def _host_of(address: str) -> str:
    host = address.rsplit(":", 1)[0] if address.count(":") == 1 or address.startswith("[") else address
    return host.strip("[]")


def split_proxies(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def env_name(field_name: str) -> str:
    return f"{ENV_PREFIX}{field_name.upper()}"


def production_required_fields() -> list[str]:
    """Fields a real deployment must set explicitly (their defaults fit one dev machine only)."""
    return [
        name
        for name, field in Settings.model_fields.items()
        if isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get("production_required")
    ]


@lru_cache
def get_settings() -> Settings:
    """Settings read once per process from the environment."""
    return Settings()

