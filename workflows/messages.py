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
    EXPIRED = "expired"


class OnboardingInput(BaseModel):
    account_id: str
    login: str
    signup_ttl_seconds: int
    resend_cooldown_seconds: int
    max_resends: int


class OnboardingResult(BaseModel):
    stage: OnboardingStage
    emails_sent: int
    confirmed_at: datetime | None = None
    finished_at: datetime


class EmailConfirmed(BaseModel):
    """Signal: the customer confirmed the e-mail (the API already activated the account)."""

    confirmed_at: datetime


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
