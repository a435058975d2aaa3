"""The captcha over real HTTP (uvicorn on a local socket, SQLite and PostgreSQL), with the
real challenge, never the test answer: Russian-layout answers, one picture per challenge,
per-address limits, single use under a concurrent burst, the no-picture check, and the
form's «Другой код» / «Не могу прочитать код» without JavaScript."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from lkk import captcha
from lkk.db import session_scope
from lkk.models import CaptchaChallenge
from lkk.settings import Settings
from tests.burst import burst
from tests.harness import PASSWORD, form_data, unique_login
from tests.web import captcha_of, csrf_of, make_active_account, web_client

pytestmark = pytest.mark.asyncio

LATIN_TO_CYRILLIC = str.maketrans("ABEKMHOPCTX", "АВЕКМНОРСТХ")
LENIENT = {
    "captcha_test_answer": None,  # the real captcha only
    "rate_limit_login": "10000/minute",
    "rate_limit_login_failures": "10000/minute",
    "rate_limit_register": "10000/minute",
}


def real(settings: Settings, **overrides: object) -> Settings:
    return settings.model_copy(update={**LENIENT, **overrides})


def answer_of(engine: Engine, challenge_id: str) -> str:
    """Read the picture as a person would (here: from the row the picture is drawn from)."""
    with session_scope(engine) as session:
        row = session.get(CaptchaChallenge, challenge_id)
        assert row is not None, "the challenge is live"
        return row.answer


def puzzle_of(page: httpx.Response) -> captcha.Puzzle:
    found = re.search(r'data-pow-salt="([^"]+)" data-pow-challenge="([0-9a-f]+)" data-pow-max="(\d+)"', page.text)
    assert found, "the form carries the no-picture puzzle"
    return captcha.Puzzle(salt=found.group(1), challenge=found.group(2), max_number=int(found.group(3)))


def errors_of(page: httpx.Response) -> set[str]:
    return set(re.findall(r'<p class="error" id="([a-z_]+)-error">', page.text))


@asynccontextmanager
async def failed_three_times(settings: Settings, engine: Engine) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """An account whose login now asks for the captcha."""
    login = unique_login("cap")
    make_active_account(engine, settings, login, PASSWORD)
    async with web_client(settings, engine) as web:
        for attempt in range(settings.login_captcha_after_failures):
            wrong = await web.post("/api/v1/session", json={"login": login, "password": f"не-тот-{attempt}"})
            assert wrong.status_code == 401
        yield web, login


async def _register_form(web: httpx.AsyncClient, data: dict[str, str], page: httpx.Response | None = None) -> httpx.Response:
    """Submit the registration form with the page's own challenge (form_data's blank id dropped)."""
    page = page or await web.get("/register")
    fields = {key: value for key, value in data.items() if key != "captcha_id"}
    return await web.post("/register", data={**fields, "captcha_id": captcha_of(page) or "", "csrf_token": csrf_of(page)})


async def test_code_alphabet_avoids_look_alikes_and_reads_russian_twins() -> None:
    for pair in ("S5", "Z2", "O0", "I1", "B8"):
        assert not set(pair) <= set(captcha.ALPHABET), f"both of {pair} in the alphabet"
    assert captcha.normalize_answer(" ас ех 7 ") == "ACEX7"
    assert captcha.normalize_answer("АВЕКМНОРСТХ") == "ABEKMHOPCTX"


async def test_russian_layout_answer_never_crashes_and_passes_as_its_latin_twin(
    settings: Settings, engine: Engine, dev_server_env: WorkflowEnvironment
) -> None:
    config = real(settings)
    login = unique_login("twin")
    async with web_client(config, engine, dev_server_env.client) as web:
        # A wrong answer in Cyrillic: a field error, the values kept, no 500.
        wrong = await _register_form(web, {**form_data(login), "captcha_answer": "АВС"})
        assert wrong.status_code == 422, wrong.text[:300]
        assert errors_of(wrong) == {"captcha_answer"}
        assert f'value="{login}"' in wrong.text

        page = await web.get("/register")
        answer = answer_of(engine, captcha_of(page) or "").translate(LATIN_TO_CYRILLIC).lower()
        right = await _register_form(web, {**form_data(login), "captcha_answer": answer}, page)
        assert right.status_code == 303 and right.headers["location"] == "/register/sent", right.text[:300]

    async with failed_three_times(config, engine) as (web, name):
        page = await web.get("/login")
        form = {"username": name, "password": PASSWORD}
        shown = await web.post("/login", data={**form, "csrf_token": csrf_of(page)})
        assert shown.status_code == 401 and captcha_of(shown)
        crash = await web.post(
            "/login", data={**form, "captcha_id": captcha_of(shown) or "", "captcha_answer": "АВС", "csrf_token": csrf_of(shown)}
        )
        assert crash.status_code == 401 and errors_of(crash) == {"captcha_answer"}
        assert f'value="{name}"' in crash.text
        answer = answer_of(engine, captcha_of(crash) or "").translate(LATIN_TO_CYRILLIC)
        ok = await web.post(
            "/login", data={**form, "captcha_id": captcha_of(crash) or "", "captcha_answer": answer, "csrf_token": csrf_of(crash)}
        )
        assert ok.status_code == 303 and ok.headers["location"] == "/profile"


async def test_a_challenge_has_one_picture_of_dark_text_on_light(settings: Settings, engine: Engine) -> None:
    from io import BytesIO

    from PIL import Image

    async with web_client(real(settings), engine) as web:
        created = await web.post("/api/v1/captcha")
        assert created.status_code == 201
        url = f"/api/v1/captcha/{created.json()['captcha_id']}.png"
        first, second = (await web.get(url)).content, (await web.get(url)).content
        fresh = (await web.post("/api/v1/captcha")).json()["captcha_id"]
        at_once = await burst([web.build_request("GET", f"/api/v1/captcha/{fresh}.png") for _ in range(10)])
    assert first == second, "reloading the picture must not give new noise to average over"
    assert [a.status for a in at_once] == [200] * 10
    assert len({a.body for a in at_once}) == 1, "concurrent first fetches must agree on one picture"
    grey = Image.open(BytesIO(first)).convert("L")
    darkest, lightest = grey.getextrema()
    assert darkest <= 80 and lightest >= 230, (darkest, lightest)
    histogram = grey.histogram()
    dark_share = sum(histogram[:100]) / sum(histogram)
    # The noise alone darkens about 1 % of the picture; solid characters 10-20 %.
    assert dark_share >= 0.05, f"the characters are faint: {dark_share:.3f} of the pixels are dark"


async def test_challenges_and_pictures_are_limited_per_address(settings: Settings, engine: Engine) -> None:
    """Both limits hold under a burst: 20 requests from one address released at once."""
    config = real(settings, rate_limit_captcha="3/minute", rate_limit_captcha_image="4/minute")
    async with web_client(config, engine, ip="198.51.100.7") as web:
        made = await burst([web.build_request("POST", "/api/v1/captcha") for _ in range(20)])
        assert sorted(a.status for a in made) == [201] * 3 + [429] * 17
        assert all(int(a.headers["retry-after"]) >= 1 for a in made if a.status == 429)
        page = await web.get("/register")  # a page's new code counts too
        assert captcha_of(page) is None and "Слишком много запросов кода" in page.text
        other = await web.post("/api/v1/captcha", headers={"X-Forwarded-For": "198.51.100.8"})
        assert other.status_code == 201, "another address is not affected"

        url = json.loads(next(a for a in made if a.status == 201).body)["image_url"]  # a path on this site
        pictures = await burst([web.build_request("GET", url) for _ in range(20)])
        assert sorted(a.status for a in pictures) == [200] * 4 + [429] * 16


async def test_one_solved_challenge_passes_one_login_of_a_burst(settings: Settings, engine: Engine) -> None:
    async with failed_three_times(real(settings), engine) as (web, name):
        challenge = (await web.post("/api/v1/captcha")).json()["captcha_id"]
        body = {"login": name, "password": PASSWORD, "captcha_id": challenge, "captcha_answer": answer_of(engine, challenge)}
        answers = await burst([web.build_request("POST", "/api/v1/session", json=body) for _ in range(20)])
    statuses = sorted(a.status for a in answers)
    assert statuses.count(200) == 1, statuses
    assert all('"outcome":"captcha"' in a.text for a in answers if a.status != 200)


async def test_one_solved_challenge_passes_one_registration_of_a_burst(
    settings: Settings, engine: Engine, dev_server_env: WorkflowEnvironment
) -> None:
    async with web_client(real(settings), engine, dev_server_env.client) as web:
        challenge = (await web.post("/api/v1/captcha")).json()["captcha_id"]
        answer = answer_of(engine, challenge)
        requests = [
            web.build_request(
                "POST",
                "/api/v1/registrations",
                json={**form_data(unique_login("burst")), "captcha_id": challenge, "captcha_answer": answer},
            )
            for _ in range(20)
        ]
        answers = await burst(requests)
    statuses = sorted(a.status for a in answers)
    assert statuses.count(202) == 1, statuses
    assert all("captcha_answer" in a.text for a in answers if a.status != 202)


async def test_the_no_picture_check_passes_once_on_the_api_and_the_forms(
    settings: Settings, engine: Engine, dev_server_env: WorkflowEnvironment
) -> None:
    config = real(settings)
    async with web_client(config, engine, dev_server_env.client) as web:
        created = (await web.post("/api/v1/captcha")).json()
        found = created["puzzle"]
        assert found["algorithm"] == "SHA-256" and found["max_number"] == config.captcha_pow_max_number
        number = captcha.solve(captcha.Puzzle(found["salt"], found["challenge"], found["max_number"]))
        body = {**form_data(unique_login("pow")), "captcha_id": created["captcha_id"], "captcha_answer": ""}
        ok = await web.post("/api/v1/registrations", json={**body, "captcha_solution": str(number)})
        assert ok.status_code == 202, ok.text
        again = await web.post("/api/v1/registrations", json={**body, "login": unique_login("pow"), "captcha_solution": str(number)})
        assert again.status_code == 422 and "captcha_solution" in again.json()["errors"]

        # The form, as «Не могу прочитать код» leaves it: mode nonvisual, the solution filled in.
        page = await web.get("/register")
        login = unique_login("powform")
        solution = str(captcha.solve(puzzle_of(page)))
        sent = await _register_form(
            web, {**form_data(login), "captcha_answer": "", "captcha_mode": "nonvisual", "captcha_solution": solution}, page
        )
        assert sent.status_code == 303, sent.text[:300]
        page = await web.get("/register")
        unsolved = await _register_form(
            web, {**form_data(unique_login("pow")), "captcha_answer": "", "captcha_mode": "nonvisual", "captcha_solution": "1"}, page
        )
        assert unsolved.status_code == 422 and errors_of(unsolved) == {"captcha_solution"}
        assert re.search(r'<div id="captcha-nonvisual" class="captcha-nonvisual">', unsolved.text), "stays in that mode"

    async with failed_three_times(config, engine) as (web, name):
        page = await web.post("/api/v1/captcha")
        created = page.json()
        number = captcha.solve(captcha.Puzzle(**{k: created["puzzle"][k] for k in ("salt", "challenge", "max_number")}))
        logged_in = await web.post(
            "/api/v1/session",
            json={"login": name, "password": PASSWORD, "captcha_id": created["captcha_id"], "captcha_solution": str(number)},
        )
        assert logged_in.status_code == 200, logged_in.text


async def test_odd_captcha_ids_and_answers_get_4xx(settings: Settings, engine: Engine) -> None:
    async with failed_three_times(real(settings), engine) as (web, name):
        for challenge_id, answer in (("\x00" * 20, "АВС"), ("a\x00" + "b" * 30, "\x00АВС"), ("\ud800" * 20, "\ud800")):
            body = {"login": name, "password": PASSWORD, "captcha_id": challenge_id, "captcha_answer": answer}
            login = await web.post(  # ensure_ascii: a lone surrogate travels as \ud800
                "/api/v1/session", content=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
            )
            # Refused at the edge (api/odd_input.py), before any query carries it.
            assert login.status_code == 422, login.text
        odd_picture = await web.get("/api/v1/captcha/%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00.png")
        assert odd_picture.status_code == 422


async def test_new_code_and_no_picture_way_without_javascript_keep_the_form(settings: Settings, engine: Engine) -> None:
    async with web_client(real(settings), engine) as web:
        page = await web.get("/register")
        login = unique_login("keep")
        data = {**form_data(login), "captcha_answer": ""}
        new = await _register_form(web, {**data, "captcha_action": "new"}, page)
        assert new.status_code == 200 and "error-summary" not in new.text
        assert f'value="{login}"' in new.text and f'value="{login}@example.ru"' in new.text
        assert captcha_of(new) not in (None, captcha_of(page))
        assert re.search(r'<input id="captcha_answer"[^>]* autofocus', new.text), "the cursor stays at the code"

        nonvisual = await _register_form(web, {**data, "captcha_action": "nonvisual"}, new)
        assert nonvisual.status_code == 200 and f'value="{login}"' in nonvisual.text
        assert '<div id="captcha-image-part" hidden>' in nonvisual.text
        assert '<div id="captcha-nonvisual" class="captcha-nonvisual">' in nonvisual.text
        assert "<noscript>" in nonvisual.text and "JavaScript выключен" in nonvisual.text
        assert 'name="captcha_mode" value="nonvisual"' in nonvisual.text

    async with failed_three_times(real(settings), engine) as (web, name):
        page = await web.post("/login", data={"username": name, "password": "x", "csrf_token": csrf_of(await web.get("/login"))})
        assert captcha_of(page)
        again = await web.post(
            "/login",
            data={"username": name, "password": "", "captcha_id": captcha_of(page) or "", "captcha_action": "new",
                  "csrf_token": csrf_of(page)},
        )
        assert again.status_code == 200 and "error-summary" not in again.text
        assert f'value="{name}"' in again.text and captcha_of(again) not in (None, captcha_of(page))


async def test_form_errors_and_the_captcha_are_told_in_one_round_to_a_screen_reader(settings: Settings, engine: Engine) -> None:
    async with web_client(real(settings), engine) as web:
        page = await web.get("/register")
        captcha_input = re.search(r'<input id="captcha_answer"[^>]*>', page.text)
        assert captcha_input
        tag = captcha_input.group(0)
        assert 'autocomplete="off"' in tag and 'autocapitalize="characters"' in tag and 'spellcheck="false"' in tag
        assert "&#34;" not in tag and "&quot;" not in tag
        assert 'aria-describedby="captcha_answer-hint"' in tag and "A C E H K M P T X" in page.text
        assert re.search(r'<button type="submit" name="captcha_action" value="new"[^>]*>Другой код</button>', page.text)
        assert re.search(r'<button type="submit" name="captcha_action" value="nonvisual"[^>]*>Не могу прочитать код</button>', page.text)

        bad = await _register_form(web, {**form_data(unique_login("round")), "email": "не-адрес", "captcha_answer": "AAAAA"}, page)
        assert bad.status_code == 422
        assert errors_of(bad) == {"email", "captcha_answer"}, "one round tells every problem"
        assert re.search(r"<title>Ошибка: Регистрация пользователя", bad.text)
        assert re.search(r'<div class="error-summary"[^>]* autofocus>', bad.text)
        email = re.search(r'<input id="email"[^>]*>', bad.text)
        assert email and 'aria-describedby="email-error email-hint"' in email.group(0), "the hint stays beside the error"


async def test_a_login_page_with_a_wrong_password_says_error_in_its_title(settings: Settings, engine: Engine) -> None:
    async with web_client(real(settings), engine) as web:
        page = await web.get("/login")
        assert "<title>Вход в систему" in page.text
        wrong = await web.post("/login", data={"username": "nobody-" + uuid.uuid4().hex[:6], "password": "x", "csrf_token": csrf_of(page)})
        assert wrong.status_code == 401 and "<title>Ошибка: Вход в систему" in wrong.text
