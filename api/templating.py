"""Jinja2 templates of the Russian web pages, with the supplier branding and the limits
the pages quote (the shortest password) as globals."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.csrf import page_token, set_cookie
from lkk.ru_numbers import JINJA_FILTERS, plural
from lkk.settings import Settings

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


def make_templates(settings: Settings) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    templates.env.globals.update(
        supplier_name=settings.supplier_name,
        supplier_site_url=settings.supplier_site_url,
        helpdesk_phones=settings.supplier_helpdesk_phones,
        helpdesk_hours=settings.supplier_helpdesk_hours,
        helpdesk_email=settings.supplier_helpdesk_email,
        helpdesk_form_url=settings.supplier_helpdesk_form_url,
        password_min_hint=password_min_hint(settings.password_min_length),
    )
    templates.env.filters["tel"] = tel_uri_number
    templates.env.filters.update(JINJA_FILTERS)  # «действует 72 часа» from a setting
    return templates


def password_min_hint(length: int) -> str:
    """The password fields' hint, from the setting: "Не менее 8 символов"."""
    return f"Не менее {length} {plural(length, 'символа', 'символов', 'символов')}"


def tel_uri_number(phone: str) -> str:
    """'8 (800) 000-00-00' -> '88000000000' for a tel: link (digits and a leading +)."""
    return ("+" if phone.strip().startswith("+") else "") + re.sub(r"\D", "", phone)


def render(request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    """Render a page; every page carries a CSRF token for its forms (see ``api.csrf``)."""
    templates: Jinja2Templates = request.app.state.templates
    token, new_cookie = page_token(request)
    response = templates.TemplateResponse(
        request, template, {**(context or {}), "csrf_token": token}, status_code=status_code
    )
    if new_cookie:
        set_cookie(request, response, new_cookie)
    # Pages show personal data and carry tokens: never keep them in shared caches or history.
    response.headers["Cache-Control"] = "no-store"
    return response
