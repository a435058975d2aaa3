"""The company store on a real database (SQLite and PostgreSQL): the rights rule, the
last-administrator rule, single-use invitations, limits and races, unbinding, the audit
trail and the migration's backfill. Races are real: threads released together by a
barrier, each with a session of its own."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from pydantic import ValidationError
from sqlalchemy import Boolean, DateTime, column, table, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from lkk import schema
from lkk.billing import bindings
from lkk.billing.errors import ContractNotBound
from lkk.billing.models import BindingEvent, ContractBinding
from lkk.company import access, audit, invitations, members
from lkk.company.errors import (
    ContractFull,
    InvitationClosed,
    InvitationNotFound,
    LastAdministrator,
    MemberNotFound,
    NoRights,
    TooManyInvitations,
    TooManyPendingInvitations,
)
from lkk.company.models import (
    AuditAction,
    AuditEvent,
    ContractMember,
    Invitation,
    InvitationContract,
    InvitationCreate,
    InvitationStatus,
    Role,
)
from lkk.db import make_engine, session_for, transaction
from lkk.models import Account, AccountStatus
from lkk.settings import CompanySettings

SECRET = "test-secret-key-of-at-least-32-characters"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
A, B = "7701-000101", "7701-000103"
_T = TypeVar("_T")


# --- helpers ---------------------------------------------------------------------------------


def unit(engine: Engine, work: Callable[[Session], _T]) -> _T:
    """One unit of work on a session of its own, as a service or an activity runs it."""
    with session_for(engine) as session, transaction(session):
        return work(session)


@pytest.fixture
def account(engine: Engine) -> Callable[..., tuple[str, str]]:
    """A new active account: (id, login)."""

    def make(email: str | None = None) -> tuple[str, str]:
        login = f"user-{uuid.uuid4().hex[:10]}"
        mail = email or f"{login}@example.ru"
        row = Account(
            login=login,
            login_key=login,
            email=mail,
            email_key=mail.lower(),
            password_hash="x",
            status=AccountStatus.ACTIVE,
            created_at=NOW,
        )
        unit(engine, lambda s: s.add(row))
        return row.id, login

    return make


def bind(engine: Engine, number: str, who: tuple[str, str], at: datetime = NOW) -> None:
    """What ``bindings.bind`` does once the code is proven: the binding and its first administrator."""

    def work(s: Session) -> None:
        s.add(ContractBinding(contract_number=number, account_id=who[0], bound_at=at))
        s.flush()
        members.add_binder(s, number, who[0], who[1], at)

    unit(engine, work)


def grant(engine: Engine, number: str, who: tuple[str, str], role: Role, by: str | None = None) -> Role:
    return unit(engine, lambda s: members.grant(s, number, who[0], role, by, NOW))


def invite(
    engine: Engine,
    who: tuple[str, str],
    numbers: list[str],
    limits: CompanySettings | None = None,
    *,
    email: str | None = None,
    role: Role = Role.VIEWER,
    now: datetime = NOW,
) -> str:
    form = InvitationCreate(email=email or f"{uuid.uuid4().hex[:8]}@example.ru", contract_numbers=numbers, role=role)
    public = unit(engine, lambda s: invitations.create(s, who[0], who[1], form, limits or CompanySettings(), now))
    return public.id


def role_of(engine: Engine, who: tuple[str, str], number: str) -> Role | None:
    return unit(engine, lambda s: access.role_of(s, who[0], number))


def status_of(engine: Engine, invitation_id: str) -> InvitationStatus:
    row = unit(engine, lambda s: s.get(Invitation, invitation_id))
    assert row is not None
    return InvitationStatus(row.status)


def trail(engine: Engine, number: str) -> list[tuple[str, str | None, str | None, str | None]]:
    """(action, actor login, subject, role) of one contract's rows, in write order."""
    rows = unit(
        engine,
        lambda s: s.exec(
            select(AuditEvent).where(AuditEvent.contract_number == number).order_by(AuditEvent.id)  # type: ignore[arg-type]
        ).all(),
    )
    return [(r.action, r.actor_login, r.subject, r.role) for r in rows]


