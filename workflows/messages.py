"""Everything that crosses the Temporal boundary: workflow input and result, signal,
update and query payloads, activity inputs and results.

Rules: plain pydantic models (serialised by ``pydantic_data_converter``), ids instead
of database rows, and never a password, hash, token or one-time password — workflow
history is stored in plain text.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel


class OnboardingStage(StrEnum):
    AWAITING_EMAIL = "awaiting_email"
    AWAITING_CONTRACT = "awaiting_contract"
    ONBOARDED = "onboarded"
    EXPIRED = "expired"  # never confirmed: the sign-up was deleted
    NO_CONTRACT = "no_contract"  # confirmed, but nothing bound before the wait ended
    SUPERSEDED = "superseded"  # another sign-up confirmed the same address first: deleted
    UNDELIVERABLE = "undeliverable"  # the confirmation e-mail was refused for good: deleted


class OnboardingInput(BaseModel):
    account_id: str
    login: str
    signup_ttl_seconds: int
    resend_cooldown_seconds: int
    max_resends: int
    # Defaults keep runs started before contract binding existed readable.
    binding_reminder_seconds: int = 7 * 24 * 3600
    binding_wait_seconds: int = 90 * 24 * 3600


class OnboardingResult(BaseModel):
    stage: OnboardingStage
    emails_sent: int
    confirmed_at: datetime | None = None
    finished_at: datetime
    contract_number: str | None = None  # the first bound contract (stage ONBOARDED)
    bound_at: datetime | None = None
    reminders_sent: int = 0


class EmailConfirmed(BaseModel):
    """Signal: the customer confirmed the e-mail (the API already activated the account)."""

    confirmed_at: datetime


class SignupSuperseded(BaseModel):
    """Signal: another sign-up confirmed this one's address; the API already deleted this one."""

    superseded_at: datetime


class ResendRequest(BaseModel):
    """Update: the customer asks for a new confirmation link."""


class ResendAccepted(BaseModel):
    emails_sent: int
    resends_left: int
    next_resend_at: datetime


class OnboardingState(BaseModel):
    """Query result: where the customer stands."""

    stage: OnboardingStage
    emails_sent: int
    resends_left: int
    last_email_sent_at: datetime | None
    next_resend_at: datetime | None
    signup_expires_at: datetime
    confirmed_at: datetime | None
    mail_problem: str | None
    contract_number: str | None = None
    reminder_sent_at: datetime | None = None


# --- contract binding -------------------------------------------------------------


class BindStatus(StrEnum):
    """The outcome of one binding attempt (``lkk.billing.bindings`` decides it)."""

    BOUND = "bound"
    ALREADY_BOUND_TO_YOU = "already_bound_to_you"
    BOUND_TO_ANOTHER = "bound_to_another"
    WRONG_DATA = "wrong_data"
    CLOSED = "closed"
    LOCKED = "locked"
    INVALID = "invalid"  # malformed fields, see ``field_errors``; not counted as a failure


class BindContractRequest(BaseModel):
    """Update ``bind_contract`` / input of ``ContractBinding``: the id of a parked
    attempt (table ``binding_requests``). Never the binding code itself."""

    account_id: str
    request_id: str
    ttl_seconds: int  # the row is void after this; the activity gives up then too


class BindContractResult(BaseModel):
    """The outcome the form shows; the Russian text is ``lkk.billing.bindings.MESSAGES``."""

    status: BindStatus
    contract_number: str | None = None
    retry_after_seconds: int | None = None  # LOCKED only

    @property
    def succeeded(self) -> bool:
        return self.status in (BindStatus.BOUND, BindStatus.ALREADY_BOUND_TO_YOU)


class UnbindContractRequest(BaseModel):
    """Input of the ``ContractUnbinding`` workflow and its activity."""

    account_id: str
    contract_number: str


class UnbindContractResult(BaseModel):
    unbound: bool  # False: this cabinet did not hold the contract (or holds it without admin rights)
    contract_number: str
    # Pending invitations left without a contract by this unbinding (revoked in the same
    # transaction); the unbinding workflow tells each one's workflow. Default: older runs.
    withdrawn_invitations: list[str] = []


# --- company accounts: invitations -------------------------------------------------------


def invitation_workflow_id(invitation_id: str) -> str:
    """One ``Invitation`` run per invitation. Here, not in ``lkk.temporal`` (which
    re-exports it), because the unbinding workflow signals these runs by id."""
    return f"invitation-{invitation_id}"


class InvitationStage(StrEnum):
    """The ``Invitation`` workflow's stage (also its ``LkkStage`` search attribute)."""

    PENDING = "invitation_pending"  # the letter is out (or going out); waiting for the colleague
    ACCEPTED = "invitation_accepted"
    REVOKED = "invitation_revoked"  # by an administrator, or its contracts were unbound
    EXPIRED = "invitation_expired"
    UNDELIVERABLE = "invitation_undeliverable"  # the letter was refused for good


class InvitationInput(BaseModel):
    """Input of the ``Invitation`` workflow: ids, numbers and durations only (the e-mail
    address and the name stay in the database)."""

    invitation_id: str
    inviter_login: str
    contract_numbers: list[str]
    ttl_seconds: int
    resend_cooldown_seconds: int
    max_resends: int


class InvitationResult(BaseModel):
    stage: InvitationStage
    emails_sent: int
    finished_at: datetime
    accepted_login: str | None = None


class AcceptInvitationRequest(BaseModel):
    """Update ``accept``: the account (new or existing, already checked by the API) that
    takes the invitation."""

    account_id: str
    login: str


