"""The one source of truth for configuration.

Every option is an environment variable with the ``LKK_`` prefix; the table in
``docs/configuration.md`` lists them. Defaults describe the embedded stack (one
machine, SQLite, the dev Temporal server, the local SMTP sink).
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "dev-only-secret-key-change-me"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LKK_", env_file=".env", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path("var")
    secret_key: str = Field(default=DEFAULT_SECRET_KEY, repr=False)
    public_base_url: str = "http://127.0.0.1:8000"

    # Database
    database_url: str = "sqlite:///var/lkk.db"

    # Temporal
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "lkk-onboarding"
    temporal_ui_url: str = "http://127.0.0.1:8233"

    # SMTP
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_user: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    smtp_tls: bool = False
    smtp_ssl: bool = False
    smtp_timeout_seconds: float = 10.0
    mail_from_address: str = "noreply@lkk.example.ru"
    mail_from_name: str = "Личный кабинет клиента"

    # Sign-up lifecycle
    signup_ttl_seconds: int = 72 * 3600
    signup_claim_seconds: int = 15 * 60
    resend_cooldown_seconds: int = 60
    max_resends: int = 5

    # Captcha
    captcha_ttl_seconds: int = 10 * 60
    captcha_length: int = 5
    captcha_test_answer: str | None = Field(default=None, repr=False)

    # Passwords (argon2id, OWASP minimum: m=19 MiB, t=2, p=1)
    argon2_memory_kib: int = 19 * 1024
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1
    password_min_length: int = 8
    password_max_length: int = 128

    # Contract binding (codes handed out by the supplier's office; lockouts against guessing)
    billing_code_valid_days: int = 30
    billing_lockout_threshold: int = 5
    billing_lockout_base_seconds: int = 60
    billing_lockout_max_seconds: int = 86400
    billing_lockout_forget_seconds: int = 86400
    # After e-mail confirmation the onboarding workflow waits for the first binding: one
    # reminder e-mail after this long without a contract (7 days)...
    binding_reminder_seconds: int = 7 * 24 * 3600
    # ...and it stops waiting after this long (90 days; a code from the office is valid
    # 30 days, so three issued codes fit). Binding keeps working afterwards.
    binding_wait_seconds: int = 90 * 24 * 3600
    # How long a submitted binding attempt (its code sealed in ``binding_requests``) may
    # wait for the worker before it is void; also how long the form waits for the outcome.
    binding_request_ttl_seconds: int = 60

    # Web sessions
    session_cookie_name: str = "lkk_session"
    session_idle_seconds: int = 30 * 60
    session_absolute_seconds: int = 12 * 3600
    # How long a form's CSRF token (double-submit cookie) stays valid; a form left
    # open longer is shown again with a fresh token.
    csrf_token_seconds: int = 12 * 3600

    # Login guessing: counted per login (known or not, so a lockout reveals nothing),
    # stored in the database so restarts do not reset it.
    login_captcha_after_failures: int = 3
    login_lockout_after_failures: int = 5
    login_lockout_base_seconds: int = 60  # the first lockout; each further failure doubles it
    login_lockout_max_seconds: int = 30 * 60
    login_failure_memory_seconds: int = 24 * 3600  # a quiet day forgets old failures

    # Per-client-IP rate limits (``limits`` notation, several joined by ";").
    # memory:// is per process; with several API replicas point all of them at one
    # Redis, e.g. redis://127.0.0.1:6379/0.
    rate_limit_storage_uri: str = "memory://"
    rate_limit_key_prefix: str = "lkk-rl"  # separates deployments sharing one Redis
    rate_limit_login: str = "30/minute;300/hour"  # every login attempt (bounds argon2 CPU)
    rate_limit_login_failures: str = "10/minute;60/hour"  # failed logins
    rate_limit_register: str = "10/minute;50/hour"
    rate_limit_resend: str = "10/minute;60/hour"
    rate_limit_password_reset: str = "5/minute;30/hour"
    rate_limit_password_change: str = "10/minute;60/hour"
    rate_limit_binding: str = "10/minute;60/hour"  # for the contract binding endpoints

    # Password recovery
    password_reset_ttl_seconds: int = 3600  # the mailed one-time password's lifetime
    password_reset_resend_cooldown_seconds: int = 5 * 60  # repeated requests in between are ignored
    password_reset_max_emails: int = 3  # per recovery (one workflow run)
    password_reset_min_response_ms: int = 400  # answer no faster, so a match is not visible in timing
    one_time_password_length: int = 12  # ~59 bits from a 31-character alphabet
    # Security e-mails (recovery, "password changed"): SMTP trouble is retried this long.
    security_mail_retry_seconds: int = 72 * 3600

    # Supplier branding (the Inter RAO group has several guaranteed suppliers)
    supplier_name: str = "ПАО «Энергосбыт-Пример»"
    supplier_site_url: str = "https://energosbyt.example.ru"
    supplier_helpdesk_phones: list[str] = ["8 800 000-00-00", "+7 (495) 000-00-00"]
    supplier_helpdesk_hours: str = "пн–пт 8:00–20:00, сб 9:00–15:00 (МСК)"
    # Logo shown in the page header: a PNG/SVG/JPEG file on disk, served from our own
    # origin at /branding/logo (the CSP allows images from 'self' only). Unset = the
    # neutral bundled api/static/logo.svg.
    supplier_logo_file: Path | None = None

    # Dev SMTP sink (embedded stack only)
    mailsink_smtp_port: int = 1025
    mailsink_http_port: int = 8025

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def public_base_url_clean(self) -> str:
        return self.public_base_url.rstrip("/")

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> "Settings":
        if not self.is_production:
            return self
        problems: list[str] = []
        if self.captcha_test_answer:
            problems.append("LKK_CAPTCHA_TEST_ANSWER must not be set in production")
        if self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < 32:
            problems.append("LKK_SECRET_KEY must be a random value of at least 32 characters")
        if not self.public_base_url.startswith("https://"):
            problems.append("LKK_PUBLIC_BASE_URL must use https://")
        if self.database_url.startswith("sqlite"):
            problems.append("LKK_DATABASE_URL must point to PostgreSQL, not SQLite")
        if problems:
            raise ValueError("unsafe production settings: " + "; ".join(problems))
        return self


@lru_cache
def get_settings() -> Settings:
    """Settings read once per process from the environment."""
    return Settings()
