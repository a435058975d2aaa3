"""Send one e-mail over SMTP and classify failures for Temporal's retry policy.

A permanent rejection (SMTP 5xx) raises ``MailRejected``: retrying cannot help, so the
workflow shows it to support. So does an address that an ASCII-only SMTP session
cannot carry (a non-ASCII local part: we do not use SMTPUTF8). Everything else
(connection refused, timeouts, 4xx) raises ``MailTemporarilyFailed`` and the activity
is retried with backoff.

Every message carries a ``Date`` and a ``Message-ID`` derived from the caller's key
(lkk.mail.message_id): large providers reject or spam-file mail without them.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from email.utils import formatdate

import emails

from lkk.mail.message_id import message_id
from lkk.settings import Settings
from lkk.validation import smtp_address

log = logging.getLogger(__name__)


class MailRejected(Exception):
    """The SMTP server refused the message permanently."""


class MailTemporarilyFailed(Exception):
    """The message could not be handed over now; try again later."""


@dataclass(frozen=True)
class OutgoingMail:
    to: str
    subject: str
    html: str
    text: str


class SmtpSender:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def _smtp_options(self) -> dict[str, object]:
        s = self._settings
        options: dict[str, object] = {
            "host": s.smtp_host,
            "port": s.smtp_port,
            "timeout": s.smtp_timeout_seconds,
            "ssl": s.smtp_ssl,
            "tls": s.smtp_tls,
            "fail_silently": True,
        }
        if s.smtp_user:
            options["user"] = s.smtp_user
            options["password"] = s.smtp_password
        return options

    def send(self, mail: OutgoingMail, *, key: str) -> None:
        """Send ``mail``; ``key`` names the logical e-mail (the same on every retry)."""
        to = smtp_address(mail.to)
        if to is None:
            raise MailRejected("адрес получателя содержит символы, которые почта не передаёт (не ASCII до @)")
        message = emails.html(
            html=mail.html,
            text=mail.text,
            subject=mail.subject,
            mail_from=(self._settings.mail_from_name, self._settings.mail_from_address),
            charset="utf-8",
            message_id=message_id(key, self._settings.mail_from_address),
            date=formatdate(usegmt=True),
        )
        response = message.send(to=to, smtp=self._smtp_options())
        if response.success:
            return
        code = response.status_code
        reason = _reason(response)
        if (code is not None and 500 <= code < 600) or _unsendable(response.error):
            raise MailRejected(f"SMTP {code or '—'}: {reason}")
        raise MailTemporarilyFailed(f"SMTP {code or 'no answer'}: {reason}")


def _unsendable(error: BaseException | None) -> bool:
    """Errors no retry can cure: text SMTP cannot carry, or a server lacking a required extension."""
    return isinstance(error, (UnicodeError, smtplib.SMTPNotSupportedError))


def _reason(response) -> str:  # type: ignore[no-untyped-def]
    if response.refused_recipients:
        code, text = next(iter(response.refused_recipients.values()))
        return f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
    if response.status_text:
        text = response.status_text
        return text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    if response.error is not None:
        return type(response.error).__name__ + ": " + str(response.error)
    return "unknown error"
