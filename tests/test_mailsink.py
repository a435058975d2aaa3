"""The dev SMTP sink, tested as a real subprocess over real SMTP and HTTP (no mocks)."""

from __future__ import annotations

import os
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from devstack.mailsink import MailSink
from tests.mailbox import Mailbox, links

REPO_ROOT = Path(__file__).resolve().parents[1]
SENDER = "noreply@lkk.example.ru"
SUBJECT = "Подтверждение регистрации в личном кабинете"
LINK = "https://lkk.example.ru/signup/confirm/AbC123xyz"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SinkProcess:
    """``python -m devstack.mailsink`` on free ports; restartable on the same ports and data."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.smtp_port = _free_port()
        self.http_port = _free_port()
        self.log_path = data_dir.parent / f"{data_dir.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> None:
        env = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
        with self.log_path.open("ab") as log:  # a file, not a pipe: a full pipe would block the sink
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "devstack.mailsink", "--smtp-port", str(self.smtp_port),
                 "--http-port", str(self.http_port), "--data-dir", str(self.data_dir)],
                cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"mail sink exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}/livez", timeout=1).text == "ok":
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        pytest.fail(f"mail sink did not become live:\n{self.log()}")

    def stop(self) -> int:
        """SIGTERM, as a process manager would; returns the exit code."""
        assert self.proc is not None
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=10)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace") if self.log_path.exists() else ""


@pytest.fixture(scope="module")
def sink(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> SinkProcess:
    process = SinkProcess(tmp_path_factory.mktemp("mailsink") / "data")
    request.addfinalizer(process.kill)  # registered first: runs even if start() fails half-way
    process.start()
    return process


@pytest.fixture
def mailbox(sink: SinkProcess) -> Iterator[Mailbox]:
    with Mailbox(sink.base_url) as box:
        box.set_smtp_mode("accept")
        box.delete_all()
        yield box


def _letter(to: str, subject: str = SUBJECT, link: str = LINK) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Личный кабинет клиента <{SENDER}>"
    msg["To"] = f"Иван Петров <{to}>"
    msg["Subject"] = subject
    msg.set_content(f"Здравствуйте!\n\nЧтобы подтвердить адрес, откройте ссылку:\n{link}\n")
    msg.add_alternative(
        f'<html><body><p>Здравствуйте!</p><p><a href="{link}">Подтвердить адрес</a></p></body></html>',
        subtype="html",
    )
    return msg


def _send(sink: SinkProcess, to: str, subject: str = SUBJECT, link: str = LINK) -> None:
    with smtplib.SMTP("127.0.0.1", sink.smtp_port, timeout=10) as smtp:
        smtp.send_message(_letter(to, subject, link))


def test_livez(sink: SinkProcess) -> None:
    response = httpx.get(f"{sink.base_url}/livez")
    assert response.status_code == 200
    assert response.text == "ok"


def test_message_list_and_content(sink: SinkProcess, mailbox: Mailbox) -> None:
    _send(sink, "ivan.petrov@example.ru")

    full = mailbox.wait_for(to="ivan.petrov@example.ru")
    listing = mailbox.listing()
    assert set(listing) == {"total", "unread", "count", "messages_count", "start", "tags", "messages"}
    assert (listing["total"], listing["count"], listing["messages_count"], listing["start"]) == (1, 1, 1, 0)
    assert listing["unread"] == 0 and listing["tags"] == []
    summary = listing["messages"][0]
    assert set(summary) == {
        "ID", "MessageID", "Read", "From", "To", "Cc", "Bcc", "ReplyTo", "Subject", "Created", "Tags",
        "Size", "Attachments", "Snippet",
    }
    assert summary["ID"] == full["ID"]
    assert summary["From"] == {"Name": "Личный кабинет клиента", "Address": SENDER}
    assert summary["To"] == [{"Name": "Иван Петров", "Address": "ivan.petrov@example.ru"}]
    assert (summary["Cc"], summary["Bcc"], summary["ReplyTo"], summary["Tags"]) == ([], [], [], [])
    assert summary["Subject"] == SUBJECT
    assert datetime.fromisoformat(summary["Created"]).tzinfo is not None
    assert summary["Size"] > 0 and summary["Attachments"] == 0
    assert summary["Snippet"].startswith("Здравствуйте! Чтобы подтвердить адрес")

    assert {"ID", "MessageID", "From", "To", "Cc", "Bcc", "ReplyTo", "ReturnPath", "Subject", "Date", "Tags",
            "Text", "HTML", "Size", "Inline", "Attachments"} <= set(full)
    assert full["Subject"] == SUBJECT
    assert full["ReturnPath"] == SENDER
    assert f"откройте ссылку:\n{LINK}" in full["Text"]
    assert f'<a href="{LINK}">Подтвердить адрес</a>' in full["HTML"]
    assert links(full) == [LINK]
    assert (full["Inline"], full["Attachments"]) == ([], [])

    raw = mailbox.raw(full["ID"])
    assert "Subject: =?utf-8?" in raw
    assert mailbox.message("latest")["ID"] == full["ID"]
    assert httpx.get(f"{sink.base_url}/api/v1/message/NoSuchMessage").status_code == 404


def test_search_and_paging(sink: SinkProcess, mailbox: Mailbox) -> None:
    _send(sink, "alice@example.ru", subject="Подтверждение регистрации")
    _send(sink, "bob@example.ru", subject="Восстановление пароля")
    mailbox.wait_for_all(count=2)

    alice = mailbox.search("to:alice@example.ru")
    assert [m["Subject"] for m in alice] == ["Подтверждение регистрации"]
    assert [m["Subject"] for m in mailbox.search("восстановление")] == ["Восстановление пароля"]
    nothing = httpx.get(f"{sink.base_url}/api/v1/search", params={"query": "to:carol@example.ru"}).json()
    assert (nothing["total"], nothing["messages_count"], nothing["count"], nothing["messages"]) == (2, 0, 0, [])

    newest_first = [m["Subject"] for m in mailbox.messages()]
    assert newest_first == ["Восстановление пароля", "Подтверждение регистрации"]
    second = mailbox.listing(limit=1, start=1)
    assert (second["count"], second["messages_count"], second["start"]) == (1, 2, 1)
    assert second["messages"][0]["Subject"] == "Подтверждение регистрации"

    found = mailbox.wait_for(to="bob@example.ru", subject_contains="пароля")
    assert links(found) == [LINK]


def test_delete(sink: SinkProcess, mailbox: Mailbox) -> None:
    _send(sink, "alice@example.ru")
    _send(sink, "bob@example.ru")
    first, second = mailbox.wait_for_all(count=2)

    mailbox.delete(first["ID"])
    assert [m["ID"] for m in mailbox.messages()] == [second["ID"]]
    assert httpx.get(f"{sink.base_url}/api/v1/message/{first['ID']}").status_code == 404

    mailbox.delete_all()
    assert mailbox.listing()["total"] == 0
    assert list(sink.data_dir.glob("*.eml")) == []


def test_messages_survive_restart(sink: SinkProcess, mailbox: Mailbox) -> None:
    _send(sink, "ivan.petrov@example.ru")
    before = mailbox.wait_for(to="ivan.petrov@example.ru")

    assert sink.stop() == 0, sink.log()  # SIGTERM stops it cleanly
    sink.start()

    assert mailbox.message(before["ID"]) == before
    _send(sink, "ivan.petrov@example.ru", subject="Повторное письмо")
    after = mailbox.wait_for(to="ivan.petrov@example.ru", count=2)
    assert after["Subject"] == "Повторное письмо"
    assert [m["ID"] for m in mailbox.messages()] == [after["ID"], before["ID"]]


def test_tempfail_then_recovery(sink: SinkProcess, mailbox: Mailbox) -> None:
    mailbox.set_smtp_mode("tempfail")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        _send(sink, "ivan.petrov@example.ru")
    assert refused.value.recipients == {"ivan.petrov@example.ru": (451, b"4.3.0 Try again later")}

    # The sink "goes down" between RCPT and DATA: the end of DATA is refused too
    # (smtplib.sendmail would raise SMTPDataError; the low-level data() returns the reply).
    mailbox.set_smtp_mode("accept")
    letter = _letter("ivan.petrov@example.ru")
    with smtplib.SMTP("127.0.0.1", sink.smtp_port, timeout=10) as smtp:
        smtp.ehlo()
        smtp.mail(SENDER)
        assert smtp.rcpt("ivan.petrov@example.ru")[0] == 250
        mailbox.set_smtp_mode("tempfail")
        reply = smtp.data(letter.as_bytes(policy=letter.policy.clone(linesep="\r\n")))
    assert reply == (451, b"4.3.0 Try again later")
    assert mailbox.listing()["total"] == 0

    mailbox.set_smtp_mode("accept")
    _send(sink, "ivan.petrov@example.ru")
    assert mailbox.wait_for(to="ivan.petrov@example.ru")["Subject"] == SUBJECT
    assert mailbox.listing()["total"] == 1


def test_reject(sink: SinkProcess, mailbox: Mailbox) -> None:
    mailbox.set_smtp_mode("reject")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        _send(sink, "ivan.petrov@example.ru")
    assert refused.value.recipients == {"ivan.petrov@example.ru": (550, b"5.1.1 Mailbox unavailable")}
    assert mailbox.listing()["total"] == 0

    bad = httpx.post(f"{sink.base_url}/api/v1/dev/smtp-mode", json={"mode": "sometimes"})
    assert bad.status_code == 422


def test_web_pages(sink: SinkProcess, mailbox: Mailbox) -> None:
    subject = "Регистрация <ЛКК> & «Энергосбыт»"
    _send(sink, "ivan.petrov@example.ru", subject=subject)
    message = mailbox.wait_for(to="ivan.petrov@example.ru")
    escaped = "Регистрация &lt;ЛКК&gt; &amp; «Энергосбыт»"

    index = httpx.get(f"{sink.base_url}/")
    assert index.status_code == 200
    assert "<title>Почтовый ящик (разработка)</title>" in index.text
    assert escaped in index.text and subject not in index.text
    assert f'href="/view/{message["ID"]}"' in index.text

    view = httpx.get(f"{sink.base_url}/view/{message['ID']}")
    assert view.status_code == 200
    assert escaped in view.text
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation"' in view.text
    assert "srcdoc=\"&lt;html&gt;&lt;body&gt;" not in view.text  # links get a <base target=_blank>
    assert "&lt;base target=&#34;_blank&#34;&gt;" in view.text
    assert f"&lt;a href=&#34;{LINK}&#34;&gt;" in view.text
    assert f"<pre>Здравствуйте!\n\nЧтобы подтвердить адрес, откройте ссылку:\n{LINK}\n</pre>" in view.text

    assert httpx.get(f"{sink.base_url}/view/NoSuchMessage").status_code == 404


async def test_http_connections_do_not_wait_for_delayed_acks(tmp_path: Path) -> None:
    """A response is two writes (head, body); with Nagle on, every keep-alive request after the
    first waited ~40 ms for the client's delayed ACK, which capped `make bench`'s mail watcher."""
    sink = MailSink(smtp_port=0, http_port=0, data_dir=tmp_path / "mail")
    await sink.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{sink.http_port}") as client:
            assert (await client.get("/livez")).text == "ok"
            assert sink._http is not None
            accepted = [conn.transport.get_extra_info("socket") for conn in sink._http.server_state.connections]
            assert accepted, "the keep-alive connection should still be open"
            assert all(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for s in accepted)
    finally:
        await sink.stop()
