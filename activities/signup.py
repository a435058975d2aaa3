"""Activities of the sign-up stage: send the confirmation link, expire a stale sign-up.

They are methods of a class so the worker can inject the database engine, the
settings and the mail sender (as Temporal's samples do for clients).
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from sqlalchemy.engine import Engine
from temporalio import activity

from activities.mail_handover import hand_over
from lkk import metrics
from lkk.mail.message_id import mail_key
from lkk.mail.render import branding, render_mail
from lkk.mail.sender import SmtpSender
from lkk.settings import Settings
from lkk.store import session_for, signups
from lkk.timeutil import utcnow
from workflows.display import msk
from workflows.messages import (
    ExpireSignupInput,
    ExpireSignupResult,
    SendConfirmationInput,
    SendConfirmationResult,
)

log = logging.getLogger(__name__)


class SignupActivities:
    def __init__(self, engine: Engine, settings: Settings, sender: SmtpSender) -> None:
        self._engine = engine
        self._settings = settings
        self._sender = sender

    @activity.defn(name="send_confirmation_email")
    def send_confirmation_email(self, params: SendConfirmationInput) -> SendConfirmationResult:
        now = utcnow()
        with session_for(self._engine) as session:
            link = signups.issue_confirmation_link(
                session, params.account_id, seq=params.seq, signup_expires_at=params.signup_expires_at, now=now
            )
        if link is None:
            log.info("sign-up %s is no longer pending; no e-mail sent", params.account_id)
            return SendConfirmationResult(sent=False, sent_at=now)
        # The link is built from the configured public URL, never from a request's Host.
        url = f"{self._settings.public_base_url_clean}/confirm?{urlencode({'token': link.token})}"
        mail = render_mail(
            "confirmation",
            to=link.email,
            subject="Подтверждение регистрации в Личном кабинете клиента",
            login=link.login,
            link=url,
            expires_at=msk(params.signup_expires_at),
            **branding(self._settings),
        )
        # Log lines get the workflow id from the logging filter; never the address or link.
        # Every retry of send number seq is the same logical e-mail (its link stays valid).
        hand_over(
            self._sender,
            mail,
            key=mail_key(activity.info().workflow_id, "confirmation", params.seq),
            what=f"confirmation e-mail #{params.seq}",
            outcomes=metrics.CONFIRMATION_EMAILS,
        )
        log.info("confirmation e-mail #%d sent for sign-up %s", params.seq, params.account_id)
        return SendConfirmationResult(sent=True, sent_at=utcnow())

    @activity.defn(name="expire_signup")
    def expire_signup(self, params: ExpireSignupInput) -> ExpireSignupResult:
        with session_for(self._engine) as session:
            expired = signups.expire(session, params.account_id)
        if expired:  # the conditional delete succeeds once, so retries never double-count
            metrics.SIGNUPS_EXPIRED.inc()
        log.info("sign-up %s expiry: %s", params.account_id, "deleted" if expired else "already active")
        return ExpireSignupResult(expired=expired)