def released_together(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run every job in its own thread, all released at the same instant; results or raised errors."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = jobs[i]()
        except BaseException as err:  # noqa: BLE001  (the caller inspects it)
            results[i] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert not any(th.is_alive() for th in threads), "a thread is stuck (deadlock?)"
    return results


# --- the rights rule -------------------------------------------------------------------------


def test_rights_rule_admin_viewer_outsider(engine: Engine, account: Callable[..., tuple[str, str]]) -> None:
    admin, viewer, outsider = account(), account(), account()
    bind(engine, A, admin)
    bind(engine, B, admin, NOW + timedelta(minutes=1))
    assert grant(engine, A, viewer, Role.VIEWER, admin[0]) is Role.VIEWER

    def require(who: tuple[str, str], number: str, role: Role) -> Role:
        return unit(engine, lambda s: access.require(s, who[0], number, role))

    assert require(admin, A, Role.ADMIN) is Role.ADMIN
    assert require(admin, " 7701–000101 ", Role.ADMIN) is Role.ADMIN  # normalised (en dash, blanks)
    assert require(viewer, A, Role.VIEWER) is Role.VIEWER
    with pytest.raises(NoRights):
        require(viewer, A, Role.ADMIN)
    with pytest.raises(ContractNotBound):
        require(viewer, B, Role.VIEWER)  # bound, but not shared with them: does not exist for them
    for number in (A, "7701-999999", "not a number"):
        with pytest.raises(ContractNotBound):
            require(outsider, number, Role.VIEWER)

    mine = unit(engine, lambda s: [(b.contract_number, r) for b, r in access.contracts_of(s, admin[0])])
    assert mine == [(A, Role.ADMIN), (B, Role.ADMIN)]  # oldest binding first
    assert unit(engine, lambda s: [(b.contract_number, r) for b, r in access.contracts_of(s, viewer[0])]) == [
        (A, Role.VIEWER)
    ]
    assert unit(engine, lambda s: access.contracts_of(s, outsider[0])) == []
    assert unit(engine, lambda s: access.administered(s, admin[0])) == [A, B]
    assert unit(engine, lambda s: access.administered(s, viewer[0])) == []


def test_grant_keeps_the_higher_role(engine: Engine, account: Callable[..., tuple[str, str]]) -> None:
    admin, colleague = account(), account()
    bind(engine, A, admin)
    assert grant(engine, A, colleague, Role.VIEWER, admin[0]) is Role.VIEWER
    assert grant(engine, A, colleague, Role.ADMIN, admin[0]) is Role.ADMIN  # raised
    assert grant(engine, A, colleague, Role.VIEWER, admin[0]) is Role.ADMIN  # never lowered
    assert role_of(engine, colleague, A) is Role.ADMIN
    rows = unit(engine, lambda s: s.exec(select(ContractMember).where(ContractMember.contract_number == A)).all())
    assert len(rows) == 2  # one row per (contract, account)


def test_members_listed_admins_first_then_login(engine: Engine, account: Callable[..., tuple[str, str]]) -> None:
    admin, one, two = account(), account(), account()
    bind(engine, A, admin)
    bind(engine, B, one, NOW + timedelta(minutes=1))
    grant(engine, A, two, Role.VIEWER)
    grant(engine, A, one, Role.VIEWER)
    listed = unit(engine, lambda s: members.list_members(s, [B, A]))
    viewers_of_a = sorted([one[1], two[1]])
    assert [(m.contract_number, m.login, m.role) for m in listed] == [
        (B, one[1], Role.ADMIN),
        (A, admin[1], Role.ADMIN),
        (A, viewers_of_a[0], Role.VIEWER),
        (A, viewers_of_a[1], Role.VIEWER),
    ]
    assert unit(engine, lambda s: members.list_members(s, [])) == []


# --- rights changes ----------------------------------------------------------------------------


def test_last_administrator_and_who_may_change_rights(
    engine: Engine, account: Callable[..., tuple[str, str]]
) -> None:
    admin, second, viewer, outsider = account(), account(), account(), account()
    bind(engine, A, admin)
    grant(engine, A, viewer, Role.VIEWER, admin[0])

    def change(actor: tuple[str, str], login: str, role: Role) -> Any:
        return unit(engine, lambda s: members.change_role(s, actor[0], actor[1], A, login, role, NOW))

    def revoke(actor: tuple[str, str], login: str) -> None:
        unit(engine, lambda s: members.revoke_access(s, actor[0], actor[1], A, login, NOW))

    with pytest.raises(LastAdministrator):
        change(admin, admin[1], Role.VIEWER)
    with pytest.raises(LastAdministrator):
        revoke(admin, admin[1].upper())  # logins match regardless of case
    with pytest.raises(NoRights):
        change(viewer, viewer[1], Role.ADMIN)  # a viewer cannot promote itself
    with pytest.raises(NoRights):
        revoke(viewer, admin[1])
    with pytest.raises(ContractNotBound):
        change(outsider, viewer[1], Role.ADMIN)
    with pytest.raises(MemberNotFound):
        change(admin, outsider[1], Role.ADMIN)  # no access: one answer, exists or not
    with pytest.raises(MemberNotFound):
        revoke(admin, "nobody-at-all")

    grant(engine, A, second, Role.ADMIN, admin[0])
    shown = change(second, admin[1], Role.VIEWER)  # two admins: one may demote the other
    assert (shown.login, shown.role) == (admin[1], Role.VIEWER)
    with pytest.raises(LastAdministrator):
        change(second, second[1], Role.VIEWER)
    revoke(second, viewer[1])
    assert role_of(engine, viewer, A) is None
    assert role_of(engine, admin, A) is Role.VIEWER
    assert trail(engine, A) == [
        (AuditAction.BOUND, admin[1], None, None),
        (AuditAction.ROLE_CHANGED, second[1], admin[1], Role.VIEWER),
        (AuditAction.ACCESS_REVOKED, second[1], viewer[1], Role.VIEWER),
    ]  # refusals leave no row


@pytest.mark.parametrize("round_", range(3))
def test_two_admins_demoting_each_other_at_once_leave_one(
    engine: Engine, account: Callable[..., tuple[str, str]], round_: int
) -> None:
    first, second = account(), account()
    bind(engine, A, first)
    grant(engine, A, second, Role.ADMIN, first[0])

    def demote(actor: tuple[str, str], other: tuple[str, str]) -> Callable[[], Any]:
        return lambda: unit(engine, lambda s: members.change_role(s, actor[0], actor[1], A, other[1], Role.VIEWER, NOW))

    outcomes = released_together([demote(first, second), demote(second, first)])
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], (NoRights, LastAdministrator)), outcomes
    roles = sorted([role_of(engine, first, A), role_of(engine, second, A)])  # type: ignore[type-var]
    assert roles == [Role.ADMIN, Role.VIEWER]
    assert [row[0] for row in trail(engine, A)].count(AuditAction.ROLE_CHANGED) == 1


