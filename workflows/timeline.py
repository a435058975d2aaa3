"""The run's timeline as support reads it in the Temporal UI (``set_current_details``).

Workflows record small structured events (what happened, when in workflow time, and
the few facts it needs); this module alone turns them into the Russian lines. Pure
functions, safe inside workflow code. The texts are what support has always read:
change them only on purpose (tests/test_timeline.py pins them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from workflows.display import INVITATION_TITLES, STAGE_TITLES, invitation_hint, msk, stage_hint
from workflows.messages import BindStatus, InvitationInput, InvitationStage, OnboardingInput, OnboardingStage


class Kind(StrEnum):
    # onboarding
    SIGNUP_STARTED = "signup_started"  # at, until: the confirmation deadline
    CONFIRMATION_SENT = "confirmation_sent"  # seq, at
    CONFIRMATION_FAILED = "confirmation_failed"  # seq, problem
    RESEND_REQUESTED = "resend_requested"  # at
    SUPERSEDED = "superseded"  # at
    EXPIRED = "expired"  # at
    UNDELIVERABLE = "undeliverable"  # at
    EMAIL_CONFIRMED = "email_confirmed"  # at
    CONFIRMED_BY_BINDING = "confirmed_by_binding"  # at
    AWAITING_CONTRACT = "awaiting_contract"  # until: the end of the wait
    REMINDER_SENT = "reminder_sent"  # at
    REMINDER_FAILED = "reminder_failed"  # problem
    BIND_ATTEMPT = "bind_attempt"  # status, number, at
    CONTRACT_FOUND = "contract_found"  # number, at (None: unknown, «ранее»)
    NO_CONTRACT = "no_contract"  # at
    # contract unbinding
    UNBOUND = "unbound"  # number, at
    NOT_HELD = "not_held"  # number, at
    # password recovery
    RESET_SENT = "reset_sent"  # seq, at
    RESET_FAILED = "reset_failed"  # seq, problem
    RESET_ACCOUNT_INACTIVE = "reset_account_inactive"  # seq
    RESET_SKIPPED = "reset_skipped"  # at
    RESET_EXPIRED = "reset_expired"  # at
    RESET_USED = "reset_used"  # at
    # company accounts: an invitation
    INVITATION_STARTED = "invitation_started"  # at, until: its expiry, login: the inviter, numbers
    INVITATION_SENT = "invitation_sent"  # seq, at
    INVITATION_NOT_SENT = "invitation_not_sent"  # seq: the database had closed it already
    INVITATION_FAILED = "invitation_failed"  # seq, problem
    INVITATION_RESEND_REQUESTED = "invitation_resend_requested"  # at, login: the administrator
    INVITATION_ACCEPTED = "invitation_accepted"  # at, login: the colleague, numbers: granted
    ACCEPT_TOO_LATE = "accept_too_late"  # at, login: the colleague, stage: what the database said
    INVITATION_REVOKED = "invitation_revoked"  # at, login: the administrator
    REVOKE_TOO_LATE = "revoke_too_late"  # at, login: the administrator, stage: what the database said
    INVITATION_WITHDRAWN = "invitation_withdrawn"  # at: its last contract was unbound
    INVITATION_EXPIRED = "invitation_expired"  # at
    INVITATION_UNDELIVERABLE = "invitation_undeliverable"  # at
    INVITATION_FOUND = "invitation_found"  # at, stage: closed in the database before the workflow heard of it
    INVITER_NOTIFIED = "inviter_notified"  # at
    INVITER_NOT_NOTIFIED = "inviter_not_notified"  # at: nothing to tell (the database says so)
    INVITER_NOTICE_FAILED = "inviter_notice_failed"  # problem


@dataclass(frozen=True)
class Event:
    kind: Kind
    at: datetime | None = None
    until: datetime | None = None
    seq: int = 0  # which e-mail: 0 the first, then each resend
    number: str | None = None  # contract number
    status: BindStatus | None = None
    problem: str | None = None  # the mail problem, as in the run's state
    login: str | None = None  # who acted (an invitation's administrator or colleague)
    numbers: tuple[str, ...] = ()  # an invitation's contract numbers
    stage: InvitationStage | None = None  # what the database said an invitation became


# Short outcome labels of a binding attempt (the customer's wording is in lkk.billing.bindings).
BIND_LABELS: dict[BindStatus, str] = {
    BindStatus.BOUND: "привязан",
    BindStatus.ALREADY_BOUND_TO_YOU: "уже привязан к этому кабинету",
    BindStatus.BOUND_TO_ANOTHER: "привязан к другому кабинету",
    BindStatus.WRONG_DATA: "неверные данные",
    BindStatus.CLOSED: "договор закрыт",
    BindStatus.LOCKED: "попытки заблокированы",
    BindStatus.INVALID: "поля заполнены неверно",
}

# Where a mail send gave up while the server was down (the activity's time limit).
WITHIN_SIGNUP = "до истечения срока регистрации"
WITHIN_A_DAY = "в течение суток"
WITHIN_INVITATION = "до истечения срока приглашения"

# «приглашение уже …»: what became of an invitation, in the words of a timeline line.
INVITATION_OUTCOMES: dict[InvitationStage, str] = {
    InvitationStage.PENDING: "просрочено",  # past its expiry; the expiry is not recorded yet
    InvitationStage.ACCEPTED: "принято",
    InvitationStage.REVOKED: "отозвано",
    InvitationStage.EXPIRED: "истекло",
    InvitationStage.UNDELIVERABLE: "закрыто: письмо не доставляется",
}


def confirmation_label(seq: int) -> str:
    """The confirmation e-mail as the log and the activity summary name it."""
    return "Письмо со ссылкой подтверждения" if seq == 0 else f"Повторное письмо №{seq}"


def reset_label(seq: int) -> str:
    return "Письмо с паролем" if seq == 0 else f"Повторное письмо с паролем №{seq}"


def invitation_label(seq: int) -> str:
    """The invitation letter as the log and the activity summary name it."""
    return "Письмо-приглашение" if seq == 0 else f"Повторное письмо-приглашение №{seq}"


def mail_problem(rejection: str | None, within: str = WITHIN_SIGNUP) -> str:
    """The onboarding's ``mail_problem``: ``rejection`` is the server's reason for a
    permanent refusal, None when the server stayed unreachable ``within`` the limit."""
    if rejection is not None:
        return f"почтовый сервер отклонил письмо ({rejection})"
    return f"почтовый сервер недоступен {within}"


def reset_mail_problem(rejected: bool) -> str:
    return "почтовый сервер отклонил письмо" if rejected else "почтовый сервер недоступен"


def line(event: Event) -> str:
    """One event as one Russian line (without the list marker)."""
    kind, at = event.kind, _when(event.at)
    if kind is Kind.SIGNUP_STARTED:
        return f"Регистрация начата {at}, срок подтверждения до {_when(event.until)}"
    if kind is Kind.CONFIRMATION_SENT:
        return f"{confirmation_label(event.seq)} отправлено {at}"
    if kind is Kind.CONFIRMATION_FAILED:
        return f"{confirmation_label(event.seq)}: НЕ ОТПРАВЛЕНО — {event.problem}"
    if kind is Kind.RESEND_REQUESTED:
        return f"Клиент запросил повторное письмо {at}"
    if kind is Kind.SUPERSEDED:
        return (
            f"Адрес e-mail подтверждён другой регистрацией {at}: "
            "эта регистрация отменена и удалена, логин освобождён"
        )
    if kind is Kind.EXPIRED:
        return f"Регистрация истекла {at}: логин и e-mail освобождены"
    if kind is Kind.UNDELIVERABLE:
        return (
            f"Регистрация отменена {at}: письмо со ссылкой подтверждения не доставляется, "
            "логин и e-mail освобождены — клиент может зарегистрироваться заново с правильным адресом"
        )
    if kind is Kind.EMAIL_CONFIRMED:
        return f"E-mail подтверждён {at}"
    if kind is Kind.CONFIRMED_BY_BINDING:
        return f"Подтверждение e-mail получено вместе с привязкой договора {at}"
    if kind is Kind.AWAITING_CONTRACT:
        return f"Ожидает привязки договора до {_when(event.until)}"
    if kind is Kind.REMINDER_SENT:
        return f"Напоминание о привязке договора отправлено {at}"
    if kind is Kind.REMINDER_FAILED:
        return f"Напоминание о привязке договора: НЕ ОТПРАВЛЕНО — {event.problem}"
    if kind is Kind.BIND_ATTEMPT:
        if event.status is BindStatus.BOUND:
            return f"Договор № {event.number} привязан {at}"
        label = BIND_LABELS[event.status] if event.status is not None else "—"
        return f"Попытка привязки договора № {event.number or '—'} {at}: {label}"
    if kind is Kind.CONTRACT_FOUND:
        return f"Договор № {event.number} привязан {at if event.at else 'ранее'} (по данным базы)"
    if kind is Kind.NO_CONTRACT:
        return f"Ожидание договора завершено {at} без договора: кабинет активен, договор можно привязать позже"
    if kind is Kind.UNBOUND:
        return f"Договор № {event.number} отвязан {at}"
    if kind is Kind.NOT_HELD:
        return f"Договор № {event.number} не был привязан к этому кабинету ({at})"
    if kind is Kind.RESET_SENT:
        return f"{reset_label(event.seq)} отправлено {at}"
    if kind is Kind.RESET_FAILED:
        return f"{reset_label(event.seq)}: НЕ ОТПРАВЛЕНО — {event.problem}"
    if kind is Kind.RESET_ACCOUNT_INACTIVE:
        return f"{reset_label(event.seq)} не отправлено: учётная запись неактивна"
    if kind is Kind.RESET_SKIPPED:
        return f"Повторный запрос {at} пропущен (пауза между письмами или лимит)"
    if kind is Kind.RESET_EXPIRED:
        return f"Пароль из письма истёк {at}"
    if kind is Kind.RESET_USED:
        return f"Вход с паролем из письма {at}"
    return _invitation_line(event, at)


def _invitation_line(event: Event, at: str) -> str:
    kind, outcome = event.kind, INVITATION_OUTCOMES[event.stage] if event.stage is not None else "—"
    if kind is Kind.INVITATION_STARTED:
        return (
            f"Приглашение создано {at} администратором {event.login}: {_contracts(event.numbers)}; "
            f"действует до {_when(event.until)}"
        )
    if kind is Kind.INVITATION_SENT:
        return f"{invitation_label(event.seq)} отправлено {at}"
    if kind is Kind.INVITATION_NOT_SENT:
        return f"{invitation_label(event.seq)} не отправлено: приглашение уже не действует (по данным базы)"
    if kind is Kind.INVITATION_FAILED:
        return f"{invitation_label(event.seq)}: НЕ ОТПРАВЛЕНО — {event.problem}"
    if kind is Kind.INVITATION_RESEND_REQUESTED:
        return f"Администратор {event.login} запросил повторное письмо {at}"
    if kind is Kind.INVITATION_ACCEPTED:
        if not event.numbers:
            return f"Приглашение принято {at} пользователем {event.login}; его договоры уже отвязаны, доступ не выдан"
        return f"Приглашение принято {at} пользователем {event.login}: выдан доступ к {_contracts(event.numbers, 'dative')}"
    if kind is Kind.ACCEPT_TOO_LATE:
        return f"Пользователь {event.login} пытался принять приглашение {at}, но оно уже {outcome}"
    if kind is Kind.INVITATION_REVOKED:
        return f"Приглашение отозвано администратором {event.login} {at}"
    if kind is Kind.REVOKE_TOO_LATE:
        return f"Администратор {event.login} пытался отозвать приглашение {at}, но оно уже {outcome}"
    if kind is Kind.INVITATION_WITHDRAWN:
        return f"Приглашение отозвано {at}: договоры, к которым оно приглашало, отвязаны"
    if kind is Kind.INVITATION_EXPIRED:
        return f"Срок приглашения истёк {at}: ссылка больше не действует"
    if kind is Kind.INVITATION_UNDELIVERABLE:
        return f"Приглашение закрыто {at}: письмо-приглашение не доставляется, ссылка больше не действует"
    if kind is Kind.INVITATION_FOUND:
        return f"Приглашение уже {outcome} (по данным базы, {at})"
    if kind is Kind.INVITER_NOTIFIED:
        return f"Администратору отправлено письмо «Приглашение принято» {at}"
    if kind is Kind.INVITER_NOT_NOTIFIED:
        return f"Письмо администратору «Приглашение принято» не нужно ({at}): по данным базы приглашение не принято"
    if kind is Kind.INVITER_NOTICE_FAILED:
        return f"Письмо администратору «Приглашение принято»: НЕ ОТПРАВЛЕНО — {event.problem}"
    raise ValueError(f"no wording for {kind}")


def _contracts(numbers: tuple[str, ...], case: str = "nominative") -> str:
    """«договор № 7701-000101» / «договоры № 7701-000101, 7701-000103» (or the dative after «доступ к»)."""
    listed = ", ".join(numbers) or "—"
    if case == "dative":
        return f"{'договору' if len(numbers) == 1 else 'договорам'} № {listed}"
    return f"{'договор' if len(numbers) == 1 else 'договоры'} № {listed}"


def event_list(events: list[Event]) -> str:
    """The events as a Markdown list: the details of the short workflows."""
    return "\n".join(f"- {line(event)}" for event in events)


def onboarding_details(stage: OnboardingStage, events: list[Event], params: OnboardingInput) -> str:
    """Markdown for the onboarding's ``set_current_details``: the stage, what support
    tells the customer now, then the log of events."""
    lines = [f"**{STAGE_TITLES[stage]}**", ""]
    hint = stage_hint(stage, params)
    if hint is not None:
        lines += [f"_{hint}_", ""]
    if events:
        lines.append(event_list(events))
    return "\n".join(lines)


def invitation_details(stage: InvitationStage, events: list[Event], params: InvitationInput) -> str:
    """Markdown for the invitation's ``set_current_details``: the stage, what support
    tells the administrator now, then the log of events."""
    lines = [f"**{INVITATION_TITLES[stage]}**", "", f"_{invitation_hint(stage, params)}_", ""]
    if events:
        lines.append(event_list(events))
    return "\n".join(lines)


def _when(moment: datetime | None) -> str:
    return msk(moment) if moment is not None else "—"
