"""Activities of the ``Invitation`` workflow: mail the invitation letter (a new link per
letter), grant access on accept, close the invitation (revoked, expired, undeliverable),
and tell the inviting administrator that it was accepted.

The stores (``lkk.company.invitations``) leave the commit to their caller so that a
change and its audit rows are one transaction: each activity here is one unit of work
(``lkk.db.transaction``) on a session of its own. The database answers every race;
the workflow follows the answer.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from sqlalchemy.engine import Engine
from temporalio import activity

from activities.mail_handover import hand_over
from lkk.company import invitations
from lkk.company.models import ROLE_LABELS, InvitationStatus, Role
from lkk.db import transaction
from lkk.mail.message_id import mail_key
from lkk.mail.render import branding, render_mail
from lkk.mail.sender import SmtpSender
from lkk.models import Account
from lkk.settings import Settings
from lkk.store import session_for
from lkk.timeutil import as_utc, utcnow
from workflows.display import msk
from workflows.messages import (
    AcceptInvitationResult,
    CloseInvitationInput,
    CloseInvitationResult,
    GrantInvitationInput,
    InvitationRef,
    NoticeSent,
    SendInvitationInput,
    SendInvitationResult,
)

log = logging.getLogger(__name__)

INVITATION_SUBJECT = "Приглашение в Личный кабинет клиента"
ACCEPTED_SUBJECT = "Приглашение принято: новый пользователь Личного кабинета клиента"
INVITATION_PATH = "/invitation"
PROFILE_PATH = "/profile"


class InvitationActivities:
    def __init__(self, engine: Engine, settings: Settings, sender: SmtpSender) -> None:
        self._engine = engine
        self._settings = settings
        self._sender = sender

    @activity.defn(name="send_invitation_letter")
    def send_invitation_letter(self, params: SendInvitationInput) -> SendInvitationResult:
        with session_for(self._engine) as session, transaction(session):
            issued = invitations.issue_link(
                session,
                params.invitation_id,
                params.seq,
                utcnow(),
                resent_by_account_id=params.resent_by_account_id,
                resent_by_login=params.resent_by_login,
                secret_key=self._settings.secret_key,
            )
        if issued is None:
            log.info("invitation %s is no longer pending; no letter sent", params.invitation_id)
            return SendInvitationResult(sent=False)
        # The link is built from the configured public URL, never from a request's Host.
        link = f"{self._settings.public_base_url_clean}{INVITATION_PATH}?{urlencode({'token': issued.token})}"
        mail = render_mail(
            "invitation",
            to=issued.email,
            subject=INVITATION_SUBJECT,
            full_name=issued.full_name,
            inviter_login=issued.inviter_login,
            role=ROLE_LABELS[Role(issued.role)],
            contract_numbers=list(issued.contract_numbers),
            link=link,
            expires_at=msk(as_utc(issued.expires_at)),
            **branding(self._settings),
        )
        # Log lines get the workflow id from the logging filter; never the address or the link.
        key = mail_key(activity.info().workflow_id, "invitation", params.seq)
        hand_over(self._sender, mail, key=key, what=f"invitation letter #{params.seq}")
        log.info("invitation letter #%d sent for invitation %s", params.seq, params.invitation_id)
        return SendInvitationResult(sent=True)

    @activity.defn(name="grant_invitation")
    def grant_invitation(self, params: GrantInvitationInput) -> AcceptInvitationResult:
        with session_for(self._engine) as session, transaction(session):
            account = session.get(Account, params.account_id)
            if account is None:  # the API made or found it a moment ago; gone again means nothing to grant to
                log.warning("invitation %s: the accepting account is gone", params.invitation_id)
                return AcceptInvitationResult(accepted=False, status=InvitationStatus.PENDING.value)
            result = invitations.accept(session, params.invitation_id, params.account_id, account.login, utcnow())
        log.info("invitation %s accept: %s", params.invitation_id, "granted" if result.accepted else result.status)
        return result

    @activity.defn(name="close_invitation")
    def close_invitation(self, params: CloseInvitationInput) -> CloseInvitationResult:
        with session_for(self._engine) as session, transaction(session):
            closed, status = invitations.close(
                session,
                params.invitation_id,
                InvitationStatus(params.status),
                utcnow(),
                actor_account_id=params.actor_account_id,
                actor_login=params.actor_login,
            )
        log.info("invitation %s close as %s: %s", params.invitation_id, params.status, "done" if closed else status)
        return CloseInvitationResult(closed=closed, status=InvitationStatus(status).value)

    @activity.defn(name="notify_inviter")
    def notify_inviter(self, params: InvitationRef) -> NoticeSent:
        with session_for(self._engine) as session, transaction(session):
            notice = invitations.inviter_notice(session, params.invitation_id)
        if notice is None:
            return NoticeSent(sent=False)
        mail = render_mail(
            "invitation_accepted",
            to=notice.inviter_email,
            subject=ACCEPTED_SUBJECT,
            inviter_login=notice.inviter_login,
            colleague_login=notice.colleague_login,
            role=ROLE_LABELS[Role(notice.role)],
            contract_numbers=list(notice.contract_numbers),
            link=f"{self._settings.public_base_url_clean}{PROFILE_PATH}",
            **branding(self._settings),
        )
        # One notice per invitation.
        key = mail_key(activity.info().workflow_id, "invitation_accepted", 0)
        hand_over(self._sender, mail, key=key, what="accepted-invitation notice")
        log.info("inviter notified of accepted invitation %s", params.invitation_id)
        return NoticeSent(sent=True)

    def all(self) -> list[object]:
        return [self.send_invitation_letter, self.grant_invitation, self.close_invitation, self.notify_inviter]