@pytest.mark.parametrize("round_", range(2))
def test_two_admins_revoking_each_other_at_once_leave_one(
    engine: Engine, account: Callable[..., tuple[str, str]], round_: int
) -> None:
    first, second = account(), account()
    bind(engine, A, first)
    grant(engine, A, second, Role.ADMIN, first[0])

    def revoke(actor: tuple[str, str], other: tuple[str, str]) -> Callable[[], Any]:
        return lambda: unit(engine, lambda s: members.revoke_access(s, actor[0], actor[1], A, other[1], NOW))

    outcomes = released_together([revoke(first, second), revoke(second, first)])
    assert sum(isinstance(o, Exception) for o in outcomes) == 1, outcomes
    left = [who for who in (first, second) if role_of(engine, who, A) is Role.ADMIN]
    assert len(left) == 1


# --- invitations -------------------------------------------------------------------------------


def test_create_needs_contracts_and_admin_rights(engine: Engine, account: Callable[..., tuple[str, str]]) -> None:
    admin, viewer, outsider = account(), account(), account()
    bind(engine, A, admin)
    bind(engine, B, outsider, NOW + timedelta(minutes=1))
    grant(engine, A, viewer, Role.VIEWER)
    with pytest.raises(ValidationError, match="Выберите хотя бы один договор"):
        invite(engine, admin, [])  # the form's model refuses it before any store runs
    with pytest.raises(NoRights):
        invite(engine, viewer, [A])
    with pytest.raises(ContractNotBound):
        invite(engine, admin, [A, B])  # one contract is someone else's: nothing is created
    assert unit(engine, lambda s: s.exec(select(Invitation)).all()) == []
    invitation_id = invite(engine, admin, [A, A], email="Energetik@Example.RU", role=Role.ADMIN)
    row = unit(engine, lambda s: s.get(Invitation, invitation_id))
    assert row is not None
    assert (row.status, row.email_key, row.token_hash, row.emails_sent) == (
        InvitationStatus.PENDING, "energetik@example.ru", None, 0
    )
    assert row.expires_at.replace(tzinfo=UTC) == NOW + timedelta(hours=72)
    assert trail(engine, A)[-1] == (AuditAction.INVITED, admin[1], row.email, Role.ADMIN)


