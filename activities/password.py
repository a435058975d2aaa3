"""Activities of password recovery and of the "password changed" notice.

The one-time password is generated here, stored only as its argon2 hash and sent by
e-mail; it is never an input or a result, so it never enters workflow history.
Each retry of a send makes a fresh one (the newest e-mail's password is the valid one).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.engine import Engine
from temporalio import activity

from activities.mail_handover import hand_over
from lkk.mail.message_id import mail_key
from lkk.mail.render import branding, render_mail
from lkk.mail.sender import SmtpSender
from lkk.security.one_time import new_one_time_password
from lkk.security.passwords import hash_password
from lkk.settings import Settings
from lkk.store import credentials, session_for
from lkk.timeutil import utcnow
from workflows.display import msk
from workflows.messages import (
    ExpirePasswordResetInput,
    ExpirePasswordResetResult,
    PasswordChangeReason,
    SendPasswordChangedInput,
    SendPasswordChangedResult,
    SendPasswordResetInput,
    SendPasswordResetResult,
)

log = logging.getLogger(__name__)

RESET_SUBJECT = "Восстановление пароля в Личном кабинете клиента"
CHANGED_SUBJECT = "Пароль в Личном кабинете клиента изменён"

CHANGE_WORDING = {
    PasswordChangeReason.RECOVERY: "выполнен вход с паролем из письма для восстановления доступа",
    PasswordChangeReason.PROFILE: "пароль изменён в профиле Личного кабинета",
    PasswordChangeReason.SET_AFTER_RECOVERY: "установлен новый пароль после восстановления доступа",
}


class PasswordActivities:
    def __init__(self, engine: Engine, settings: Settings, sender: SmtpSender) -> None:
        self._engine = engine
        self._settings = settings
        self._sender = sender

    @activity.defn(name="send_password_reset_email")
    def send_password_reset_email(self, params: SendPasswordResetInput) -> SendPasswordResetResult:
        one_time = new_one_time_password(self._settings.one_time_password_length)
        otp_hash = hash_password(self._settings, one_time)
        # The lifetime starts when the e-mail leaves, not when it was requested: a mail
        # delayed by an SMTP outage still gives the customer the full hour.
        expires_at = utcnow() + timedelta(seconds=params.otp_ttl_seconds)
        with session_for(self._engine) as session:
            contact = credentials.issue_one_time_password(session, params.account_id, otp_hash, expires_at=expires_at)
        if contact is None:
            log.info("password reset %s: account not active; no e-mail", params.account_id)
            return SendPasswordResetResult(sent=False)
        mail = render_mail(
            "password_reset",
            to=contact.email,
            subject=RESET_SUBJECT,
            login=contact.login,
            one_time_password=one_time,
            expires_at=msk(expires_at),
            login_url=f"{self._settings.public_base_url_clean}/login",
            **branding(self._settings),
        )
        # Each attempt mails a new one-time password: a new e-mail, so a receiver that drops
        # duplicate Message-IDs must not drop it (the newest password is the valid one).
        info = activity.info()
        key = mail_key(info.workflow_id, "password_reset", f"{params.seq}.{info.attempt}")
        hand_over(self._sender, mail, key=key, what=f"recovery e-mail #{params.seq}")
        log.info("password reset e-mail #%d sent for account %s", params.seq, params.account_id)
        return SendPasswordResetResult(sent=True, expires_at=expires_at)

    @activity.defn(name="expire_password_reset")
    def expire_password_reset(self, params: ExpirePasswordResetInput) -> ExpirePasswordResetResult:
        with session_for(self._engine) as session:
            cleared = credentials.clear_expired_one_time_password(session, params.account_id, now=utcnow())
        return ExpirePasswordResetResult(cleared=cleared)

    @activity.defn(name="send_password_changed_email")
    def send_password_changed_email(self, params: SendPasswordChangedInput) -> SendPasswordChangedResult:
        with session_for(self._engine) as session:
            contact = credentials.contact(session, params.account_id)
        if contact is None:
            return SendPasswordChangedResult(sent=False)
        mail = render_mail(
            "password_changed",
            to=contact.email,
            subject=CHANGED_SUBJECT,
            login=contact.login,
            changed_at=msk(params.changed_at),
            how=CHANGE_WORDING[params.reason],
            forgot_url=f"{self._settings.public_base_url_clean}/password/forgot",
            **branding(self._settings),
        )
        key = mail_key(activity.info().workflow_id, "password_changed", 0)
        hand_over(self._sender, mail, key=key, what="password-changed notice")
        log.info("password-changed notice sent for account %s (%s)", params.account_id, params.reason.value)
        return SendPasswordChangedResult(sent=True)

