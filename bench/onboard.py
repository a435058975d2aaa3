"""One simulated customer's onboarding over HTTP: register, wait for the letter, confirm."""

from __future__ import annotations

import itertools
import sys
import time

import aiohttp

from bench.load import Http, Latencies, MailWatcher, closed_loop, open_loop, timed

PASSWORD = "зимний-вечер-2026"


class Onboarder:
    """Closed or open loops of onboardings; latencies go to ``lat`` under ``tag:register``,
    ``tag:mail`` (register → letter in the sink) and ``tag:confirm``. The mail watcher
    runs only inside a loop, so it costs this process no CPU between them."""

    def __init__(self, http: Http, sink_url: str, prefix: str, lat: Latencies, confirmed: list[str]) -> None:
        self.http, self.sink_url, self.prefix, self.lat, self.confirmed = http, sink_url, prefix, lat, confirmed
        self._serial = itertools.count()  # logins stay unique across loops

    async def _one(self, mails: MailWatcher, tag: str) -> bool:
        try:
            return await self._steps(mails, tag)
        except (aiohttp.ClientError, TimeoutError) as err:  # counted as not completed, the loop goes on
            print(f"onboarding failed: {err!r}", file=sys.stderr)
            return False

    async def _steps(self, mails: MailWatcher, tag: str) -> bool:
        login = f"{self.prefix}-{tag}-{next(self._serial)}"
        email = f"{login}@example.ru"
        t0 = time.perf_counter()
        body = {"login": login, "email": email, "password": PASSWORD, "password_confirm": PASSWORD,
                "captcha_id": "", "captcha_answer": "TEST42"}
        r = await timed(self.lat, f"{tag}:register", self.http.post("/api/v1/registrations", json=body))
        if r.status_code != 202:
            print("register failed", r.status_code, r.text[:200], file=sys.stderr)
            return False
        token = await mails.token_for(email)
        self.lat.add(f"{tag}:mail", time.perf_counter() - t0)
        r = await timed(self.lat, f"{tag}:confirm", self.http.post("/api/v1/confirmations", json={"token": token}))
        if r.status_code != 200:
            print("confirm failed", r.status_code, r.text[:200], file=sys.stderr)
            return False
        self.confirmed.append(login)
        return True

    async def loop(self, users: int, duration: float, tag: str) -> tuple[int, float]:
        """Closed loop: (completed, wall seconds)."""
        async with MailWatcher(self.sink_url) as mails:
            return await closed_loop(users, duration, lambda _n: self._one(mails, tag))

    async def open(self, rate: float, duration: float, tag: str) -> tuple[int, int, float]:
        """Open loop at ``rate``/s: (completed, started, wall seconds)."""
        async with MailWatcher(self.sink_url) as mails:
            return await open_loop(rate, duration, lambda _n: self._one(mails, tag))