def test_links_peek_and_single_use(engine: Engine, account: Callable[..., tuple[str, str]]) -> None:
    admin, colleague = account(), account(email="colleague@example.ru")
    bind(engine, A, admin)
    bind(engine, B, admin, NOW + timedelta(minutes=1))
    invitation_id = invite(engine, admin, [A, B], email="colleague@example.ru", role=Role.ADMIN)

    first = unit(engine, lambda s: invitations.issue_link(s, invitation_id, 0, NOW, secret_key=SECRET))
    assert first is not None and first.contract_numbers == [A, B] and first.inviter_login == admin[1]
    view = unit(engine, lambda s: invitations.peek(s, first.token, NOW))
    assert (view.id, view.role, view.account_exists, view.contract_numbers) == (invitation_id, Role.ADMIN, True, [A, B])
    # A re-send kills the older link; a retried activity of the same send mails the same
    # link (a copy delivered before a crash stays valid) and records the re-send once.
    second = unit(engine, lambda s: invitations.issue_link(s, invitation_id, 1, NOW, admin[0], admin[1], secret_key=SECRET))
    again = unit(engine, lambda s: invitations.issue_link(s, invitation_id, 1, NOW, admin[0], admin[1], secret_key=SECRET))
    assert second is not None and again is not None and again.token == second.token != first.token
    with pytest.raises(InvitationNotFound):
        unit(engine, lambda s: invitations.peek(s, first.token, NOW))
    assert unit(engine, lambda s: invitations.peek(s, second.token, NOW)).id == invitation_id
    assert [row[0] for row in trail(engine, A)].count(AuditAction.RESENT) == 1
    assert unit(engine, lambda s: s.get(Invitation, invitation_id)).emails_sent == 2  # type: ignore[union-attr]

    result = unit(engine, lambda s: invitations.accept(s, invitation_id, colleague[0], colleague[1], NOW))
    assert (result.accepted, result.status, result.contract_numbers) == (True, "accepted", [A, B])
    assert role_of(engine, colleague, A) is Role.ADMIN and role_of(engine, colleague, B) is Role.ADMIN
    replay = unit(engine, lambda s: invitations.accept(s, invitation_id, colleague[0], colleague[1], NOW))
    assert (replay.accepted, replay.status) == (False, "accepted")
    closed = unit(engine, lambda s: invitations.close(s, invitation_id, InvitationStatus.REVOKED, NOW))
    assert closed == (False, InvitationStatus.ACCEPTED)
    with pytest.raises(InvitationClosed) as used:
        unit(engine, lambda s: invitations.peek(s, again.token, NOW))
    assert used.value.status is InvitationStatus.ACCEPTED
    assert unit(engine, lambda s: invitations.issue_link(s, invitation_id, 2, NOW, secret_key=SECRET)) is None
    notice = unit(engine, lambda s: invitations.inviter_notice(s, invitation_id))
    assert notice is not None
    assert (notice.inviter_login, notice.colleague_login, notice.role, notice.contract_numbers) == (
        admin[1], colleague[1], Role.ADMIN, [A, B]
    )
    assert trail(engine, B)[-1] == (AuditAction.ACCEPTED, colleague[1], colleague[1], Role.ADMIN)


