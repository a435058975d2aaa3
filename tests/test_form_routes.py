"""api.form_routes: a body that fails only the model's validators reaches the route's
own answer with each field's Russian message (an empty form field included); a body
of the wrong shape still gets FastAPI's 422."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import JSONResponse, Response

from api.form_routes import FormRoute, on_invalid
from lkk.billing.identifiers import MSG_CODE_EMPTY, MSG_CONTRACT_EMPTY, MSG_INN_CHECKSUM, MSG_KPP_REQUIRED
from lkk.billing.models import BindingRequestCreate


async def _answer(_request: Request, fields: dict[str, str], body: Mapping[str, Any]) -> Response:
    kept = {name: body.get(name) for name in ("contract_number", "inn")}
    return JSONResponse({"fields": fields, "kept": kept}, status_code=299)


def _client() -> httpx.AsyncClient:
    router = APIRouter(route_class=FormRoute)

    @router.post("/form")
    @on_invalid(_answer)
    async def form(body: Annotated[BindingRequestCreate, Form()]) -> dict[str, str]:
        return {"number": body.contract_number}

    @router.post("/json")
    @on_invalid(_answer)
    async def json(body: BindingRequestCreate) -> dict[str, str]:
        return {"number": body.contract_number}

    app = FastAPI()
    app.include_router(router)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_the_form_gets_each_fields_message_and_its_values() -> None:
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
    assert empty.json()["fields"] == {"contract_number": MSG_CONTRACT_EMPTY, "inn": MSG_INN_CHECKSUM, "code": MSG_CODE_EMPTY}
    assert empty.json()["kept"] == {"contract_number": "", "inn": "0001473829"}


async def test_the_json_api_too_and_a_wrong_shape_is_left_to_fastapi() -> None:
    async with _client() as client:
        no_kpp = await client.post("/json", json={"contract_number": "7701-000101", "inn": "0001473828", "code": "KX7M2QPA"})
        wrong_type = await client.post("/json", json={"contract_number": 5, "inn": "0001473828", "code": "x"})
        not_an_object = await client.post("/json", json=["not", "an", "object"])
    assert no_kpp.status_code == 299 and no_kpp.json()["fields"] == {"kpp": MSG_KPP_REQUIRED}
    assert wrong_type.status_code == 422 and not_an_object.status_code == 422
