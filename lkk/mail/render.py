"""Render the Russian e-mail templates (HTML and plain text) with Jinja2."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from lkk.mail.sender import OutgoingMail

TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_mail(template: str, *, to: str, subject: str, **context: Any) -> OutgoingMail:
    env = _env()
    context = {"subject": subject, **context}
    return OutgoingMail(
        to=to,
        subject=subject,
        html=env.get_template(f"{template}.html").render(**context),
        text=env.get_template(f"{template}.txt").render(**context),
    )


def branding(settings: Any) -> dict[str, Any]:
    """Supplier details every e-mail shows (configurable per guaranteed supplier)."""
    return {
        "supplier_name": settings.supplier_name,
        "helpdesk_phones": settings.supplier_helpdesk_phones,
        "helpdesk_hours": settings.supplier_helpdesk_hours,
    }
