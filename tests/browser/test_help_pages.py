"""Help for everyone, in a real browser: the guides as HTML pages beside the «?» (same
text and screenshots as the PDFs), the help desk's written channel, the favicon."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import Page, Response, expect

from lkk.guides.build import GUIDES, GUIDES_DIR
from tests.browser.harness import WebStack

SCREENSHOT_REF = re.compile(r"!\[[^\]]*\]\(\.\./img/([a-z0-9-]+)\.png\)")
IMAGES_LOADED_JS = "() => [...document.images].filter(i => i.complete && i.naturalWidth > 0).map(i => new URL(i.src).pathname)"


def _screenshots_of(slug: str) -> set[str]:
    return {f"/guides/img/{name}.png" for name in SCREENSHOT_REF.findall((GUIDES_DIR / f"{slug}.md").read_text(encoding="utf-8"))}


async def _read_the_guide(page: Page, slug: str) -> None:
    """The guide page as a reader meets it: its title, every screenshot loaded, the PDF."""
    await expect(page.get_by_role("heading", level=1)).to_have_text(GUIDES[slug].title)
    for figure in await page.locator("figure").all():
        await figure.scroll_into_view_if_needed()  # pictures load lazily
        await expect(figure.get_by_role("img")).to_have_attribute("alt", re.compile(r"^Снимок экрана: \S"))
    source = (GUIDES_DIR / f"{slug}.md").read_text(encoding="utf-8")
    await expect(page.locator("figure img")).to_have_count(len(SCREENSHOT_REF.findall(source)))
    await page.wait_for_function("() => [...document.images].every(i => i.complete)")
    assert set(await page.evaluate(IMAGES_LOADED_JS)) >= _screenshots_of(slug)
    async with page.expect_download() as info:
        await page.get_by_role("link", name=re.compile(r"^Версия для печати \(PDF, \d+ КБ\)$")).click()
    assert (await info.value).suggested_filename == f"{GUIDES[slug].title}.pdf"


async def test_html_guide_beside_the_help_icon_has_the_screenshots(page: Page, cabinet: WebStack) -> None:
    await page.goto(f"{cabinet.api_url}/login")
    header = page.get_by_role("banner")
    await expect(header.get_by_role("link", name=re.compile("Скачать .*инструкци"))).to_have_text("?")  # the manual's «?»
    await header.get_by_role("link", name="Инструкция на сайте").click()
    await expect(page).to_have_url(re.compile(r"/guides/registration$"))
    await expect(header.get_by_role("link", name="Инструкция на сайте")).to_have_attribute("aria-current", "page")
    await _read_the_guide(page, "registration")

    # The full guide's page carries the full guide's «?» and link, as the Profile does.
    await page.goto(f"{cabinet.api_url}/guides/user-guide")
    await expect(header.get_by_role("link", name="Инструкция на сайте")).to_have_attribute("href", "/guides/user-guide")
    await expect(header.get_by_role("link", name=re.compile("Скачать полную инструкцию"))).to_have_attribute(
        "href", "/guides/user-guide.pdf"
    )
    await _read_the_guide(page, "user-guide")


async def test_support_page_links_both_guides_and_the_written_channel(page: Page, cabinet: WebStack) -> None:
    await page.goto(f"{cabinet.api_url}/support")
    main = page.get_by_role("main")
    for slug, guide in GUIDES.items():
        await expect(main.get_by_role("link", name=guide.title, exact=True)).to_have_attribute("href", f"/guides/{slug}")
        # Each PDF link names its guide for a screen reader (two bare «PDF-версия» would not).
        pdf_link = main.get_by_role("link", name=re.compile(rf"^PDF-версия\s*: {guide.title}$", re.IGNORECASE))
        await expect(pdf_link).to_have_attribute("href", f"/guides/{slug}.pdf")
    await main.get_by_role("link", name="Инструкция по работе с Личным кабинетом", exact=True).click()
    await _read_the_guide(page, "user-guide")


async def test_help_desk_email_on_support_and_in_every_footer(page: Page, cabinet: WebStack) -> None:
    email = cabinet.settings.supplier_helpdesk_email
    for path in ("/support", "/login", "/register", "/guides/registration", "/no-such-page"):
        await page.goto(f"{cabinet.api_url}{path}")
        await expect(page.get_by_role("contentinfo").get_by_role("link", name=email)).to_have_attribute("href", f"mailto:{email}")
    await page.goto(f"{cabinet.api_url}/support")
    await expect(page.get_by_role("main").get_by_role("link", name=email)).to_have_attribute("href", f"mailto:{email}")


async def test_favicon_is_served_and_no_page_request_fails(page: Page, cabinet: WebStack) -> None:
    failed: list[str] = []

    def note(response: Response) -> None:
        if response.status >= 400:
            failed.append(f"{response.status} {response.url}")

    page.on("response", note)
    for path in ("/login", "/register", "/support", "/guides/registration"):
        await page.goto(f"{cabinet.api_url}{path}")
        await page.wait_for_load_state("networkidle")
    assert failed == []

    async with httpx.AsyncClient(base_url=cabinet.api_url) as client:
        icon = await client.get("/favicon.ico")
        svg = await client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file, not an HTML error page
    assert svg.status_code == 200 and svg.text.lstrip().startswith("<svg")


async def test_guide_images_are_light_copies_and_only_of_the_guides(cabinet: WebStack) -> None:
    async with httpx.AsyncClient(base_url=cabinet.api_url) as client:
        shot = await client.get("/guides/img/register.png")
        assert shot.status_code == 200 and shot.headers["content-type"] == "image/png"
        assert len(shot.content) < (GUIDES_DIR.parent / "img" / "register.png").stat().st_size * 0.6
        for other in ("ui-list", "..%2Fguides%2Fregistration", "logo"):  # a screenshot no guide shows, a path, a name
            assert (await client.get(f"/guides/img/{other}.png")).status_code == 404, other
        assert (await client.get("/guides/no-such-guide")).status_code == 404