def test_expired_and_revoked_links_say_so(engine: Engine, account: Callable[..., tuple[str, str]]) -> None:
    admin, colleague = account(), account()
    bind(engine, A, admin)
    stale = invite(engine, admin, [A])
    link = unit(engine, lambda s: invitations.issue_link(s, stale, 0, NOW, secret_key=SECRET))
    assert link is not None
    later = NOW + timedelta(hours=72)
    with pytest.raises(InvitationClosed) as expired:
        unit(engine, lambda s: invitations.peek(s, link.token, later))
    assert expired.value.status is InvitationStatus.EXPIRED
    late = unit(engine, lambda s: invitations.accept(s, stale, colleague[0], colleague[1], later))
    assert (late.accepted, late.status) == (False, "expired")
    assert unit(engine, lambda s: invitations.issue_link(s, stale, 1, later, secret_key=SECRET)) is None
    assert unit(engine, lambda s: invitations.close(s, stale, InvitationStatus.EXPIRED, later)) == (
        True, InvitationStatus.EXPIRED
    )
    assert unit(engine, lambda s: invitations.inviter_notice(s, stale)) is None

    revoked = invite(engine, admin, [A])
    link = unit(engine, lambda s: invitations.issue_link(s, revoked, 0, NOW, secret_key=SECRET))
    assert link is not None
    assert unit(engine, lambda s: invitations.close(s, revoked, InvitationStatus.REVOKED, NOW, admin[0], admin[1])) == (
        True, InvitationStatus.REVOKED
    )
    with pytest.raises(InvitationClosed) as gone:
        unit(engine, lambda s: invitations.peek(s, link.token, NOW))
    assert gone.value.status is InvitationStatus.REVOKED
    with pytest.raises(InvitationNotFound):
        unit(engine, lambda s: invitations.peek(s, "no-such-token", NOW))
    actions = [row[0] for row in trail(engine, A)]
    assert actions[-3:] == [AuditAction.INVITATION_EXPIRED, AuditAction.INVITED, AuditAction.INVITATION_REVOKED]
    assert role_of(engine, colleague, A) is None


def test_managed_and_pending_lists(engine: Engine, account: Callable[..., tuple[str, str]]) -> None:
    admin, viewer, other_admin = account(), account(), account()
    bind(engine, A, admin)
    bind(engine, B, admin, NOW + timedelta(minutes=1))
    grant(engine, A, viewer, Role.VIEWER)
    grant(engine, B, other_admin, Role.ADMIN)
    older = invite(engine, admin, [A, B])
    newer = invite(engine, admin, [A], now=NOW + timedelta(minutes=5))
    assert unit(engine, lambda s: invitations.managed(s, admin[0], older).id) == older
    assert unit(engine, lambda s: invitations.managed(s, other_admin[0], older).id) == older  # admin of B
    for actor, invitation_id in ((other_admin, newer), (admin, "f" * 32)):
        with pytest.raises(InvitationNotFound):
            unit(engine, lambda s: invitations.managed(s, actor[0], invitation_id))  # noqa: B023
    with pytest.raises(NoRights):  # sees contract A, may not manage its invitations
        unit(engine, lambda s: invitations.managed(s, viewer[0], older))
    listed = unit(engine, lambda s: invitations.pending_for(s, [A, B], NOW + timedelta(minutes=6)))
    assert [(i.id, i.contract_numbers) for i in listed] == [(newer, [A]), (older, [A, B])]
    only_b = unit(engine, lambda s: invitations.pending_for(s, [B], NOW + timedelta(minutes=6)))
    assert [(i.id, i.contract_numbers) for i in only_b] == [(older, [B])]  # A is not shown to B's admin
    expired = unit(engine, lambda s: invitations.pending_for(s, [A, B], NOW + timedelta(hours=73)))
    assert expired == []


@pytest.mark.parametrize("round_", range(4))
def test_accept_and_revoke_at_the_same_instant_give_one_outcome(
    engine: Engine, account: Callable[..., tuple[str, str]], round_: int
) -> None:
    admin, colleague = account(), account()
    bind(engine, A, admin)
    invitation_id = invite(engine, admin, [A])
    accept_result, close_result = released_together(
        [
            lambda: unit(engine, lambda s: invitations.accept(s, invitation_id, colleague[0], colleague[1], NOW)),
            lambda: unit(
                engine,
                lambda s: invitations.close(s, invitation_id, InvitationStatus.REVOKED, NOW, admin[0], admin[1]),
            ),
        ]
    )
    assert not isinstance(accept_result, Exception) and not isinstance(close_result, Exception)
    closed, status_after_close = close_result
    assert accept_result.accepted != closed  # exactly one wins
    final = status_of(engine, invitation_id)
    if accept_result.accepted:
        assert final is InvitationStatus.ACCEPTED and status_after_close is InvitationStatus.ACCEPTED
        assert role_of(engine, colleague, A) is Role.VIEWER
    else:
        assert final is InvitationStatus.REVOKED and accept_result.status == "revoked"
        assert role_of(engine, colleague, A) is None
    actions = [row[0] for row in trail(engine, A)]
    assert actions.count(AuditAction.ACCEPTED) + actions.count(AuditAction.INVITATION_REVOKED) == 1


