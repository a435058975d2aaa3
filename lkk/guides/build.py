"""Build a guide PDF from its Markdown source and the screenshots of the real pages.

Sources live in ``docs/guides/<name>.md`` (Jinja2 first, so the supplier's name,
help-desk phones and the durations and limits the guides quote come from the
settings; then Markdown via markdown-it-py; then
fpdf2's HTML renderer). Images are the PNGs that ``docs/tools/screenshots.py`` takes
of the running product, so a guide shows the pages as they are, as light palette
copies (``lkk.guides.images``) no sharper than 150 dpi on paper. The font is Noto Sans
from the ``fontpkg-noto-sans`` wheel (see ``lkk.guides.fonts``): embedded (subset),
Cyrillic included, and no system font package needed. The same sources also become
HTML pages (``lkk.guides.web``).

Command line (writes both guides into a folder)::

    python -m lkk.guides.build [OUT_DIR]
"""

from __future__ import annotations

import html
import re
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace
from jinja2 import Environment, StrictUndefined
from markdown_it import MarkdownIt
from markupsafe import escape
from PIL import Image

from lkk.guides.fonts import static_faces
from lkk.guides.images import light_png
from lkk.ru_numbers import JINJA_FILTERS
from lkk.settings import Settings

DOCS_DIR = Path(__file__).resolve().parents[2] / "docs"
GUIDES_DIR = DOCS_DIR / "guides"
FONT = "NotoSans"
# Largest picture on an A4 page with 18 mm margins, in points (fpdf's <img> width unit).
MAX_IMAGE_W_PT = (210 - 36) / 25.4 * 72
MAX_IMAGE_H_PT = 190 / 25.4 * 72
# Sharp enough to read a screenshot's text on paper; more pixels only add bytes.
PDF_IMAGE_DPI = 150
# Settings a guide quotes as numbers («Ссылка действует {{ signup_ttl_seconds|duration }}»).
GUIDE_NUMBERS = (
    "signup_ttl_seconds", "resend_cooldown_seconds", "max_resends", "password_min_length",
    # Company accounts (section 4 of the user guide).
    "invitation_ttl_seconds", "invitation_resend_cooldown_seconds", "invitation_max_resends",
    "max_users_per_contract", "max_pending_invitations_per_admin", "max_invitations_per_hour_per_admin",
    "audit_page_size",
)
FIXED_DATE = datetime(2026, 1, 1, tzinfo=timezone.utc)
INK = (29, 39, 51)
BLUE = (11, 92, 173)


@dataclass(frozen=True)
class Guide:
    slug: str       # URL and source name: /guides/<slug>.pdf, docs/guides/<slug>.md
    title: str      # PDF metadata and the download's file name
    download_name: str


GUIDES: dict[str, Guide] = {
    "registration": Guide("registration", "Краткая инструкция по регистрации", "lkk-registration-guide.pdf"),
    "user-guide": Guide("user-guide", "Инструкция по работе с Личным кабинетом", "lkk-user-guide.pdf"),
}


class _GuidePdf(FPDF):
    def __init__(self, header_text: str, faces: dict[str, Path]) -> None:
        super().__init__(format="A4")
        self.header_text = header_text
        # Upright faces stand in for italics (captions): Noto's italic would be another font file.
        for style, face in (("", "regular"), ("B", "bold"), ("I", "regular"), ("BI", "bold")):
            self.add_font(FONT, style, faces[face])
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(True, margin=18)

    def header(self) -> None:
        self.set_font(FONT, "", 8)
        self.set_text_color(75, 88, 102)
        self.cell(0, 5, self.header_text, align="L")
        self.ln(8)
        self.set_text_color(*INK)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 8)
        self.set_text_color(75, 88, 102)
        self.cell(0, 5, f"Страница {self.page_no()} из {{nb}}", align="C")


