"""The help desk's written channel comes from settings: the e-mail always, the web form
only when one is configured (rendered by the product's own templates)."""

from __future__ import annotations

from pathlib import Path

from lkk.settings import Settings
from api.templating import make_templates


def _footer_snippet(tmp_path: Path, **overrides: object) -> str:
    settings = Settings(_env_file=None, data_dir=tmp_path, **overrides)  # type: ignore[call-arg]
    return make_templates(settings).env.get_template("_written_support.html").render()


def test_email_link_from_settings_and_no_form_by_default(tmp_path: Path) -> None:
    html = _footer_snippet(tmp_path, supplier_helpdesk_email="help@sbyt.example.ru")
    assert '<a href="mailto:help@sbyt.example.ru"' in html and ">help@sbyt.example.ru</a>" in html
    assert "форма обращения" not in html


def test_web_form_link_when_configured(tmp_path: Path) -> None:
    html = _footer_snippet(tmp_path, supplier_helpdesk_form_url="https://sbyt.example.ru/feedback?topic=lkk&x=1")
    assert '<a href="https://sbyt.example.ru/feedback?topic=lkk&amp;x=1" rel="noopener">форма обращения на сайте</a>' in html