class AcceptInvitationResult(BaseModel):
    accepted: bool  # False: the invitation was revoked, expired or used a moment earlier
    status: str  # the invitation's status in the database afterwards (``InvitationStatus``)
    contract_numbers: list[str] = []  # granted


class RevokeInvitationRequest(BaseModel):
    """Update ``revoke``: an administrator withdraws the invitation."""

    actor_account_id: str
    actor_login: str


class RevokeInvitationResult(BaseModel):
    revoked: bool  # False: it was accepted, expired or revoked a moment earlier
    status: str


class ResendInvitationRequest(BaseModel):
    """Update ``resend``: an administrator asks for the letter again."""

    actor_account_id: str
    actor_login: str


class InvitationResendAccepted(BaseModel):
    emails_sent: int
    resends_left: int
    next_resend_at: datetime


class InvitationWithdrawn(BaseModel):
    """Signal: the invitation's last contract was unbound; the database already revoked it."""

    withdrawn_at: datetime


class InvitationState(BaseModel):
    """Query result of ``state``."""

    stage: InvitationStage
    emails_sent: int
    resends_left: int
    next_resend_at: datetime | None
    expires_at: datetime
    mail_problem: str | None


class SendInvitationInput(BaseModel):
    invitation_id: str
    seq: int  # 0 for the first letter, then 1, 2, ... for each re-send
    # Who asked for re-send ``seq`` (recorded in the audit trail with the new link).
    resent_by_account_id: str | None = None
    resent_by_login: str | None = None


class SendInvitationResult(BaseModel):
    sent: bool  # False: the invitation is no longer pending (nothing to accept)


class CloseInvitationInput(BaseModel):
    """Activity input: move a pending invitation to ``status`` (revoked, expired or
    undeliverable) and record it in the audit trail."""

    invitation_id: str
    status: str  # ``InvitationStatus``
    actor_account_id: str | None = None  # None: the service itself
    actor_login: str | None = None


class CloseInvitationResult(BaseModel):
    closed: bool  # False: the database had it accepted, revoked, expired or undeliverable already
    status: str  # the invitation's status in the database afterwards (``InvitationStatus``)


class GrantInvitationInput(BaseModel):
    invitation_id: str
    account_id: str


class InvitationRef(BaseModel):
    invitation_id: str


class NoticeSent(BaseModel):
    sent: bool


# --- activities -----------------------------------------------------------------


class SendConfirmationInput(BaseModel):
    account_id: str
    seq: int  # 0 for the first e-mail, then 1, 2, ... for each resend
    signup_expires_at: datetime


class SendConfirmationResult(BaseModel):
    sent: bool  # False when the sign-up is no longer pending (nothing to confirm)
    sent_at: datetime


class ExpireSignupInput(BaseModel):
    account_id: str


class ExpireSignupResult(BaseModel):
    expired: bool  # True: the pending account was deleted; False: it was already active


# --- password recovery and "password changed" notices -----------------------------
# Only account ids, counters and times: the one-time password is generated, hashed and
# mailed inside the activity and never returned from it.


class PasswordResetInput(BaseModel):
    account_id: str
    otp_ttl_seconds: int
    resend_cooldown_seconds: int
    max_emails: int
    mail_retry_seconds: int


class PasswordResetRequested(BaseModel):
    """Signal (also the start signal): the customer submitted a matching login + e-mail."""

    requested_at: datetime


class OneTimePasswordUsed(BaseModel):
    """Signal: the customer logged in with the mailed password; nothing left to expire."""

    used_at: datetime


class PasswordResetState(BaseModel):
    emails_sent: int
    requests: int
    expires_at: datetime | None
    used: bool


class PasswordResetResult(BaseModel):
    emails_sent: int
    requests: int
    used: bool
    mail_problem: str | None = None


class SendPasswordResetInput(BaseModel):
    account_id: str
    seq: int  # 0 for the first e-mail of this recovery, then 1, 2, ...
    otp_ttl_seconds: int


class SendPasswordResetResult(BaseModel):
    sent: bool  # False when the account is no longer active
    expires_at: datetime | None = None


class ExpirePasswordResetInput(BaseModel):
    account_id: str


class ExpirePasswordResetResult(BaseModel):
    cleared: bool  # False: it had been used or replaced


class PasswordChangeReason(StrEnum):
    RECOVERY = "recovery"  # logged in with the mailed one-time password
    PROFILE = "profile"  # changed in the profile
    SET_AFTER_RECOVERY = "set_after_recovery"  # chose their own after recovery


class PasswordChangedInput(BaseModel):
    account_id: str
    reason: PasswordChangeReason
    changed_at: datetime
    mail_retry_seconds: int


class SendPasswordChangedInput(BaseModel):
    account_id: str
    reason: PasswordChangeReason
    changed_at: datetime


class SendPasswordChangedResult(BaseModel):
    sent: bool


class AccountRef(BaseModel):
    account_id: str


class BoundContractInfo(BaseModel):
    """What the database says: the cabinet's first bound contract, if any."""

    contract_number: str | None = None
    bound_at: datetime | None = None


class BindingReminderResult(BaseModel):
    sent: bool
    already_bound: BoundContractInfo = BoundContractInfo()  # set instead of sending


# --- housekeeping ---------------------------------------------------------------------


class PurgeInput(BaseModel):
    """Input of the scheduled ``PurgeStaleCounters`` run (the settings decide the periods)."""


class PurgeResult(BaseModel):
    login_throttles: int
    binding_counters: int