def markdown_html(slug: str, settings: Settings, *, for_web: bool = False) -> str:
    """The guide's HTML before its pictures are placed: Jinja2 (branding, durations and
    limits from settings), then Markdown. For a web page the settings' texts are HTML-escaped."""
    source = (GUIDES_DIR / f"{slug}.md").read_text(encoding="utf-8")
    env = Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.filters.update(JINJA_FILTERS)
    value = (lambda text: str(escape(text))) if for_web else (lambda text: text)
    text = env.from_string(source).render(
        supplier_name=value(settings.supplier_name),
        supplier_site_url=value(settings.supplier_site_url),
        helpdesk_phones=[value(phone) for phone in settings.supplier_helpdesk_phones],
        helpdesk_hours=value(settings.supplier_helpdesk_hours),
        helpdesk_email=value(settings.supplier_helpdesk_email),
        **{name: getattr(settings, name) for name in GUIDE_NUMBERS},
    )
    return MarkdownIt("commonmark").render(text)


def render_markdown(slug: str, settings: Settings) -> str:
    """The guide's HTML for fpdf2: figures sized to the A4 page, light images."""
    return _figures(markdown_html(slug, settings), image_cache_dir(settings))


def image_cache_dir(settings: Settings) -> Path:
    return settings.data_dir / "cache" / "guide-images"


# A Markdown image alone in its paragraph: ![caption](../img/name.png)
IMG = re.compile(r'<p><img src="([^"]+)" alt="([^"]*)" /></p>')


def _figures(page_html: str, cache_dir: Path) -> str:
    """Each Markdown image becomes a figure: scaled to fit the page, caption below."""

    def figure(match: re.Match[str]) -> str:
        src, caption = match.group(1), html.unescape(match.group(2))
        with Image.open(GUIDES_DIR / src) as img:
            width, height = img.size
        scale = min(MAX_IMAGE_W_PT / width, MAX_IMAGE_H_PT / height)
        shown_pt = width * scale
        light = light_png(GUIDES_DIR / src, cache_dir, max_width=round(shown_pt / 72 * PDF_IMAGE_DPI))
        return (
            f'<img src="{light}" width="{shown_pt:.0f}">'
            f'<p align="center"><i>{html.escape(caption)}</i></p>'
        )

    return IMG.sub(figure, page_html)


def build_pdf(slug: str, settings: Settings) -> bytes:
    guide = GUIDES[slug]
    faces = static_faces(settings.data_dir / "cache" / "fonts")
    pdf = _GuidePdf(f"{settings.supplier_name} · Личный кабинет клиента – юридического лица", faces)
    pdf.set_title(guide.title)
    pdf.set_author(settings.supplier_name)
    pdf.set_subject("Личный кабинет клиента – юридического лица")
    pdf.set_lang("ru")
    pdf.set_creator("ЛКК (lkk.guides)")
    pdf.set_creation_date(FIXED_DATE)  # reproducible bytes: same sources, same PDF
    pdf.add_page()
    pdf.set_font(FONT, "", 11)
    pdf.write_html(
        render_markdown(slug, settings),
        font_family=FONT,
        image_map=lambda src: src,  # already the light copy's absolute path
        tag_styles={
            "h1": FontFace(family=FONT, emphasis="BOLD", color=BLUE, size_pt=20),
            "h2": FontFace(family=FONT, emphasis="BOLD", color=BLUE, size_pt=15),
            "h3": FontFace(family=FONT, emphasis="BOLD", color=INK, size_pt=12),
            "code": FontFace(family=FONT),
            "pre": FontFace(family=FONT),
        },
        li_prefix_color=BLUE,
        ul_bullet_char="•",
    )
    return bytes(pdf.output())


def main(argv: list[str]) -> None:
    out = Path(argv[0]) if argv else Path("var/guides")
    out.mkdir(parents=True, exist_ok=True)
    settings = Settings()
    for slug in GUIDES:
        path = out / f"{slug}.pdf"
        path.write_bytes(build_pdf(slug, settings))
        print(path)


if __name__ == "__main__":
    main(sys.argv[1:])
