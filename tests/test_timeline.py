"""The Russian timeline support reads in the Temporal UI: the wording of every event
and of the stage hints, pinned (workflows record structured events; workflows.timeline
renders them)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from workflows.display import once_per, times_up_to
from workflows.messages import BindStatus, InvitationInput, InvitationStage, OnboardingInput, OnboardingStage
from workflows.timeline import (
    WITHIN_A_DAY,
    WITHIN_INVITATION,
    Event,
    Kind,
    confirmation_label,
    event_list,
    invitation_details,
    invitation_label,
    line,
    mail_problem,
    onboarding_details,
    reset_label,
    reset_mail_problem,
)

AT = datetime(2026, 3, 1, 9, 5, tzinfo=UTC)  # 12:05 МСК
UNTIL = datetime(2026, 3, 2, 21, 30, tzinfo=UTC)
PARAMS = OnboardingInput(
    account_id="a", login="ooo-romashka", signup_ttl_seconds=86400, resend_cooldown_seconds=60, max_resends=5
)
INVITATION = InvitationInput(
    invitation_id="i", inviter_login="ooo-romashka", contract_numbers=["7701-000101", "7701-000103"],
    ttl_seconds=72 * 3600, resend_cooldown_seconds=60, max_resends=5,
)
TWO = ("7701-000101", "7701-000103")

LINES: list[tuple[Event, str]] = [
    (Event(Kind.SIGNUP_STARTED, at=AT, until=UNTIL), "Регистрация начата 01.03.2026 12:05 МСК, срок подтверждения до 03.03.2026 00:30 МСК"),
    (Event(Kind.CONFIRMATION_SENT, at=AT), "Письмо со ссылкой подтверждения отправлено 01.03.2026 12:05 МСК"),
    (Event(Kind.CONFIRMATION_SENT, at=AT, seq=2), "Повторное письмо №2 отправлено 01.03.2026 12:05 МСК"),
    (
        Event(Kind.CONFIRMATION_FAILED, seq=0, problem="почтовый сервер отклонил письмо (SMTP 550: no such user)"),
        "Письмо со ссылкой подтверждения: НЕ ОТПРАВЛЕНО — почтовый сервер отклонил письмо (SMTP 550: no such user)",
    ),
    (Event(Kind.RESEND_REQUESTED, at=AT), "Клиент запросил повторное письмо 01.03.2026 12:05 МСК"),
    (
        Event(Kind.SUPERSEDED, at=AT),
        "Адрес e-mail подтверждён другой регистрацией 01.03.2026 12:05 МСК: эта регистрация отменена и удалена, логин освобождён",
    ),
    (Event(Kind.EXPIRED, at=AT), "Регистрация истекла 01.03.2026 12:05 МСК: логин и e-mail освобождены"),
    (
        Event(Kind.UNDELIVERABLE, at=AT),
        "Регистрация отменена 01.03.2026 12:05 МСК: письмо со ссылкой подтверждения не доставляется, "
        "логин и e-mail освобождены — клиент может зарегистрироваться заново с правильным адресом",
    ),
    (Event(Kind.EMAIL_CONFIRMED, at=AT), "E-mail подтверждён 01.03.2026 12:05 МСК"),
    (Event(Kind.CONFIRMED_BY_BINDING, at=AT), "Подтверждение e-mail получено вместе с привязкой договора 01.03.2026 12:05 МСК"),
    (Event(Kind.AWAITING_CONTRACT, at=AT, until=UNTIL), "Ожидает привязки договора до 03.03.2026 00:30 МСК"),
    (Event(Kind.REMINDER_SENT, at=AT), "Напоминание о привязке договора отправлено 01.03.2026 12:05 МСК"),
    (
        Event(Kind.REMINDER_FAILED, problem="почтовый сервер недоступен в течение суток"),
        "Напоминание о привязке договора: НЕ ОТПРАВЛЕНО — почтовый сервер недоступен в течение суток",
    ),
    (Event(Kind.BIND_ATTEMPT, at=AT, status=BindStatus.BOUND, number="7701-000101"), "Договор № 7701-000101 привязан 01.03.2026 12:05 МСК"),
    (
        Event(Kind.BIND_ATTEMPT, at=AT, status=BindStatus.WRONG_DATA, number="7701-000101"),
        "Попытка привязки договора № 7701-000101 01.03.2026 12:05 МСК: неверные данные",
    ),
    (
        Event(Kind.BIND_ATTEMPT, at=AT, status=BindStatus.INVALID, number=None),
        "Попытка привязки договора № — 01.03.2026 12:05 МСК: поля заполнены неверно",
    ),
    (Event(Kind.CONTRACT_FOUND, at=AT, number="7701-000101"), "Договор № 7701-000101 привязан 01.03.2026 12:05 МСК (по данным базы)"),
    (Event(Kind.CONTRACT_FOUND, at=None, number="7701-000101"), "Договор № 7701-000101 привязан ранее (по данным базы)"),
    (
        Event(Kind.NO_CONTRACT, at=AT),
        "Ожидание договора завершено 01.03.2026 12:05 МСК без договора: кабинет активен, договор можно привязать позже",
    ),
    (Event(Kind.UNBOUND, at=AT, number="7701-000101"), "Договор № 7701-000101 отвязан 01.03.2026 12:05 МСК"),
    (
        Event(Kind.NOT_HELD, at=AT, number="7701-000101"),
        "Договор № 7701-000101 не был привязан к этому кабинету (01.03.2026 12:05 МСК)",
    ),
    (Event(Kind.RESET_SENT, at=AT), "Письмо с паролем отправлено 01.03.2026 12:05 МСК"),
    (Event(Kind.RESET_SENT, at=AT, seq=1), "Повторное письмо с паролем №1 отправлено 01.03.2026 12:05 МСК"),
    (
        Event(Kind.RESET_FAILED, seq=0, problem="почтовый сервер недоступен"),
        "Письмо с паролем: НЕ ОТПРАВЛЕНО — почтовый сервер недоступен",
    ),
    (Event(Kind.RESET_ACCOUNT_INACTIVE, seq=0), "Письмо с паролем не отправлено: учётная запись неактивна"),
    (Event(Kind.RESET_SKIPPED, at=AT), "Повторный запрос 01.03.2026 12:05 МСК пропущен (пауза между письмами или лимит)"),
    (Event(Kind.RESET_EXPIRED, at=AT), "Пароль из письма истёк 01.03.2026 12:05 МСК"),
    (Event(Kind.RESET_USED, at=AT), "Вход с паролем из письма 01.03.2026 12:05 МСК"),
    (
        Event(Kind.INVITATION_STARTED, at=AT, until=UNTIL, login="ooo-romashka", numbers=TWO),
        "Приглашение создано 01.03.2026 12:05 МСК администратором ooo-romashka: договоры № 7701-000101, "
        "7701-000103; действует до 03.03.2026 00:30 МСК",
    ),
    (
        Event(Kind.INVITATION_STARTED, at=AT, until=UNTIL, login="ooo-romashka", numbers=TWO[:1]),
        "Приглашение создано 01.03.2026 12:05 МСК администратором ooo-romashka: договор № 7701-000101; "
        "действует до 03.03.2026 00:30 МСК",
    ),
    (Event(Kind.INVITATION_SENT, at=AT), "Письмо-приглашение отправлено 01.03.2026 12:05 МСК"),
    (Event(Kind.INVITATION_SENT, at=AT, seq=2), "Повторное письмо-приглашение №2 отправлено 01.03.2026 12:05 МСК"),
    (
        Event(Kind.INVITATION_NOT_SENT, at=AT, seq=1),
        "Повторное письмо-приглашение №1 не отправлено: приглашение уже не действует (по данным базы)",
    ),
    (
        Event(Kind.INVITATION_FAILED, seq=0, problem="почтовый сервер отклонил письмо (SMTP 550: no such user)"),
        "Письмо-приглашение: НЕ ОТПРАВЛЕНО — почтовый сервер отклонил письмо (SMTP 550: no such user)",
    ),
    (
        Event(Kind.INVITATION_RESEND_REQUESTED, at=AT, login="ooo-romashka"),
        "Администратор ooo-romashka запросил повторное письмо 01.03.2026 12:05 МСК",
    ),
    (
        Event(Kind.INVITATION_ACCEPTED, at=AT, login="buh-ivanova", numbers=TWO),
        "Приглашение принято 01.03.2026 12:05 МСК пользователем buh-ivanova: выдан доступ к договорам № "
        "7701-000101, 7701-000103",
    ),
    (
        Event(Kind.INVITATION_ACCEPTED, at=AT, login="buh-ivanova", numbers=TWO[:1]),
        "Приглашение принято 01.03.2026 12:05 МСК пользователем buh-ivanova: выдан доступ к договору № 7701-000101",
    ),
    (
        Event(Kind.INVITATION_ACCEPTED, at=AT, login="buh-ivanova"),
        "Приглашение принято 01.03.2026 12:05 МСК пользователем buh-ivanova; его договоры уже отвязаны, доступ не выдан",
    ),
    (
        Event(Kind.ACCEPT_TOO_LATE, at=AT, login="buh-ivanova", stage=InvitationStage.REVOKED),
        "Пользователь buh-ivanova пытался принять приглашение 01.03.2026 12:05 МСК, но оно уже отозвано",
    ),
    (
        Event(Kind.ACCEPT_TOO_LATE, at=AT, login="buh-ivanova", stage=InvitationStage.PENDING),
        "Пользователь buh-ivanova пытался принять приглашение 01.03.2026 12:05 МСК, но оно уже просрочено",
    ),
    (
        Event(Kind.INVITATION_REVOKED, at=AT, login="ooo-romashka"),
        "Приглашение отозвано администратором ooo-romashka 01.03.2026 12:05 МСК",
    ),
    (
        Event(Kind.REVOKE_TOO_LATE, at=AT, login="ooo-romashka", stage=InvitationStage.ACCEPTED),
        "Администратор ooo-romashka пытался отозвать приглашение 01.03.2026 12:05 МСК, но оно уже принято",
    ),
    (
        Event(Kind.INVITATION_WITHDRAWN, at=AT),
        "Приглашение отозвано 01.03.2026 12:05 МСК: договоры, к которым оно приглашало, отвязаны",
    ),
    (Event(Kind.INVITATION_EXPIRED, at=AT), "Срок приглашения истёк 01.03.2026 12:05 МСК: ссылка больше не действует"),
    (
        Event(Kind.INVITATION_UNDELIVERABLE, at=AT),
        "Приглашение закрыто 01.03.2026 12:05 МСК: письмо-приглашение не доставляется, ссылка больше не действует",
    ),
    (
        Event(Kind.INVITATION_FOUND, at=AT, stage=InvitationStage.UNDELIVERABLE),
        "Приглашение уже закрыто: письмо не доставляется (по данным базы, 01.03.2026 12:05 МСК)",
    ),
    (
        Event(Kind.INVITER_NOTIFIED, at=AT),
        "Администратору отправлено письмо «Приглашение принято» 01.03.2026 12:05 МСК",
    ),
    (
        Event(Kind.INVITER_NOT_NOTIFIED, at=AT),
        "Письмо администратору «Приглашение принято» не нужно (01.03.2026 12:05 МСК): по данным базы приглашение не принято",
    ),
    (
        Event(Kind.INVITER_NOTICE_FAILED, problem="почтовый сервер недоступен в течение суток"),
        "Письмо администратору «Приглашение принято»: НЕ ОТПРАВЛЕНО — почтовый сервер недоступен в течение суток",
    ),
]


@pytest.mark.parametrize(("event", "text"), LINES, ids=lambda v: v.kind.value if isinstance(v, Event) else "")
def test_every_event_reads_as_before(event: Event, text: str) -> None:
    assert line(event) == text


def test_every_kind_has_wording() -> None:
    assert {event.kind for event, _ in LINES} == set(Kind)


def test_labels_and_mail_problems() -> None:
    assert confirmation_label(0) == "Письмо со ссылкой подтверждения" and confirmation_label(3) == "Повторное письмо №3"
    assert reset_label(0) == "Письмо с паролем" and reset_label(2) == "Повторное письмо с паролем №2"
    assert mail_problem("SMTP 550: x") == "почтовый сервер отклонил письмо (SMTP 550: x)"
    assert mail_problem(None) == "почтовый сервер недоступен до истечения срока регистрации"
    assert mail_problem(None, WITHIN_A_DAY) == "почтовый сервер недоступен в течение суток"
    assert (reset_mail_problem(True), reset_mail_problem(False)) == (
        "почтовый сервер отклонил письмо",
        "почтовый сервер недоступен",
    )


def test_onboarding_details_with_the_default_limits_read_as_before() -> None:
    events = [Event(Kind.SIGNUP_STARTED, at=AT, until=UNTIL), Event(Kind.CONFIRMATION_SENT, at=AT)]
    assert onboarding_details(OnboardingStage.AWAITING_EMAIL, events, PARAMS) == (
        "**Ожидает подтверждения e-mail**\n\n"
        "_Ждём, когда клиент перейдёт по ссылке из письма; ниже видно, ушло ли письмо. Новое письмо — "
        "кнопкой «Отправить письмо ещё раз» на странице «Проверьте почту» (не чаще раза в минуту, до 5 раз)._\n\n"
        "- Регистрация начата 01.03.2026 12:05 МСК, срок подтверждения до 03.03.2026 00:30 МСК\n"
        "- Письмо со ссылкой подтверждения отправлено 01.03.2026 12:05 МСК"
    )
    assert onboarding_details(OnboardingStage.NO_CONTRACT, events[:1], PARAMS) == (
        "**Без договора: ожидание привязки завершено**\n\n"
        "- Регистрация начата 01.03.2026 12:05 МСК, срок подтверждения до 03.03.2026 00:30 МСК"
    )
    assert event_list(events[1:]) == "- Письмо со ссылкой подтверждения отправлено 01.03.2026 12:05 МСК"


def test_invitation_details_read_as_support_expects() -> None:
    events = [
        Event(Kind.INVITATION_STARTED, at=AT, until=UNTIL, login="ooo-romashka", numbers=TWO),
        Event(Kind.INVITATION_SENT, at=AT),
    ]
    assert invitation_details(InvitationStage.PENDING, events, INVITATION) == (
        "**Приглашение ожидает принятия**\n\n"
        "_Ждём, когда приглашённый откроет ссылку из письма и нажмёт «Принять приглашение»; ниже видно, ушло ли "
        "письмо. Новое письмо — кнопкой «Отправить повторно» в разделе «Пользователи кабинета» "
        "(не чаще раза в минуту, до 5 раз); ссылка из прежнего письма при этом перестаёт действовать._\n\n"
        "- Приглашение создано 01.03.2026 12:05 МСК администратором ooo-romashka: договоры № 7701-000101, "
        "7701-000103; действует до 03.03.2026 00:30 МСК\n"
        "- Письмо-приглашение отправлено 01.03.2026 12:05 МСК"
    )
    for stage in InvitationStage:  # every stage has a title and a hint
        assert invitation_details(stage, [], INVITATION).startswith("**")
    assert "не доставляется" in invitation_details(InvitationStage.UNDELIVERABLE, [], INVITATION)
    assert "(не чаще раза в 2 минуты, до 3 раз)" in invitation_details(
        InvitationStage.PENDING, [], INVITATION.model_copy(update={"resend_cooldown_seconds": 120, "max_resends": 3})
    )


def test_invitation_labels_and_mail_problem() -> None:
    assert invitation_label(0) == "Письмо-приглашение" and invitation_label(1) == "Повторное письмо-приглашение №1"
    assert mail_problem(None, WITHIN_INVITATION) == "почтовый сервер недоступен до истечения срока приглашения"


def test_the_resend_hint_follows_the_runs_own_limits() -> None:
    params = PARAMS.model_copy(update={"resend_cooldown_seconds": 120, "max_resends": 3})
    assert "(не чаще раза в 2 минуты, до 3 раз)" in onboarding_details(OnboardingStage.AWAITING_EMAIL, [], params)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(60, "раза в минуту"), (120, "раза в 2 минуты"), (300, "раза в 5 минут"), (1260, "раза в 21 минуту"),
     (30, "раза в 30 секунд"), (1, "раза в секунду"), (90, "раза в 90 секунд"), (3600, "раза в час"), (7200, "раза в 2 часа")],
)
def test_once_per(seconds: int, text: str) -> None:
    assert once_per(seconds) == text


@pytest.mark.parametrize(("n", "text"), [(1, "1 раза"), (2, "2 раз"), (5, "5 раз"), (11, "11 раз"), (21, "21 раза")])
def test_times_up_to(n: int, text: str) -> None:
    assert times_up_to(n) == text
