"""Mail that real providers accept: every message carries a Date and a Message-ID that
is the same for every retry of one logical e-mail. Checked on the raw message as the
SMTP sink received it; the activity runs for real (database, SMTP) in Temporal's
activity environment, which lets a test be "attempt 2 of the same send"."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import email.utils
import uuid
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from temporalio.testing import ActivityEnvironment

from activities.signup import SignupActivities
from lkk.mail.sender import MailRejected, OutgoingMail, SmtpSender
from lkk.models import SignupBase
from lkk.settings import Settings
from lkk.store import session_for, signups
from lkk.temporal import onboarding_workflow_id
from lkk.timeutil import utcnow
from tests.conftest import MailSinkProcess
from workflows.messages import SendConfirmationInput


def _pending_signup(engine: Engine, login: str, address: str) -> str:
    now = utcnow()
    with session_for(engine) as db:
        return signups.reserve(
            db, SignupBase(login=login, email=address), "$argon2id$not-a-real-hash",
            now=now, claim_until=now + timedelta(minutes=15),
        )


def _send(settings: Settings, engine: Engine, account_id: str, *, seq: int, attempt: int) -> None:
    """One attempt of ``send_confirmation_email`` as the worker runs it for this sign-up."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info,
        activity_type="send_confirmation_email",
        workflow_type="Onboarding",
        workflow_id=onboarding_workflow_id(account_id),
        attempt=attempt,
    )
    activities = SignupActivities(engine, settings, SmtpSender(settings))
    params = SendConfirmationInput(account_id=account_id, seq=seq, signup_expires_at=utcnow() + timedelta(hours=72))
    result = env.run(activities.send_confirmation_email, params)
    assert result.sent


def _raw_headers(mailsink: MailSinkProcess, address: str, count: int) -> list[email.message.EmailMessage]:
    mails = mailsink.mailbox.wait_for_all(to=address, count=count, timeout=30)
    return [
        email.message_from_string(mailsink.mailbox.raw(m["ID"]), policy=email.policy.default)  # type: ignore[misc]
        for m in mails
    ]


def test_a_retried_send_carries_the_same_message_id_and_every_mail_a_date(
    settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    login = f"mid-{uuid.uuid4().hex[:10]}"
    address = f"{login}@example.ru"
    account_id = _pending_signup(engine, login, address)
    _send(settings, engine, account_id, seq=0, attempt=1)
    _send(settings, engine, account_id, seq=0, attempt=2)  # the worker crashed after SMTP took attempt 1
    _send(settings, engine, account_id, seq=1, attempt=1)  # a resend: another e-mail
    first, retry, resend = _raw_headers(mailsink, address, 3)

    ids = [str(m["Message-ID"]) for m in (first, retry, resend)]
    domain = settings.mail_from_address.rpartition("@")[2]
    for message_id in ids:
        assert message_id.startswith("<") and message_id.endswith(f"@{domain}>"), message_id
        assert account_id not in message_id  # a hash, not the workflow id
    assert ids[0] == ids[1], "a retry of one send is the same logical e-mail"
    assert ids[2] != ids[0], "a resend is a new e-mail"
    for message in (first, retry, resend):
        sent_at = email.utils.parsedate_to_datetime(str(message["Date"]))
        assert sent_at.tzinfo is not None and abs(sent_at - utcnow()) < timedelta(minutes=5)


def test_an_address_smtp_cannot_carry_is_a_permanent_failure_not_a_day_of_retries(settings: Settings) -> None:
    """A sign-up stored before the field check (or typed past it) has a Cyrillic local
    part: Python's smtplib cannot send it without SMTPUTF8. That is no temporary fault."""
    sender = SmtpSender(settings)
    for address in ("иван@example.ru", "ｉｖａｎ@example.ru"):
        mail = OutgoingMail(to=address, subject="Проверка", html="<p>Проверка</p>", text="Проверка")
        with pytest.raises(MailRejected):
            sender.send(mail, key=f"test/{address}")


def test_an_idn_domain_is_sent_as_punycode(settings: Settings, mailsink: MailSinkProcess) -> None:
    login = f"idn-{uuid.uuid4().hex[:10]}"
    mail = OutgoingMail(to=f"{login}@почта.рф", subject="Проверка", html="<p>Проверка</p>", text="Проверка")
    SmtpSender(settings).send(mail, key=f"test/{login}")
    [message] = _raw_headers(mailsink, f"{login}@xn--80a1acny.xn--p1ai", 1)
    assert message["Message-ID"] and message["Date"]
