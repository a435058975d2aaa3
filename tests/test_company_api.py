"""Company accounts end to end on the real Temporal dev server over HTTP: the API and the
worker as subprocesses, the SMTP sink, SQLite and PostgreSQL.

An administrator binds a contract and invites a colleague; the colleague accepts from
the letter with a new account and sees the contract with its ТУ and ПУ; rights are
checked on every route (a viewer gets 403 on an administrator's action, an outsider
never sees the contract: 404); the administrator revokes the access, and the trail
shows it all. Closed links say what became of them; a GET of the link changes nothing.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from lkk import schema
from lkk.company.models import Invitation, InvitationStatus
from lkk.db import make_engine
from lkk.settings import Settings
from lkk.timeutil import utcnow
from tests.binding_harness import OPEN_ENTREPRENEUR, OPEN_LEGAL, issue, load_registry
from tests.conftest import DB_BACKENDS, CAPTCHA_TEST_ANSWER, MailSinkProcess, fresh_postgres_database, postgres_server_url
from tests.harness import PASSWORD, token_from, unique_login
from tests.stack import Stack, running_stack

NUMBER = OPEN_LEGAL[0]  # the administrator's contract
OTHER = OPEN_ENTREPRENEUR[0]  # the outsider's own contract
POINT = "TU-000101-01"  # a metering point (ТУ) of NUMBER
METER = "00112201"  # a meter (ПУ) on it


def _csrf(page: httpx.Response) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "every form carries a CSRF token"
    return token.group(1)


@dataclass
class World:
    stack: Stack
    mailsink: MailSinkProcess
    db_url: str
    admin: httpx.Client
    admin_login: str
    outsider: httpx.Client
    outsider_login: str
    outsider_email: str
    colleague: httpx.Client
    colleague_login: str
    colleague_email: str
    pending_id: str  # an invitation to NUMBER nobody accepts (for the rights checks)
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self) -> httpx.Client:
        web = httpx.Client(base_url=self.stack.api_url, timeout=90)
        self.clients.append(web)
        return web

    def letter_token(self, email: str, count: int = 1) -> str:
        letter = self.mailsink.mailbox.wait_for(to=email, subject_contains="Приглашение", count=count, timeout=60)
        return token_from(letter)

    def invite(self, email: str, role: str = "viewer") -> str:
        created = self.admin.post("/api/v1/invitations", json={"email": email, "contract_numbers": [NUMBER], "role": role})
        assert created.status_code == 201, created.text
        return str(created.json()["id"])

    def status_of(self, invitation_id: str) -> InvitationStatus:
        engine = make_engine(self.db_url)
        try:
            with Session(engine) as session:
                row = session.get(Invitation, invitation_id)
                assert row is not None
                return InvitationStatus(row.status)
        finally:
            engine.dispose()


def _cabinet(world_stack: Stack, mailsink: MailSinkProcess, prefix: str) -> tuple[httpx.Client, str, str]:
    """A confirmed, logged-in cabinet through the pages (captcha in its test mode)."""
    web = httpx.Client(base_url=world_stack.api_url, timeout=90)
    login = unique_login(prefix)
    email = f"{login}@example.ru"
    page = web.get("/register")
    captcha_id = re.search(r'name="captcha_id" value="([^"]+)"', page.text)
    assert captcha_id
    registered = web.post(
        "/register",
        data={
            "csrf_token": _csrf(page), "login": login, "email": email, "phone": "", "password": PASSWORD,
            "password_confirm": PASSWORD, "captcha_id": captcha_id.group(1), "captcha_answer": CAPTCHA_TEST_ANSWER,
        },
    )
    assert registered.status_code == 303, registered.text
    token = token_from(mailsink.mailbox.wait_for(to=email, timeout=60))
    confirm_page = web.get("/confirm", params={"token": token})
    assert web.post("/confirm", data={"token": token, "csrf_token": _csrf(confirm_page)}).status_code == 303
    return web, login, email


def _bind(web: httpx.Client, contract: tuple[str, str, str | None], code: str) -> None:
    body = {"contract_number": contract[0], "inn": contract[1], "code": code}
    if contract[2]:
        body["kpp"] = contract[2]
    bound = web.post("/api/v1/contracts", json=body)
    assert bound.status_code == 201, bound.text


@pytest.fixture(scope="module", params=DB_BACKENDS)
def company_db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('company') / 'lkk.db'}"
        return
    with fresh_postgres_database(postgres_server_url() or "") as url:
        yield url


@pytest.fixture(scope="module")
def world(dev_server_env: WorkflowEnvironment, mailsink: MailSinkProcess, company_db_url: str) -> Iterator[World]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="development",
        database_url=company_db_url,
        smtp_port=mailsink.smtp_port,
        captcha_test_answer=CAPTCHA_TEST_ANSWER,
        temporal_address=dev_server_env.client.service_client.config.target_host,
        temporal_task_queue=f"company-{uuid.uuid4().hex[:8]}",
        invitation_resend_cooldown_seconds=1,
        audit_page_size=100,  # the whole trail on one page (paging: tests of the store)
        # Every client here is 127.0.0.1: the per-IP limits are tested elsewhere.
        **{name: "100000/minute" for name in Settings.model_fields
           if name.startswith("rate_limit_") and name not in ("rate_limit_storage_uri", "rate_limit_key_prefix")},
    )
    schema.upgrade(company_db_url)
    engine = make_engine(company_db_url)
    load_registry(engine)
    codes = {NUMBER: issue(engine, NUMBER), OTHER: issue(engine, OTHER)}
    engine.dispose()
    with running_stack(settings) as (front,):
        admin, admin_login, _ = _cabinet(front, mailsink, "adm")
        _bind(admin, OPEN_LEGAL, codes[NUMBER])
        outsider, outsider_login, outsider_email = _cabinet(front, mailsink, "out")
        _bind(outsider, OPEN_ENTREPRENEUR, codes[OTHER])

        # The administrator invites a colleague through the form.
        form = admin.get("/profile/invite")
        assert form.status_code == 200
        for label in ("Пригласить пользователя", "E-mail", "ФИО", "Договоры", "Права доступа", "Просмотр",
                      "Администратор", "Отправить приглашение"):
            assert label in form.text, label
        colleague_login = unique_login("col")
        colleague_email = f"{colleague_login}@example.ru"
        sent = admin.post(
            "/profile/invite",
            data={"email": colleague_email, "full_name": "Петрова Анна Сергеевна", "contract_numbers": NUMBER,
                  "role": "viewer", "csrf_token": _csrf(form)},
        )
        assert sent.status_code == 303, sent.text
        profile = admin.get(sent.headers["location"])
        assert f"Приглашение отправлено на адрес {colleague_email}." in profile.text
        for label in ("Пользователи кабинета", "Пригласить пользователя", "действует до", "Отправить повторно",
                      "Отозвать приглашение", "Журнал действий"):
            assert label in profile.text, label

        # The letter; the link's page has one button and a GET changes nothing.
        token = token_from(mailsink.mailbox.wait_for(to=colleague_email, subject_contains="Приглашение", timeout=60))
        colleague = httpx.Client(base_url=front.api_url, timeout=90)
        page = colleague.get("/invitation", params={"token": token})
        assert page.status_code == 200 and "Принять приглашение" in page.text and colleague_email in page.text
        assert colleague.get("/invitation", params={"token": token}).status_code == 200  # twice: still nothing done
        pending = admin.get("/api/v1/company").json()["contracts"][0]["invitations"]
        assert [i["email"] for i in pending] == [colleague_email]

        # Accepting with a new account: login, password twice, optional phone; logged in at once.
        accepted = colleague.post(
            "/invitation",
            data={"token": token, "login": colleague_login, "password": PASSWORD, "password_confirm": PASSWORD,
                  "phone": "", "csrf_token": _csrf(page)},
        )
        assert accepted.status_code == 303, accepted.text
        shared = colleague.get(accepted.headers["location"])
        assert "Приглашение принято." in shared.text
        for shown in (f"Договор № {NUMBER}", POINT, METER, "Просмотр"):
            assert shown in shared.text, shown
        assert "Отвязать договор" not in shared.text and "Пригласить пользователя" not in shared.text

        pending_id = ""
        world = World(
            front, mailsink, company_db_url, admin, admin_login, outsider, outsider_login, outsider_email,
            colleague, colleague_login, colleague_email, pending_id, [admin, outsider, colleague],
        )
        world.pending_id = world.invite(f"{unique_login('pend')}@example.ru")
        yield world
        for web in world.clients:
            web.close()


# --- the colleague sees the contract; the outsider never does --------------------------------------


def test_the_colleague_sees_the_contract_with_its_points_and_meters(world: World) -> None:
    listed = world.colleague.get("/api/v1/contracts").json()["contracts"]
    assert [(c["number"], c["role"]) for c in listed] == [(NUMBER, "viewer")]
    assert listed[0]["metering_points"][0]["external_id"] == POINT
    company = world.colleague.get("/api/v1/company").json()["contracts"]
    assert company == [{"number": NUMBER, "role": "viewer", "members": [], "invitations": []}]
    members = {m["login"]: m["role"] for m in world.admin.get("/api/v1/company").json()["contracts"][0]["members"]}
    assert members == {world.admin_login: "admin", world.colleague_login: "viewer"}


def test_the_outsider_never_sees_the_contract(world: World) -> None:
    assert [c["number"] for c in world.outsider.get("/api/v1/contracts").json()["contracts"]] == [OTHER]
    assert [c["number"] for c in world.outsider.get("/api/v1/company").json()["contracts"]] == [OTHER]
    for path in ("/profile", "/profile/audit", "/api/v1/audit"):
        answer = world.outsider.get(path)
        assert answer.status_code == 200 and NUMBER not in answer.text and POINT not in answer.text, path


# --- rights on every route ------------------------------------------------------------------------

# (method, path, JSON body or form fields); "{pending}", "{admin}", "{colleague}" are filled in.
API_ADMIN_ROUTES = [
    ("POST", "/api/v1/invitations", {"email": "someone@example.ru", "contract_numbers": [NUMBER], "role": "viewer"}),
    ("POST", "/api/v1/invitations/{pending}/resend", None),
    ("DELETE", "/api/v1/invitations/{pending}", None),
    ("PATCH", f"/api/v1/contracts/{NUMBER}/members/{{colleague}}", {"role": "admin"}),
    ("PATCH", f"/api/v1/contracts/{NUMBER}/members/{{admin}}", {"role": "viewer"}),
    ("DELETE", f"/api/v1/contracts/{NUMBER}/members/{{admin}}", None),
    ("DELETE", f"/api/v1/contracts/{NUMBER}", None),
]
PAGE_ADMIN_ROUTES = [
    ("POST", "/profile/invite", {"email": "someone@example.ru", "contract_numbers": NUMBER, "role": "viewer"}),
    ("POST", "/profile/invitations/resend", {"invitation_id": "{pending}"}),
    ("POST", "/profile/invitations/revoke", {"invitation_id": "{pending}"}),
    ("POST", "/profile/members/role", {"contract_number": NUMBER, "login": "{admin}", "role": "viewer"}),
    ("POST", "/profile/members/revoke", {"contract_number": NUMBER, "login": "{admin}"}),
    ("POST", "/profile/contracts/unbind", {"contract_number": NUMBER}),
]


def _fill(world: World, value: object) -> object:
    if isinstance(value, str):
        return value.format(pending=world.pending_id, admin=world.admin_login, colleague=world.colleague_login)
    if isinstance(value, dict):
        return {k: _fill(world, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(world, v) for v in value]
    return value


def _call(world: World, web: httpx.Client, method: str, path: str, body: object, *, page: bool) -> httpx.Response:
    path = str(_fill(world, path))
    if page:
        fields = dict(_fill(world, body))  # type: ignore[arg-type]
        fields["csrf_token"] = _csrf(web.get("/profile"))
        return web.request(method, path, data=fields)
    return web.request(method, path, json=_fill(world, body) if body is not None else None)


@pytest.mark.parametrize(("method", "path", "body"), API_ADMIN_ROUTES, ids=lambda v: str(v)[:40])
def test_api_admin_routes_refuse_a_viewer_with_403_and_an_outsider_with_404(
    world: World, method: str, path: str, body: object
) -> None:
    as_viewer = _call(world, world.colleague, method, path, body, page=False)
    assert as_viewer.status_code == 403, as_viewer.text
    assert as_viewer.json()["detail"].startswith("Недостаточно прав")
    as_outsider = _call(world, world.outsider, method, path, body, page=False)
    assert as_outsider.status_code == 404, as_outsider.text
    assert NUMBER not in as_outsider.text or "не привязан" in as_outsider.text
    assert world.admin.get("/api/v1/contracts").json()["contracts"][0]["number"] == NUMBER  # nothing changed
    assert world.status_of(world.pending_id) is InvitationStatus.PENDING


@pytest.mark.parametrize(("method", "path", "body"), PAGE_ADMIN_ROUTES, ids=lambda v: str(v)[:40])
def test_page_admin_routes_refuse_a_viewer_with_403_and_an_outsider_with_404(
    world: World, method: str, path: str, body: object
) -> None:
    as_viewer = _call(world, world.colleague, method, path, body, page=True)
    assert as_viewer.status_code == 403, as_viewer.text[:2000]
    assert "Недостаточно прав" in as_viewer.text
    as_outsider = _call(world, world.outsider, method, path, body, page=True)
    assert as_outsider.status_code == 404, as_outsider.text[:2000]
    assert POINT not in as_outsider.text
    assert world.status_of(world.pending_id) is InvitationStatus.PENDING


@pytest.mark.parametrize("path", ["/profile/invite", "/profile/audit", "/api/v1/audit"])
def test_administrator_pages_refuse_a_viewer(world: World, path: str) -> None:
    assert world.colleague.get(path).status_code == 403


def test_signed_out_calls_get_401_or_the_login_page(world: World) -> None:
    with httpx.Client(base_url=world.stack.api_url, timeout=30) as stranger:
        for method, path, body in API_ADMIN_ROUTES + [("GET", "/api/v1/company", None), ("GET", "/api/v1/audit", None)]:
            answer = stranger.request(method, str(_fill(world, path)), json=_fill(world, body) if body else None)
            assert answer.status_code == 401, (path, answer.text)
        for path in ("/profile/invite", "/profile/audit"):
            assert stranger.get(path).headers.get("location") == "/login"


# --- links: existing accounts, mismatches, closed links ------------------------------------------


def test_a_used_link_says_so(world: World) -> None:
    token = world.letter_token(world.colleague_email)
    with httpx.Client(base_url=world.stack.api_url, timeout=30) as other:
        page = other.get("/invitation", params={"token": token})
        assert page.status_code == 410 and "Приглашение уже принято" in page.text
        api = other.post("/api/v1/invitations/accept", json={"token": token})
        assert api.status_code == 410 and "уже принято" in api.json()["detail"]
        unknown = other.get("/invitation", params={"token": "nonsense"})
        assert unknown.status_code == 404 and "Приглашение не найдено" in unknown.text


def test_a_revoked_link_says_so_and_resend_then_revoke_work(world: World) -> None:
    email = f"{unique_login('rev')}@example.ru"
    invitation_id = world.invite(email)
    first = world.letter_token(email)
    time.sleep(1.5)  # the test stack's resend cooldown is 1 s
    resent = world.admin.post(f"/api/v1/invitations/{invitation_id}/resend")
    assert resent.status_code == 200, resent.text
    second = world.letter_token(email, count=2)
    assert second != first
    with httpx.Client(base_url=world.stack.api_url, timeout=30) as other:
        assert other.get("/invitation", params={"token": first}).status_code == 404  # older links die
        page = world.admin.get("/profile")
        revoked = world.admin.post(
            "/profile/invitations/revoke", data={"invitation_id": invitation_id, "csrf_token": _csrf(page)}
        )
        assert revoked.status_code == 303
        assert f"Приглашение для {email} отозвано." in world.admin.get("/profile").text
        closed = other.get("/invitation", params={"token": second})
        assert closed.status_code == 410 and "Приглашение отозвано администратором договора" in closed.text
        again = world.admin.delete(f"/api/v1/invitations/{invitation_id}")
        assert again.status_code == 410


def test_an_expired_link_says_so(world: World) -> None:
    email = f"{unique_login('exp')}@example.ru"
    invitation_id = world.invite(email)
    token = world.letter_token(email)
    engine = make_engine(world.db_url)
    with Session(engine) as session:  # its time ran out (the workflow's timer is tested on the time-skipping server)
        session.exec(update(Invitation).where(Invitation.id == invitation_id).values(expires_at=utcnow() - timedelta(minutes=1)))
        session.commit()
    engine.dispose()
    with httpx.Client(base_url=world.stack.api_url, timeout=30) as other:
        page = other.get("/invitation", params={"token": token})
        assert page.status_code == 410 and "Срок действия приглашения истёк" in page.text
        api = other.post(
            "/api/v1/invitations/accept",
            json={"token": token, "login": unique_login("late"), "password": PASSWORD, "password_confirm": PASSWORD},
        )
        assert api.status_code == 410 and "истёк" in api.json()["detail"]


def test_a_new_account_form_is_checked_field_by_field(world: World) -> None:
    email = f"{unique_login('frm')}@example.ru"
    world.invite(email)
    token = world.letter_token(email)
    with httpx.Client(base_url=world.stack.api_url, timeout=30) as other:
        page = other.get("/invitation", params={"token": token})
        bad = other.post(
            "/invitation",
            data={"token": token, "login": "ы", "password": PASSWORD, "password_confirm": PASSWORD + "x",
                  "phone": "123", "csrf_token": _csrf(page)},
        )
        assert bad.status_code == 422
        for message in ("Логин", "Пароли не совпадают.", "номер телефона"):
            assert message in bad.text, message
        taken = other.post(
            "/api/v1/invitations/accept",
            json={"token": token, "login": world.admin_login, "password": PASSWORD, "password_confirm": PASSWORD},
        )
        assert taken.status_code == 409 and taken.json()["errors"] == {"login": "Этот логин уже занят. Придумайте другой."}
        created = other.post(
            "/api/v1/invitations/accept",
            json={"token": token, "login": unique_login("api"), "password": PASSWORD, "password_confirm": PASSWORD},
        )
        assert created.status_code == 200, created.text
        assert created.json()["account_created"] is True and created.json()["contract_numbers"] == [NUMBER]
        assert [c["number"] for c in other.get("/api/v1/contracts").json()["contracts"]] == [NUMBER]


def test_a_logged_in_account_with_another_email_is_refused(world: World) -> None:
    email = f"{unique_login('mis')}@example.ru"
    invitation_id = world.invite(email)
    token = world.letter_token(email)
    page = world.colleague.get("/invitation", params={"token": token})
    refused = world.colleague.post("/invitation", data={"token": token, "csrf_token": _csrf(page)})
    assert refused.status_code == 409 and "Приглашение отправлено на другой адрес" in refused.text
    api = world.colleague.post("/api/v1/invitations/accept", json={"token": token})
    assert api.status_code == 409
    assert world.status_of(invitation_id) is InvitationStatus.PENDING


def test_an_existing_account_logs_in_and_accepts(world: World) -> None:
    invitation_id = world.invite(world.outsider_email, role="admin")
    token = world.letter_token(world.outsider_email)
    with httpx.Client(base_url=world.stack.api_url, timeout=30) as anonymous:
        page = anonymous.get("/invitation", params={"token": token})
        assert page.status_code == 200 and "уже зарегистрирована учётная запись" in page.text
        assert 'name="password"' not in page.text
    page = world.outsider.get("/invitation", params={"token": token})
    assert world.outsider_login in page.text
    accepted = world.outsider.post("/invitation", data={"token": token, "csrf_token": _csrf(page)})
    assert accepted.status_code == 303, accepted.text
    numbers = {c["number"]: c["role"] for c in world.outsider.get("/api/v1/contracts").json()["contracts"]}
    assert numbers == {OTHER: "admin", NUMBER: "admin"}
    assert world.status_of(invitation_id) is InvitationStatus.ACCEPTED
    # Make them a viewer again, then take the access away: the audit shows both.
    assert world.admin.patch(
        f"/api/v1/contracts/{NUMBER}/members/{world.outsider_login}", json={"role": "viewer"}
    ).json()["role"] == "viewer"
    assert world.admin.delete(f"/api/v1/contracts/{NUMBER}/members/{world.outsider_login}").status_code == 204
    assert [c["number"] for c in world.outsider.get("/api/v1/contracts").json()["contracts"]] == [OTHER]


# --- revoking access, and the trail -----------------------------------------------------------------


def test_revoked_access_ends_at_the_next_request_and_the_trail_shows_everything(world: World) -> None:
    page = world.admin.get("/profile")
    assert "Отозвать доступ" in page.text
    promoted = world.admin.post(
        "/profile/members/role",
        data={"contract_number": NUMBER, "login": world.colleague_login, "role": "admin", "csrf_token": _csrf(page)},
    )
    assert promoted.status_code == 303
    assert f"Права доступа пользователя {world.colleague_login} изменены." in world.admin.get("/profile").text
    demoted = world.admin.patch(f"/api/v1/contracts/{NUMBER}/members/{world.colleague_login}", json={"role": "viewer"})
    assert demoted.status_code == 200
    last_admin = world.admin.patch(f"/api/v1/contracts/{NUMBER}/members/{world.admin_login}", json={"role": "viewer"})
    assert last_admin.status_code == 409 and "хотя бы один администратор" in last_admin.json()["detail"]

    revoked = world.admin.post(
        "/profile/members/revoke",
        data={"contract_number": NUMBER, "login": world.colleague_login, "csrf_token": _csrf(world.admin.get("/profile"))},
    )
    assert revoked.status_code == 303
    assert f"Доступ пользователя {world.colleague_login} отозван." in world.admin.get("/profile").text
    assert world.colleague.get("/api/v1/contracts").json()["contracts"] == []
    profile = world.colleague.get("/profile").text
    assert POINT not in profile and f"Договор № {NUMBER}" not in profile
    assert world.colleague.delete(f"/api/v1/contracts/{NUMBER}").status_code == 404

    trail = world.admin.get("/profile/audit")
    assert trail.status_code == 200 and "Журнал действий" in trail.text
    for label in ("Договор привязан", "Приглашение отправлено", "Приглашение отправлено повторно",
                  "Приглашение принято", "Приглашение отозвано", "Права доступа изменены", "Доступ отозван"):
        assert label in trail.text, label
    assert world.colleague_login in trail.text and world.colleague_email in trail.text
    events = world.admin.get("/api/v1/audit").json()
    actions = [e["action"] for e in events["events"]]
    assert actions[0] == "access_revoked" and actions[-1] == "bound"  # newest first
    assert events["total"] == len(actions) <= world.stack.settings.audit_page_size
    assert world.outsider.get("/api/v1/audit").json()["events"][0]["contract_number"] == OTHER