# --- limits under a burst ------------------------------------------------------------------


def _burst(engine: Engine, admin: tuple[str, str], numbers: list[str], limits: CompanySettings, n: int) -> list[Any]:
    return released_together([lambda: invite(engine, admin, numbers, limits) for _ in range(n)])


def test_per_hour_limit_holds_under_a_burst(engine: Engine, account: Callable[..., tuple[str, str]]) -> None:
    admin = account()
    bind(engine, A, admin)
    limits = CompanySettings(max_invitations_per_hour_per_admin=3)
    outcomes = _burst(engine, admin, [A], limits, 8)
    passed = [o for o in outcomes if isinstance(o, str)]
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(passed) == 3 and len(refused) == 5, outcomes
    assert all(isinstance(o, TooManyInvitations) and o.retry_after_seconds == 3600 for o in refused), refused
    # The window slides: 40 minutes later the earliest is still inside it.
    with pytest.raises(TooManyInvitations) as later:
        invite(engine, admin, [A], limits, now=NOW + timedelta(minutes=40))
    assert later.value.retry_after_seconds == 20 * 60
    invite(engine, admin, [A], limits, now=NOW + timedelta(hours=1))


def test_pending_limit_holds_under_a_burst(engine: Engine, account: Callable[..., tuple[str, str]]) -> None:
    admin, colleague = account(), account()
    bind(engine, A, admin)
    limits = CompanySettings(max_pending_invitations_per_admin=2, max_invitations_per_hour_per_admin=100)
    outcomes = _burst(engine, admin, [A], limits, 6)
    passed = [o for o in outcomes if isinstance(o, str)]
    assert len(passed) == 2, outcomes
    assert all(isinstance(o, TooManyPendingInvitations) for o in outcomes if not isinstance(o, str))
    # An accepted one no longer counts; neither does one past its expiry.
    assert unit(engine, lambda s: invitations.accept(s, passed[0], colleague[0], colleague[1], NOW)).accepted
    invite(engine, admin, [A], limits)
    with pytest.raises(TooManyPendingInvitations):
        invite(engine, admin, [A], limits)
    invite(engine, admin, [A], limits, now=NOW + timedelta(hours=72))


def test_users_per_contract_limit_holds_under_a_burst(
    engine: Engine, account: Callable[..., tuple[str, str]]
) -> None:
    admin, viewer, second_admin = account(), account(), account()
    bind(engine, A, admin)
    bind(engine, B, admin, NOW + timedelta(minutes=1))
    grant(engine, A, viewer, Role.VIEWER)
    grant(engine, A, second_admin, Role.ADMIN)
    limits = CompanySettings(max_users_per_contract=6, max_invitations_per_hour_per_admin=100)
    # Two administrators of the contract at once: members (3) and pending together never pass 6.
    jobs = [lambda: invite(engine, admin, [A, B], limits) for _ in range(4)]
    jobs += [lambda: invite(engine, second_admin, [A], limits) for _ in range(4)]
    outcomes = released_together(jobs)
    passed = [o for o in outcomes if isinstance(o, str)]
    assert len(passed) == 3, outcomes
    refused = [o for o in outcomes if not isinstance(o, str)]
    assert all(isinstance(o, ContractFull) and o.contract_number == A for o in refused), refused
    assert refused[0].fields == {
        "contract_numbers": "К договору № 7701-000101 уже имеют доступ или приглашены 6 пользователей — это предел."
    }


# --- unbinding -----------------------------------------------------------------------------


