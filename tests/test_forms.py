"""api.forms: every refusal of a ``@form`` endpoint, as a page posts it or as JSON, on
a bare app: the model's mistakes one Russian message per field (an empty field asked
for by its own validator with ``blank``), the typed values kept for the page, a
refusal's own JSON body or ``ErrorOut``, its headers on the page; a body that is no
form at all is left to FastAPI."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from api import errors as api_errors
from api.errors import Refusal
from api.forms import FormRoute, Submitted, form
from lkk.billing.errors import BindingFieldsInvalid, BindingLocked, BindingRefused
from lkk.billing.identifiers import MSG_CODE_EMPTY, MSG_CONTRACT_EMPTY, MSG_INN_CHECKSUM, MSG_KPP_REQUIRED
from lkk.billing.models import BindingRequestCreate
from lkk.errors import FormInvalid, ServiceError
from lkk.models import ResetRequest
from lkk.validation import CHECK_VALUE, FIELD_REQUIRED

LOCKED_FOR = 120


async def _page(_request: Request, shown: Submitted) -> Response:
    kept = {name: shown.values.get(name) for name in ("contract_number", "inn")}
    body = {"errors": shown.errors, "kept": kept, "message": shown.message}
    return JSONResponse(body, status_code=299 if shown.status == 422 else shown.status)


class Refused(BaseModel):
    status: str
    errors: dict[str, str]


def _refused(error: ServiceError, refusal: Refusal) -> Refused | None:
    return Refused(status=error.status, errors=refusal.fields) if isinstance(error, BindingRefused) else None


def _captcha(request: Request) -> None:
    """A dependency's refusal (the captcha's), told together with the model's own mistakes."""
    if request.headers.get("x-captcha") == "wrong":
        raise FormInvalid({"captcha_answer": "Неверно."})


def _client() -> httpx.AsyncClient:
    router = APIRouter(route_class=FormRoute)

    @router.post("/form")
    @form(page=_page, invalid=BindingFieldsInvalid, blank=True)
    async def bind_form(body: Annotated[BindingRequestCreate, Form()]) -> dict[str, str]:
        if body.code == "KKKKKKKK":
            raise BindingLocked(body.contract_number, LOCKED_FOR)
        return {"number": body.contract_number}

    @router.post("/json")
    @form(body=_refused, invalid=BindingFieldsInvalid, blank=True)
    async def bind_json(body: BindingRequestCreate) -> dict[str, str]:
        return {"number": body.contract_number}

    @router.post("/reset", dependencies=[Depends(_captcha)])
    @form()
    async def reset(body: ResetRequest) -> dict[str, str]:
        return {"login": body.login}

    app = FastAPI()
    api_errors.install(app)
    app.include_router(router)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_the_page_gets_each_fields_message_and_its_values() -> None:
    async with _client() as client:
        ok = await client.post(
            "/form",
            data={"contract_number": "№ 7701-000101", "inn": "0001473828", "kpp": "000101001", "code": "kx7m-2qpa"},
        )
        empty = await client.post(
            "/form", data={"contract_number": "", "inn": "0001473829", "kpp": "", "code": "", "csrf_token": "x"}
        )
    assert ok.status_code == 200 and ok.json() == {"number": "7701-000101"}
    assert empty.status_code == 299
    assert empty.json()["errors"] == {"contract_number": MSG_CONTRACT_EMPTY, "inn": MSG_INN_CHECKSUM, "code": MSG_CODE_EMPTY}
    assert empty.json()["kept"] == {"contract_number": "", "inn": "0001473829"}
    assert empty.json()["message"] == "Проверьте правильность заполнения полей."


async def test_a_refusal_on_the_page_keeps_its_headers() -> None:
    async with _client() as client:
        locked = await client.post(
            "/form", data={"contract_number": "7701-000101", "inn": "0001473828", "kpp": "000101001", "code": "KKKKKKKK"}
        )
    assert locked.status_code == 429 and locked.headers["retry-after"] == str(LOCKED_FOR)
    assert locked.json()["errors"] == {"form": locked.json()["message"]} and "2 минуты" in locked.json()["message"]
    assert locked.json()["kept"] == {"contract_number": "7701-000101", "inn": "0001473828"}


async def test_the_json_api_gets_its_own_body_and_a_broken_one_is_left_to_fastapi() -> None:
    async with _client() as client:
        no_kpp = await client.post("/json", json={"contract_number": "7701-000101", "inn": "0001473828", "code": "KX7M2QPA"})
        no_code = await client.post("/json", json={"contract_number": "7701-000101", "inn": "0001473828", "kpp": "000101001"})
        wrong_type = await client.post("/json", json={"contract_number": 5, "inn": "0001473828", "code": "x"})
        not_an_object = await client.post("/json", json=["not", "an", "object"])
        broken = await client.post("/json", content=b'{"inn": ', headers={"Content-Type": "application/json"})
    assert no_kpp.status_code == 422 and no_kpp.json() == {"status": "invalid", "errors": {"kpp": MSG_KPP_REQUIRED}}
    assert no_code.json()["errors"] == {"code": MSG_CODE_EMPTY}
    assert wrong_type.status_code == 422 and set(wrong_type.json()["errors"]) == {"contract_number", "kpp", "code"}
    assert not_an_object.status_code == 422 and "errors" not in not_an_object.json()
    assert broken.status_code == 422 and "errors" not in broken.json()


async def test_without_blank_a_field_left_out_is_asked_for_and_errorout_answers() -> None:
    async with _client() as client:
        missing = await client.post("/reset", json={"login": "ooo-romashka"})
        wrong_type = await client.post("/reset", json={"login": "ooo-romashka", "email": ["a"]})
        too_long = await client.post("/reset", json={"login": "x" * 201, "email": "a@b.ru"})
        captcha = await client.post("/reset", json={"login": "ooo-romashka"}, headers={"X-Captcha": "wrong"})
    assert missing.status_code == 422
    assert missing.json() == {"detail": "Проверьте поля формы.", "errors": {"email": FIELD_REQUIRED}}
    assert wrong_type.json()["errors"] == {"email": FIELD_REQUIRED}
    assert too_long.json()["errors"] == {"login": CHECK_VALUE}
    assert captcha.json()["errors"] == {"email": FIELD_REQUIRED, "captcha_answer": "Неверно."}
