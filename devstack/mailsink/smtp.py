"""The SMTP side: aiosmtpd's controller (own thread and loop) with a handler that stores
every accepted message and honours the fault switch."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable
from enum import StrEnum

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from devstack.mailsink.store import Store

log = logging.getLogger("devstack.mailsink")


class SmtpMode(StrEnum):
    ACCEPT = "accept"
    TEMPFAIL = "tempfail"
    REJECT = "reject"


REFUSALS = {
    SmtpMode.TEMPFAIL: "451 4.3.0 Try again later",
    SmtpMode.REJECT: "550 5.1.1 Mailbox unavailable",
}


class Handler:
    """aiosmtpd hooks. ``mode`` is the fault switch; it lives in memory (a restart accepts again)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.mode = SmtpMode.ACCEPT

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if refusal := REFUSALS.get(self.mode):
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if refusal := REFUSALS.get(self.mode):
            return refusal
        raw = envelope.original_content or b""
        letter = await asyncio.to_thread(self.store.add, raw, envelope.mail_from or "", list(envelope.rcpt_tos))
        log.info("received %s to=%s subject=%r", letter.id, ", ".join(letter.rcpt_to), letter.head["Subject"])
        return f"250 2.0.0 Ok: queued as {letter.id}"


class SocketController(Controller):
    """Serves on a socket bound by the caller, so port 0 works and the bound port is known."""

    def __init__(self, handler: Handler, sock: socket.socket) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(
            handler, hostname=host, port=port,
            server_hostname="mailsink.localhost",  # avoids a slow getfqdn() per connection
            ident="LKK mail sink",
            authenticator=lambda *_: AuthResult(success=True),  # any login: the app may be configured with one
            auth_require_tls=False,
        )
        self.sock = sock

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        return self.loop.create_server(self._factory_invoker, sock=self.sock)