def test_unbind_ends_access_and_withdraws_pending_invitations(
    engine: Engine, account: Callable[..., tuple[str, str]]
) -> None:
    admin, viewer, colleague = account(), account(), account()
    bind(engine, A, admin)
    bind(engine, B, admin, NOW + timedelta(minutes=1))
    grant(engine, A, viewer, Role.VIEWER)
    only_a = invite(engine, admin, [A], email="only-a@example.ru")
    both = invite(engine, admin, [A, B], email="both@example.ru", now=NOW + timedelta(minutes=1))
    accepted = invite(engine, admin, [A])
    assert unit(engine, lambda s: invitations.accept(s, accepted, colleague[0], colleague[1], NOW)).accepted

    def unbind(who: tuple[str, str], number: str) -> bindings.UnbindOutcome:
        return unit(engine, lambda s: bindings.unbind(s, who[0], number, NOW + timedelta(hours=1)))

    assert unbind(viewer, A) == bindings.UnbindOutcome(unbound=False)  # a viewer may not
    outcome = unbind(admin, A)
    assert outcome == bindings.UnbindOutcome(unbound=True, withdrawn=[only_a])
    for who in (admin, viewer, colleague):
        assert role_of(engine, who, A) is None
    assert unit(engine, lambda s: s.exec(select(ContractMember).where(ContractMember.contract_number == A)).all()) == []
    assert status_of(engine, only_a) is InvitationStatus.REVOKED
    assert status_of(engine, both) is InvitationStatus.PENDING
    assert status_of(engine, accepted) is InvitationStatus.ACCEPTED
    numbers = unit(
        engine,
        lambda s: s.exec(select(InvitationContract.invitation_id, InvitationContract.contract_number)).all(),
    )
    assert sorted(numbers) == sorted([(only_a, A), (both, B), (accepted, A)])  # closed ones keep their history
    assert trail(engine, A)[-3:] == [
        (AuditAction.INVITATION_REVOKED, admin[1], "only-a@example.ru", Role.VIEWER),
        (AuditAction.INVITATION_REVOKED, admin[1], "both@example.ru", Role.VIEWER),
        (AuditAction.UNBOUND, admin[1], None, None),
    ]
    events = unit(engine, lambda s: s.exec(select(BindingEvent.kind, BindingEvent.account_id)).all())
    assert ("unbound", admin[0]) in [(k, a) for k, a in events]
    assert unbind(admin, A) == bindings.UnbindOutcome(unbound=False)  # already gone
    assert unit(engine, lambda s: invitations.pending_for(s, [A, B], NOW)) != []


def test_a_member_administrator_may_unbind(engine: Engine, account: Callable[..., tuple[str, str]]) -> None:
    binder, colleague = account(), account()
    bind(engine, A, binder)
    grant(engine, A, colleague, Role.ADMIN, binder[0])
    outcome = unit(engine, lambda s: bindings.unbind(s, colleague[0], A, NOW))
    assert outcome.unbound and role_of(engine, binder, A) is None
    assert trail(engine, A)[-1] == (AuditAction.UNBOUND, colleague[1], None, None)


# --- the audit trail -----------------------------------------------------------------------


def test_audit_page_newest_first_paginated_and_only_for_admins(
    engine: Engine, account: Callable[..., tuple[str, str]]
) -> None:
    admin, viewer, stranger = account(), account(), account()
    bind(engine, A, admin)
    bind(engine, B, stranger, NOW)
    grant(engine, A, viewer, Role.VIEWER)

    def record(number: str, minutes: int, subject: str) -> None:
        unit(
            engine,
            lambda s: audit.record(
                s, AuditAction.INVITED, [number], now=NOW + timedelta(minutes=minutes),
                actor_account_id=admin[0], actor_login=admin[1], subject=subject,
            ),
        )

    for i in range(1, 6):
        record(A, i, f"a{i}")
    record(A, 5, "a5-same-time")  # equal times: the later row first
    record(B, 10, "someone else's")

    def page(who: tuple[str, str], n: int, per_page: int = 3) -> Any:
        return unit(engine, lambda s: audit.page_for(s, who[0], n, per_page))

    first = page(admin, 1)
    assert (first.page, first.pages, first.total) == (1, 3, 7)  # 6 recorded + BOUND
    assert [e.subject for e in first.events] == ["a5-same-time", "a5", "a4"]
    assert [e.subject for e in page(admin, 2).events] == ["a3", "a2", "a1"]
    last = page(admin, 99)  # clamped to the last page
    assert last.page == 3 and [e.action for e in last.events] == [AuditAction.BOUND]
    assert page(admin, 0).page == 1
    assert all(e.contract_number == A for p in (1, 2, 3) for e in page(admin, p).events)
    nothing = page(viewer, 1)
    assert (nothing.events, nothing.page, nothing.pages, nothing.total) == ([], 1, 1, 0)


