"""The API's connection to Temporal, kept up in the background.

The API starts and serves without Temporal: login, the Profile and the help pages
need only the database. This link connects when it can, checks the frontend's
health every few seconds, and tells the rest of the app whether Temporal is up, so
a step that needs it fails at once with a clear answer instead of hanging on the
SDK's retries. When Temporal comes (back), ``on_up`` runs (e.g. the parked
recovery requests are started).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from temporalio.client import Client

from lkk import metrics
from lkk.settings import Settings
from lkk.temporal import connect, temporal_reachable

log = logging.getLogger(__name__)

CHECK_EVERY_SECONDS = 2.0
CHECK_TIMEOUT_SECONDS = 2.0
# While up, ``on_up`` also runs this often: work parked in a race with an outage.
ON_UP_EVERY_SECONDS = 30.0


class TemporalLink:
    def __init__(self, settings: Settings, on_up: Callable[[], Awaitable[None]] | None = None) -> None:
        self.settings = settings
        self.client: Client | None = None
        self.up = False
        self._on_up = on_up
        self._nudged = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def live_client(self) -> Client | None:
        """The client while Temporal answers; None while it does not."""
        return self.client if self.up else None

    def nudge(self) -> None:
        """Run ``on_up`` at the next healthy check (something was just parked)."""
        self._nudged.set()

    async def start(self, first_try_seconds: float) -> None:
        """One bounded attempt now (so a healthy start is ready at once), then the loop."""
        await self._check(first_try_seconds)
        self._task = asyncio.create_task(self._loop(), name="temporal-link")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        last_on_up = float("-inf")  # parked work from before a restart goes first
        while True:
            try:
                await asyncio.wait_for(self._nudged.wait(), CHECK_EVERY_SECONDS)
            except TimeoutError:
                pass
            was_up = self.up
            await self._check(CHECK_TIMEOUT_SECONDS)
            due = self._nudged.is_set() or not was_up or loop.time() - last_on_up >= ON_UP_EVERY_SECONDS
            if self.up and due and self._on_up is not None:
                self._nudged.clear()
                last_on_up = loop.time()
                try:
                    await self._on_up()
                except Exception:
                    log.exception("work waiting for Temporal could not be started; will retry")

    async def _check(self, timeout: float) -> None:
        was_up = self.up
        if self.client is None:
            try:
                self.client = await asyncio.wait_for(connect(self.settings), timeout)
            except Exception as exc:  # refused, timed out, TLS: all mean "not yet"
                log.debug("Temporal not connected yet (%s)", type(exc).__name__)
        self.up = self.client is not None and await temporal_reachable(self.client, timeout)
        metrics.TEMPORAL_UP.set(1 if self.up else 0)
        if self.up != was_up or (not self.up and self._task is None):
            if self.up:
                log.info("Temporal at %s is reachable", self.settings.temporal_address)
            else:
                log.warning(
                    "Temporal at %s is unreachable: registration, resend and binding answer 503; "
                    "recovery requests are parked",
                    self.settings.temporal_address,
                )
