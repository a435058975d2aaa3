"""Build a guide PDF from its Markdown source and the screenshots of the real pages.

Sources live in ``docs/guides/<name>.md`` (Jinja2 first, so the supplier's name and
help-desk phones come from the settings; then Markdown via markdown-it-py; then
fpdf2's HTML renderer). Images are the PNGs that ``docs/tools/screenshots.py`` takes
of the running product, so a guide shows the pages as they are. The font is Noto Sans
from the ``fontpkg-noto-sans`` wheel (see ``lkk.guides.fonts``): embedded (subset),
Cyrillic included, and no system font package needed.

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
from PIL import Image

from lkk.guides.fonts import static_faces
from lkk.settings import Settings

DOCS_DIR = Path(__file__).resolve().parents[2] / "docs"
GUIDES_DIR = DOCS_DIR / "guides"
FONT = "NotoSans"
# Largest picture on an A4 page with 18 mm margins, in points (fpdf's <img> width unit).
MAX_IMAGE_W_PT = (210 - 36) / 25.4 * 72
MAX_IMAGE_H_PT = 190 / 25.4 * 72
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


def render_markdown(slug: str, settings: Settings) -> str:
    """The guide's HTML: Jinja2 (branding from settings) then Markdown."""
    source = (GUIDES_DIR / f"{slug}.md").read_text(encoding="utf-8")
    env = Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    text = env.from_string(source).render(
        supplier_name=settings.supplier_name,
        supplier_site_url=settings.supplier_site_url,
        helpdesk_phones=settings.supplier_helpdesk_phones,
        helpdesk_hours=settings.supplier_helpdesk_hours,
    )
    return _figures(MarkdownIt("commonmark").render(text))


_IMG = re.compile(r'<p><img src="([^"]+)" alt="([^"]*)" /></p>')


def _figures(page_html: str) -> str:
    """Each Markdown image becomes a figure: scaled to fit the page, caption below."""

    def figure(match: re.Match[str]) -> str:
        src, caption = match.group(1), html.unescape(match.group(2))
        with Image.open(GUIDES_DIR / src) as img:
            width, height = img.size
        scale = min(MAX_IMAGE_W_PT / width, MAX_IMAGE_H_PT / height)
        return (
            f'<img src="{src}" width="{width * scale:.0f}">'
            f'<p align="center"><i>{html.escape(caption)}</i></p>'
        )

    return _IMG.sub(figure, page_html)


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
        image_map=lambda src: str((GUIDES_DIR / src).resolve()),
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
