"""Development SMTP sink: a small local stand-in for Mailpit.

It accepts every message on an SMTP port, keeps it on disk and shows it on a web page
and in a JSON API shaped like Mailpit's API v1, so that the same test helper
(``tests/mailbox.py``) reads this sink in the embedded stack and Mailpit in the
production-like compose. Run ``python -m devstack.mailsink --help``; in-process::

    sink = MailSink(smtp_port=0, http_port=0, data_dir=tmp_path)  # 0 = any free port
    await sink.start()   # sink.smtp_port / sink.http_port hold the bound ports
    ...
    await sink.stop()

HTTP: ``GET /`` and ``/view/{id}`` (the mailbox page, Russian); ``GET /api/v1/messages?limit=&start=``
(newest first); ``GET /api/v1/search?query=`` (``to:``, ``from:``, ``subject:``, plain words = subject;
case-insensitive substrings, every term must match); ``GET /api/v1/message/{id|latest}`` and
``.../raw``; ``DELETE /api/v1/messages`` (optional ``{"IDs": [...]}``, none = all); ``GET /livez``.

Fault switch (a dev-only extension): ``POST /api/v1/dev/smtp-mode {"mode": "accept" | "tempfail" |
"reject"}`` (and ``GET``): ``tempfail`` answers every RCPT and DATA with ``451 4.3.0 Try again later``,
``reject`` with ``550 5.1.1 Mailbox unavailable``. SMTP AUTH accepts any credentials.
"""

from devstack.mailsink.sink import MailSink

__all__ = ["MailSink"]
