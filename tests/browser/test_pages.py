"""The interviewer's pages in a real browser (headless Chromium), at 1400 and 800 px:
no sideways scrolling, every link resolves, no console errors, status colours and every
other text readable (contrast >= 4.5:1), accessibility basics, hostile names shown as
text. Full-page screenshots of each page at both widths are saved under
``out/screenshots/`` (``PROCTOR_SCREENSHOTS`` overrides) for a human to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from pages_site import CHROMIUM_ARGS, HOSTILE, ROOT, SCREENSHOTS, chromium_path, reports

from proctor.library.spec import Library
from proctor.report.book import report_href
from proctor.report.gradebook import write_gradebook

WIDTHS = [1400, 800]
PAGES = {"gradebook": "index.html", "similarity": "similarity.html",
         "report-strong": report_href("strong"), "report-flawed": report_href("flawed"),
         "report-hostile": report_href(HOSTILE)}
MIN_CONTRAST = 4.5

# WCAG contrast of every element that shows text, against the background it is drawn on
# (the nearest ancestor with an opaque background colour).
CONTRAST_JS = """() => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = c => { const v = c.slice(0, 3).map(x => { x /= 255;
      return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
  const bg = el => { for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length >= 3 && (c.length < 4 || c[3] > 0.9)) return c; }
    return [255, 255, 255]; };
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length) continue;
    const st = getComputedStyle(el);
    if (st.visibility === "hidden" || st.display === "none") continue;
    const a = lum(rgb(st.color)), b = lum(bg(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    out.push({text: el.textContent.trim().slice(0, 40), cls: el.className, tag: el.tagName,
              ratio: Math.round(ratio * 100) / 100});
  }
  return out;
}"""

A11Y_JS = """() => ({
  lang: document.documentElement.lang,
  h1: document.querySelectorAll("h1").length,
  levels: Array.from(document.querySelectorAll("h1,h2,h3,h4,h5,h6")).map(h => +h.tagName[1]),
  tables_without_th: Array.from(document.querySelectorAll("table"))
    .filter(t => !t.querySelector("th")).length,
  th_without_scope: Array.from(document.querySelectorAll("thead th"))
    .filter(th => !th.getAttribute("scope")).length,
  links_without_text: Array.from(document.querySelectorAll("a"))
    .filter(a => !(a.textContent.trim() || a.getAttribute("aria-label"))).map(a => a.href),
  images_without_label: Array.from(document.querySelectorAll("[role=img], img"))
    .filter(e => !(e.getAttribute("aria-label") || e.getAttribute("alt"))).length,
  buttons_without_text: Array.from(document.querySelectorAll("button"))
    .filter(b => !b.textContent.trim()).length,
})"""


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gradebook")
    write_gradebook(reports(), out, Library(ROOT))
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright (the dev extra) is not installed")
    path = chromium_path()
    if path is None:
        pytest.skip("no chromium on this machine (.ci/run installs Debian's chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def open_page(browser, site: Path, rel: str, width: int, **context):
    ctx = browser.new_context(viewport={"width": width, "height": 900}, **context)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"failed to load {r.url}"))
    page.goto((site / unquote(rel)).as_uri())
    page.wait_for_load_state("load")
    return page, errors


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(PAGES))
def test_page_reads_at_this_width(browser, site, name, width):
    page, errors = open_page(browser, site, PAGES[name], width)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    scroll, client = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert scroll <= client, f"{name} scrolls sideways at {width} px ({scroll} > {client})"
    assert errors == []
    low = [c for c in page.evaluate(CONTRAST_JS) if c["ratio"] < MIN_CONTRAST]
    assert low == [], f"text under {MIN_CONTRAST}:1 contrast: {low[:5]}"
    page.context.close()


@pytest.mark.parametrize("name", list(PAGES))
def test_every_link_resolves(browser, site, name):
    page, _ = open_page(browser, site, PAGES[name], 1400)
    hrefs = page.evaluate("Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
    page.context.close()
    assert hrefs
    for href in hrefs:
        url = urlparse(href)
        assert url.scheme == "file", f"{name}: {href} leaves the gradebook folder"
        target = Path(unquote(url.path))
        assert target.is_file(), f"{name}: {href} -> no such file"
        assert site in target.parents or target.parent == site, f"{name}: {href} is outside"
        if url.fragment:
            assert f'id="{unquote(url.fragment)}"' in target.read_text(), \
                f"{name}: {href} -> no element with that id"


@pytest.mark.parametrize("name", list(PAGES))
def test_accessibility_basics(browser, site, name):
    page, _ = open_page(browser, site, PAGES[name], 1400)
    a = page.evaluate(A11Y_JS)
    page.context.close()
    assert a["lang"] == "en" and a["h1"] == 1
    assert a["levels"][0] == 1 and all(b - x <= 1 for x, b in zip(a["levels"], a["levels"][1:],
                                                                   strict=False))
    assert a["tables_without_th"] == 0 and a["th_without_scope"] == 0
    assert a["links_without_text"] == [] and a["images_without_label"] == 0
    assert a["buttons_without_text"] == 0


def test_status_colours_are_readable(browser, site):
    """Every status badge and heat-map cell, measured where it is drawn."""
    for rel in (PAGES["report-flawed"], PAGES["gradebook"]):
        page, _ = open_page(browser, site, rel, 1400)
        found = [c for c in page.evaluate(CONTRAST_JS)
                 if "badge" in c["cls"] or c["tag"] == "A" and c["text"].replace(".", "")
                 .isdigit() or "fl" == c["cls"]]
        page.context.close()
        assert found and min(c["ratio"] for c in found) >= MIN_CONTRAST, found


def test_hostile_names_and_messages_render_as_text(browser, site):
    for rel in (PAGES["report-hostile"], PAGES["gradebook"]):
        page, errors = open_page(browser, site, rel, 1400)
        assert page.evaluate("window.__pwned") is None  # no markup of theirs ran
        assert page.evaluate("document.querySelectorAll('img').length") == 0
        assert HOSTILE in page.inner_text("body")
        page.context.close()
    page, _ = open_page(browser, site, PAGES["report-hostile"], 1400)
    assert page.inner_text("h1").startswith(HOSTILE)
    assert "<script>window.__pwned=2</script>" in page.inner_text("body")
    page.context.close()


def test_the_gradebook_sorts_and_reads_without_script(browser, site):
    page, errors = open_page(browser, site, "index.html", 1400)
    names = "Array.from(document.querySelectorAll('#heat tbody td.name a')).map(a => a.text)"
    best_first = page.evaluate(names)
    assert best_first[0] == "strong" and best_first[-1] == HOSTILE
    page.click("#heat thead button[data-col='1']")  # by name
    assert page.evaluate(names) == sorted(best_first, key=lambda s: s.lower()) or \
        page.evaluate(names) != best_first
    page.click("#heat thead button[data-col='2']")  # by total, best first again
    assert page.evaluate(names) == best_first and errors == []
    page.click("#heat thead button[data-col='3']")  # by the plan's score: no plan last
    assert page.evaluate(names)[-1] == HOSTILE and errors == []
    top = page.inner_text("main > .plan-mixed")  # mixed plans, said before the table
    assert "graded as different interview plans" in top and HOSTILE in top
    page.context.close()
    page, _ = open_page(browser, site, "index.html", 1400, java_script_enabled=False)
    assert page.evaluate is not None
    text = page.inner_text("#heat")
    assert text.index("strong") < text.index("flawed")  # best first, no script needed
    page.context.close()
