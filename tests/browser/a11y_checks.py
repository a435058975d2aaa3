"""Checks the accessibility tests run on a page as it stands: axe-core's WCAG 2.1 A/AA
rules (the axe.min.js that PyPI's axe-playwright-python pins, injected into the page),
tap-target sizes and the focus ring's contrast, measured in the real browser."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page

# WCAG 2.1 level A and AA, as ГОСТ Р 52872-2019 asks; axe's best practices are not law.
WCAG21_AA_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
MIN_TARGET_PX = 44
MIN_FOCUS_CONTRAST = 3.0

_axe = Axe()


async def wcag_violations(page: Page) -> list[str]:
    """Each violated rule with the elements that break it, as one readable line."""
    results = await _axe.run(
        page, options={"runOnly": {"type": "tag", "values": WCAG21_AA_TAGS}, "resultTypes": ["violations"]}
    )
    return [_describe(v) for v in results.response["violations"]]


def _describe(violation: dict[str, Any]) -> str:
    targets = ", ".join(" ".join(map(str, node["target"])) for node in violation["nodes"][:5])
    return f"{violation['id']} ({violation['impact']}): {violation['help']} — {targets}"


# Every visible thing a finger can press, with its size when under the minimum.
SMALL_TARGETS_JS = """
(min) => {
  const selector = "a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex='-1'])";
  const small = [];
  for (const el of document.querySelectorAll(selector)) {
    const style = getComputedStyle(el);
    if (style.display === "none" || style.visibility === "hidden" || !el.getClientRects().length) continue;
    const box = el.getBoundingClientRect();
    if (box.width < min || box.height < min) {
      const name = (el.getAttribute("aria-label") || el.textContent || el.name || el.id).trim().slice(0, 40);
      small.push(`${el.tagName.toLowerCase()} «${name}» ${box.width.toFixed(0)}×${box.height.toFixed(0)}`);
    }
  }
  return small;
}
"""


async def small_tap_targets(page: Page) -> list[str]:
    return list(await page.evaluate(SMALL_TARGETS_JS, MIN_TARGET_PX))


# WCAG 2 relative luminance and the nearest opaque background under an element: shared
# by the text-contrast and focus-ring checks (JavaScript run in the page).
CONTRAST_HELPERS_JS = """
  const lum = (rgb) => {
    const [r, g, b] = rgb.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const parse = (c) => c.match(/[\\d.]+/g).map(Number);
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = parse(getComputedStyle(el).backgroundColor);
      if (c.length < 4 || c[3] > 0.99) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
"""


# The focused element's outline colour against what lies under the ring: the nearest
# opaque background of its parent (the ring sits outside the element, offset 2 px).
FOCUS_CONTRAST_JS = """
() => {
""" + CONTRAST_HELPERS_JS + """  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  if (style.outlineStyle === "none" || parseFloat(style.outlineWidth) < 2) return {name: el.outerHTML.slice(0, 60), ratio: 0};
  const ring = lum(parse(style.outlineColor).slice(0, 3)), under = lum(background(el.parentElement));
  return {name: el.outerHTML.slice(0, 60), ratio: (Math.max(ring, under) + 0.05) / (Math.min(ring, under) + 0.05)};
}
"""


TABBABLE_COUNT_JS = """
() => [...document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea, [tabindex='0']")]
  .filter(el => el.getClientRects().length && getComputedStyle(el).visibility !== "hidden").length
"""


async def weak_focus_rings(page: Page) -> list[str]:
    """Tab through the whole page from its top; every stop whose ring is under 3:1."""
    weak = []
    for _ in range(await page.evaluate(TABBABLE_COUNT_JS) + 1):  # +1: the skip link, off-screen until focused
        await page.keyboard.press("Tab")
        found = await page.evaluate(FOCUS_CONTRAST_JS)
        if found is not None and found["ratio"] < MIN_FOCUS_CONTRAST:
            weak.append(f"{found['name']} {found['ratio']:.2f}:1")
    return weak
