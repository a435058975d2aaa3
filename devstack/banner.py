"""Waits until the embedded stack answers, then prints where everything is."""

from __future__ import annotations

import time

import httpx

from lkk.settings import get_settings

CHECKS = {
    "API": "http://127.0.0.1:8000/login",
    "Temporal UI": "http://127.0.0.1:8233/",
    "Mailbox": "http://127.0.0.1:{mail}/livez",
}


def _ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code < 500
    except httpx.HTTPError:
        return False


def main() -> None:
    settings = get_settings()
    urls = {name: url.format(mail=settings.mailsink_http_port) for name, url in CHECKS.items()}
    deadline = time.monotonic() + 120
    while not all(_ready(u) for u in urls.values()) and time.monotonic() < deadline:
        time.sleep(0.5)
    base = settings.public_base_url_clean
    print(
        "\n"
        "  ЛКК onboarding — embedded stack is up (Ctrl-C stops everything)\n"
        f"  Web form (login / sign-up):  {base}/login   {base}/register\n"
        f"  API docs (OpenAPI):          {base}/docs\n"
        f"  Temporal Web UI:             {settings.temporal_ui_url}\n"
        f"  Mailbox (every sent e-mail): http://127.0.0.1:{settings.mailsink_http_port}/\n",
        flush=True,
    )
    while True:  # honcho stops the whole stack when any process exits
        time.sleep(3600)


if __name__ == "__main__":
    main()
