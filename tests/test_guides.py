"""The PDF guides behind the blue «?»: real PDFs with readable Russian text, an embedded
Cyrillic font, the screenshots of the pages, and the supplier's branding from settings."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from lkk.guides.build import GUIDES, GUIDES_DIR, build_pdf
from lkk.settings import Settings

IMAGE_REF = re.compile(r"!\[[^\]]*\]\(([^)]+)\)")


@pytest.fixture(scope="module")
def branded(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # Another supplier of the group: nothing about the branding is hard-coded in the guides.
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path_factory.mktemp("guides"),
        supplier_name="АО «Тестовая энергосбытовая компания»",
        supplier_helpdesk_phones=["8 800 111-22-33"],
        supplier_helpdesk_hours="круглосуточно",
    )


def _text(reader: PdfReader) -> str:
    return "\n".join(page.extract_text() or "" for page in reader.pages)


@pytest.mark.parametrize("slug", sorted(GUIDES))
def test_guide_is_a_pdf_with_readable_russian_text(slug: str, branded: Settings) -> None:
    pdf = build_pdf(slug, branded)
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    text = _text(reader)
    # Extractable Unicode, i.e. the glyphs map back to Cyrillic (no tofu, no "?????").
    for phrase in ("Регистрация пользователя", "Зарегистрироваться", "Имя пользователя", "Профиль",
                   "Служба поддержки пользователей", "АО «Тестовая энергосбытовая компания»", "8 800 111-22-33"):
        assert phrase in text.replace("\n", " "), f"{phrase!r} not readable in {slug}.pdf"
    assert "\ufffd" not in text and "{{" not in text
    cyrillic = sum(1 for ch in text if "а" <= ch.lower() <= "я")
    assert cyrillic > 500
    assert reader.metadata is not None and reader.metadata.title == GUIDES[slug].title


@pytest.mark.parametrize("slug", sorted(GUIDES))
def test_guide_embeds_its_font_and_every_screenshot(slug: str, branded: Settings) -> None:
    reader = PdfReader(io.BytesIO(build_pdf(slug, branded)))
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            assert "/FontFile2" in descriptor, f"{font['/BaseFont']} is not embedded"
            fonts.add(str(font["/BaseFont"]))
    assert any("NotoSans" in name for name in fonts), fonts

    source = (GUIDES_DIR / f"{slug}.md").read_text(encoding="utf-8")
    referenced = IMAGE_REF.findall(source)
    assert referenced, "a guide shows the pages"
    for ref in referenced:
        assert (GUIDES_DIR / ref).is_file(), f"{ref} missing: run `make screenshots`"
    images = [image for page in reader.pages for image in page.images]
    assert len(images) >= len(set(referenced))
    assert all(image.image.width >= 360 for image in images)  # screenshots, not icons


def test_guide_images_are_the_page_screenshots() -> None:
    """Every picture a guide shows is one the screenshot script takes of the real pages."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("screenshots", Path(GUIDES_DIR.parent, "tools", "screenshots.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for slug in GUIDES:
        for ref in IMAGE_REF.findall((GUIDES_DIR / f"{slug}.md").read_text(encoding="utf-8")):
            assert Path(ref).stem in module.PAGES, f"{ref} in {slug}.md is not taken by docs/tools/screenshots.py"


def test_readme_shows_a_screenshot_of_every_page() -> None:
    import importlib.util

    root = GUIDES_DIR.parents[1]
    spec = importlib.util.spec_from_file_location("screenshots", root / "docs" / "tools" / "screenshots.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    readme = (root / "README.md").read_text(encoding="utf-8")
    for name in module.PAGES:
        assert f"](docs/img/{name}.png)" in readme, f"README does not show {name}.png"
        png = root / "docs" / "img" / f"{name}.png"
        assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{png} missing: run `make screenshots`"
