"""Business and HTTP metrics (Prometheus, ``prometheus_client``'s default registry).

The API serves them at ``/metrics``; the worker serves the counters its activities
touch on ``LKK_WORKER_APP_METRICS_BIND``. Temporal SDK metrics (task latencies,
failures) come from the SDK's own exporter on ``LKK_WORKER_METRICS_BIND``.

Labels hold only bounded, non-personal values (route templates, outcomes): never a
login, e-mail, token or a raw URL with its query string.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

# --- onboarding ------------------------------------------------------------------

SIGNUPS_STARTED = Counter("lkk_signups_started", "Sign-ups whose onboarding workflow was started (API).")
SIGNUPS_CONFIRMED = Counter("lkk_signups_confirmed", "E-mail confirmations that activated an account (API).")
SIGNUPS_EXPIRED = Counter(
    "lkk_signups_expired", "Unconfirmed sign-ups deleted at the end of their lifetime (worker activity)."
)
CONFIRMATION_EMAILS = Counter(
    "lkk_confirmation_emails",
    "Confirmation e-mail attempts by outcome (worker activity): sent, tempfail (retried), rejected (5xx).",
    ["outcome"],
)
# Incremented by the contract-binding and login code (issues 3 and 5).
CONTRACT_BINDINGS = Counter("lkk_contract_bindings", "Supply contracts bound to a cabinet.")
LOGIN_LOCKOUTS = Counter("lkk_login_lockouts", "Accounts locked after too many failed logins.")

# --- degraded operation (docs/deployment.md, "When Temporal is down") ---------------

TEMPORAL_UP = Gauge("lkk_api_temporal_up", "1 while this API replica reaches Temporal, 0 while it does not (alert on 0).")
PASSWORD_RESETS_PARKED = Counter(
    "lkk_password_resets_parked", "Recovery requests parked because Temporal was unreachable (started later by the API)."
)

# --- HTTP ----------------------------------------------------------------------------

HTTP_REQUESTS = Counter(
    "lkk_http_requests", "HTTP requests served by the API.", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "lkk_http_request_duration_seconds",
    "Time to answer an HTTP request (argon2 hashing makes sign-up and login the slow ones).",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def serve(bind: str) -> None:
    """Serve the default registry on ``host:port`` from a daemon thread (the worker)."""
    host, _, port = bind.rpartition(":")
    start_http_server(int(port), addr=host or "0.0.0.0")
