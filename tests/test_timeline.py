"""The Russian timeline support reads in the Temporal UI: the wording of every event
and of the stage hints, pinned (workflows record structured events; workflows.timeline
renders them)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from workflows.display import once_per, times_up_to
from workflows.messages import BindStatus, OnboardingInput, OnboardingStage
from workflows.timeline import (
    WITHIN_A_DAY,
    Event,
    Kind,
    confirmation_label,
    event_list,
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
