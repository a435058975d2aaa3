"""Both servers of the sink, started and stopped together on the caller's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import uvicorn

from devstack.mailsink.smtp import Handler, SocketController
from devstack.mailsink.store import Store
from devstack.mailsink.web import create_app

log = logging.getLogger("devstack.mailsink")
DEFAULT_HOST = "127.0.0.1"


def bind(host: str, port: int) -> socket.socket:
    """A bound TCP socket: port 0 picks a free port, and a busy port fails here, not later.
    IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say so, and without it
    every keep-alive HTTP response waits ~40 ms for a delayed ACK."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the sink's owner handles signals, not uvicorn
        yield


class MailSink:
    """``await start()`` / ``await stop()``; after start, ``smtp_port``/``http_port`` are the bound ports."""

    def __init__(self, host: str = DEFAULT_HOST, smtp_port: int = 1025, http_port: int = 8025,
                 data_dir: Path | str = Path("var/mailsink")) -> None:
        self.host, self.smtp_port, self.http_port = host, smtp_port, http_port
        self.store = Store(Path(data_dir))
        self.handler = Handler(self.store)
        self._smtp: SocketController | None = None
        self._http: _Server | None = None
        self._http_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        try:
            smtp_sock = bind(self.host, self.smtp_port)
            self.smtp_port = smtp_sock.getsockname()[1]
            self._smtp = SocketController(self.handler, smtp_sock)
            await asyncio.to_thread(self._smtp.start)
            http_sock = bind(self.host, self.http_port)
            self.http_port = http_sock.getsockname()[1]
            config = uvicorn.Config(create_app(self), log_config=None, log_level="warning", access_log=False,
                                    lifespan="off", timeout_graceful_shutdown=2)
            self._http = _Server(config)
            self._http_task = asyncio.create_task(self._http.serve(sockets=[http_sock]))
            while not self._http.started:
                if self._http_task.done():
                    self._http_task.result()  # re-raises the startup error
                    raise RuntimeError("HTTP server stopped during startup")
                await asyncio.sleep(0.01)
        except BaseException:
            await self.stop()
            raise
        log.info("mail sink: SMTP %s:%d, web http://%s:%d/, %d stored message(s) in %s", self.host, self.smtp_port,
                 self.host, self.http_port, len(self.store.all()), self.store.directory)

    async def stop(self) -> None:
        if self._http is not None and self._http_task is not None:
            self._http.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._http_task, 5)
        self._http = self._http_task = None
        if self._smtp is not None:  # cancels idle SMTP sessions too
            await asyncio.to_thread(self._smtp.stop, no_assert=True)
            self._smtp.sock.close()
            self._smtp = None
