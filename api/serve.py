"""``python -m api.serve``: the API as the image, the Procfile, the tests and the bench run it
(one process; replicas are containers).

uvicorn with today's options, plus a drain uvicorn has no hook for: on SIGTERM (or
Ctrl-C) the app first reports not-ready (``/readyz`` 503) while it keeps accepting
and serving for ``LKK_SHUTDOWN_DRAIN_SECONDS``, so the load balancer stops sending
it requests; only then uvicorn stops accepting and lets in-flight requests finish.
Without that, a POST the balancer wrote in the instant of the stop got a 502 (a
balancer never retries a POST that may have been processed). A second signal stops
at once, without the rest of the drain.
"""

from __future__ import annotations

import argparse
import logging
import time
from types import FrameType

import uvicorn

from lkk.settings import get_settings

APP = "api.main:app"
GRACEFUL_SHUTDOWN_SECONDS = 25  # in-flight requests after the drain; compose's stop_grace_period covers both
log = logging.getLogger("lkk.serve")


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, drain_seconds: float) -> None:
        super().__init__(config)
        self.drain_seconds = drain_seconds
        self.drain_until: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.drain_until is not None or self.drain_seconds <= 0:
            super().handle_exit(sig, frame)  # a second signal (or no drain): uvicorn's own shutdown now
            return
        self._captured_signals.append(sig)  # re-raised after shutdown, as uvicorn does
        self.drain_until = time.monotonic() + self.drain_seconds
        # Set on the app uvicorn imported (the one /readyz reads), in this process.
        from api.main import app

        app.state.draining = True
        log.info("draining: /readyz answers 503 for %.1f s before the API stops accepting", self.drain_seconds)

    async def on_tick(self, counter: int) -> bool:
        # uvicorn's main loop asks this every 0.1 s whether to shut down.
        if self.drain_until is not None and time.monotonic() >= self.drain_until:
            self.should_exit = True
        return await super().on_tick(counter)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m api.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    config = uvicorn.Config(
        APP,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        # The app trusts X-Forwarded-For only from LKK_TRUSTED_PROXIES (api/client_address.py).
        proxy_headers=False,
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    server = DrainingServer(config, get_settings().shutdown_drain_seconds)
    try:
        server.run()
    except KeyboardInterrupt:  # Ctrl-C, re-raised by uvicorn after its shutdown (as `uvicorn` does)
        pass


if __name__ == "__main__":
    main()