def test_audit_of_a_rebound_contract_starts_with_the_new_binding(
    engine: Engine, account: Callable[..., tuple[str, str]]
) -> None:
    old, new = account(), account()
    bind(engine, A, old)
    invite(engine, old, [A], email="old-company@example.ru")
    assert unit(engine, lambda s: bindings.unbind(s, old[0], A, NOW + timedelta(hours=1))).unbound
    bind(engine, A, new, NOW + timedelta(hours=2))
    shown = unit(engine, lambda s: audit.page_for(s, new[0], 1, 20))
    assert [(e.action, e.actor_login) for e in shown.events] == [(AuditAction.BOUND, new[1])]


# --- the migration's backfill -----------------------------------------------------------------


@pytest.fixture
def pre_company_db(db_url: str) -> Iterator[str]:
    schema.upgrade(db_url, "8d2f6b4a1c57")
    yield db_url


def test_migration_backfills_members_and_the_trail(pre_company_db: str) -> None:
    url = pre_company_db
    engine = make_engine(url)
    t0, t1, t2 = NOW, NOW + timedelta(hours=1), NOW + timedelta(hours=2)
    try:
        accounts = table(
            "accounts", *(column(c) for c in ("id", "login", "login_key", "email", "email_key", "password_hash")),
            column("status"), column("created_at", DateTime(timezone=True)), column("must_change_password", Boolean),
        )
        bound = table("contract_bindings", column("contract_number"), column("account_id"),
                      column("bound_at", DateTime(timezone=True)))
        events = table("binding_events", column("kind"), column("contract_number"), column("account_id"),
                       column("at", DateTime(timezone=True)))
        with engine.begin() as conn:
            for account_id, login in (("a" * 32, "first"), ("b" * 32, "second")):
                mail = f"{login}@example.ru"
                conn.execute(accounts.insert().values(
                    id=account_id, login=login, login_key=login, email=mail, email_key=mail, password_hash="x",
                    status="active", created_at=t0, must_change_password=False,
                ))
            conn.execute(bound.insert().values(contract_number=B, account_id="b" * 32, bound_at=t2))
            history = [("bound", A, "a" * 32, t0), ("unbound", A, "a" * 32, t1), ("bound", B, "b" * 32, t2)]
            history.append(("bound", "7701-000999", "c" * 32, t0))  # an account deleted since
            for kind, number, account_id, at in history:
                conn.execute(events.insert().values(kind=kind, contract_number=number, account_id=account_id, at=at))
        schema.upgrade(url)
        with Session(engine) as s:
            member_rows = s.exec(select(ContractMember)).all()
            assert [(m.contract_number, m.account_id, m.role, m.granted_by) for m in member_rows] == [
                (B, "b" * 32, Role.ADMIN, None)
            ]
            assert member_rows[0].granted_at.replace(tzinfo=UTC) == t2
            rows = s.exec(select(AuditEvent).order_by(AuditEvent.id)).all()  # type: ignore[arg-type]
            assert [(r.action, r.contract_number, r.actor_account_id, r.actor_login) for r in rows] == [
                ("bound", A, "a" * 32, "first"),
                ("unbound", A, "a" * 32, "first"),
                ("bound", B, "b" * 32, "second"),
                ("bound", "7701-000999", "c" * 32, None),
            ]
            page = audit.page_for(s, "b" * 32, 1, 20)
            assert [(e.action, e.contract_number) for e in page.events] == [(AuditAction.BOUND, B)]
        assert schema.pending_changes(url) == []
        schema.downgrade(url, "8d2f6b4a1c57")  # and back: the company tables go, the bindings stay
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM contract_bindings")).scalar_one() == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize("round_", range(3))
def test_two_unbindings_withdrawing_an_invitations_last_contracts_at_once_revoke_it(
    engine: Engine, account: Callable[..., tuple[str, str]], round_: int
) -> None:
    admin, second = account(), account()
    bind(engine, A, admin)
    bind(engine, B, admin, NOW + timedelta(minutes=1))
    grant(engine, B, second, Role.ADMIN, admin[0])
    invitation_id = invite(engine, admin, [A, B])
    outcomes = released_together(
        [
            lambda: unit(engine, lambda s: bindings.unbind(s, admin[0], A, NOW)),
            lambda: unit(engine, lambda s: bindings.unbind(s, second[0], B, NOW)),
        ]
    )
    assert all(isinstance(o, bindings.UnbindOutcome) and o.unbound for o in outcomes), outcomes
    assert sorted(len(o.withdrawn) for o in outcomes) == [0, 1]  # one of them revoked it, and told
    assert status_of(engine, invitation_id) is InvitationStatus.REVOKED
