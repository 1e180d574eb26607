"""The published fixture site in a real browser: Chromium (headless, via selenium) over file://.

A reader's round — front page → municipality overview → Aars Skole → Vestermarkskolen Aars (the
tiny school) → explorer — at 1280 px and 390 px (a phone).  Each page is visited once per width;
the tests below then check what was seen: no console errors, nothing fetched but file://, every
figure drawn, no sideways scrolling on the phone, no critical/serious/moderate axe-core
violation.  Aars Skole is printed to A4 PDF and its handleplan must start a new page.

Screenshots (whole pages at both widths, the printed handleplan as PNG) are kept as test
artefacts in ``DATAPAKKE_TEST_ARTEFACTS`` (default ``reports/test-artefacts/browser``); the
folder is printed at the end of the run.

Without Chromium (Debian's ``chromium`` and ``chromium-driver``), selenium or axe-core the tests
skip with the reason, except under CI (``CI`` set), where a missing browser is a failure.
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from datapakke import build, config, publish

from . import browser
from .conftest import AARS, TINY

WHY_NOT = browser.missing()
if WHY_NOT and os.environ.get("CI"):
    raise RuntimeError(f"Browsertestene skal køre i CI: {WHY_NOT}")
pytestmark = pytest.mark.skipif(bool(WHY_NOT), reason=WHY_NOT)

ARTEFACTS = Path(os.environ.get("DATAPAKKE_TEST_ARTEFACTS", config.ROOT / "reports" / "test-artefacts" / "browser"))
PAGES = {
    "forside": "index.html",
    "kommune": "vesthimmerland/index.html",
    "aars": f"vesthimmerland/{AARS}-aars-skole.html",
    "vestermarkskolen": f"vesthimmerland/{TINY}-vestermarkskolen-aars.html",
    "udforsker": "udforsker/index.html",
}
WIDTHS = (1280, 390)
VISITS = [(w, p) for w in WIDTHS for p in PAGES]


@dataclass
class Visit:
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    undrawn: list[str] = field(default_factory=list)
    overflow: dict = field(default_factory=dict)
    violations: list[dict] = field(default_factory=list)
    python_output: int = 0
    mouse_only_controls: int = 0


@pytest.fixture(scope="module")
def site(built, tmp_path_factory) -> Path:
    """Aars Skole, Vestermarkskolen Aars, the Vesthimmerland overview and the explorer, published (fallback)."""
    paths = config.Paths(raw=built.raw, processed=built.processed, params=built.params,
                         reports=tmp_path_factory.mktemp("browser") / "reports", notebooks=built.notebooks)
    schools = [p for s in (AARS, TINY) for p in build.select(paths.params, school=s)]
    summary = build.build(schools, paths, workers=2)
    assert not summary.failures, summary.text()
    pages = build.build_pages(build.municipalities_of(schools), paths, workers=2)
    assert all(o.ok for o in pages), [o.error for o in pages]
    out, used = publish.publish(paths, renderer="fallback")
    assert used == "nbconvert"
    return out


@pytest.fixture(scope="module")
def artefacts() -> Path:
    shutil.rmtree(ARTEFACTS, ignore_errors=True)
    ARTEFACTS.mkdir(parents=True)
    from . import conftest

    conftest.ARTEFACT_FOLDERS.append(ARTEFACTS)
    return ARTEFACTS


@pytest.fixture(scope="module")
def visits(site, artefacts) -> dict[tuple[int, str], Visit]:
    seen = {}
    for width in WIDTHS:
        with browser.chromium(width) as driver:
            for name, rel in PAGES.items():
                browser.open_page(driver, site / rel)
                v = Visit(errors=browser.console_errors(driver), requests=browser.requests(driver),
                          undrawn=browser.figures_without_svg(driver), overflow=browser.horizontal_overflow(driver))
                v.python_output = driver.execute_script("return document.querySelectorAll('.output_stderr, .output_error').length")
                v.mouse_only_controls = driver.execute_script(
                    "return document.querySelectorAll('.js-plotly-plot .updatemenu-container, .js-plotly-plot .slider-container').length")
                v.violations = browser.axe(driver)
                browser.console_errors(driver)  # axe's own messages are not the page's
                browser.screenshot_full(driver, artefacts / f"{name}-{width}.png", width)
                seen[(width, name)] = v
    return seen


def _id(visit):
    return f"{visit[1]}-{visit[0]}px"


@pytest.mark.parametrize("visit", VISITS, ids=_id)
def test_no_console_errors(visits, visit):
    assert visits[visit].errors == []


@pytest.mark.parametrize("visit", VISITS, ids=_id)
def test_nothing_is_fetched_from_the_network(visits, visit):
    v = visits[visit]
    assert v.requests, "the performance log saw no request at all: the check would prove nothing"
    assert browser.non_local(v.requests) == []


@pytest.mark.parametrize("visit", VISITS, ids=_id)
def test_every_figure_is_drawn(visits, visit):
    assert visits[visit].undrawn == []


@pytest.mark.parametrize("visit", VISITS, ids=_id)
def test_no_python_output_on_the_page(visits, visit):
    assert visits[visit].python_output == 0, "a warning or error printed by the notebook reached the page"


@pytest.mark.parametrize("page", list(PAGES))
def test_no_sideways_scrolling_on_a_phone(visits, page):
    o = visits[(390, page)].overflow
    assert o["viewport"] == 390
    assert o["document"] <= o["viewport"], o["culprits"]


@pytest.mark.parametrize("visit", VISITS, ids=_id)
def test_axe_finds_no_critical_serious_or_moderate_violation(visits, visit):
    blocking = [v for v in visits[visit].violations if v["impact"] in browser.BLOCKING]
    assert blocking == [], "\n".join(f"{v['impact']} {v['id']} ({v['help']}): "
                                     + "; ".join(n["target"] for n in v["nodes"][:5]) for v in blocking)


@pytest.mark.parametrize("page", ["kommune", "udforsker", "aars", "vestermarkskolen"])
def test_figure_controls_are_reachable_by_keyboard(visits, page):
    """No plotly menu or slider (drawn in SVG, mouse only): the filters are native selects in the page."""
    assert visits[(1280, page)].mouse_only_controls == 0


@pytest.mark.parametrize("page, select, figure", [("udforsker", "fig-udforsker-koensforskel-kommune", "fig-udforsker-koensforskel"),
                                                  ("udforsker", "fig-udforsker-fordelinger-runde", "fig-udforsker-fordelinger"),
                                                  ("kommune", "fig-kommune-udvikling-skoler-dimension",
                                                   "fig-kommune-udvikling-skoler")])
def test_a_filter_changes_its_figure_from_the_keyboard(site, page, select, figure):
    """Tab to the select, change it with the arrow key: the figure shows other traces and says so."""
    from selenium.webdriver.common.keys import Keys

    shown = f"return document.getElementById('{figure}').data.map(t => t.visible !== false)"
    with browser.chromium(1280) as driver:
        browser.open_page(driver, site / PAGES[page])
        el = driver.find_element("id", select)
        before = driver.execute_script(shown)
        driver.execute_script("arguments[0].focus()", el)
        assert driver.switch_to.active_element == el
        last = driver.execute_script("return arguments[0].selectedIndex === arguments[0].options.length - 1", el)
        el.send_keys(Keys.ARROW_UP if last else Keys.ARROW_DOWN)
        after = driver.execute_script(shown)
        status = driver.execute_script("return arguments[0].closest('.dp-filters').querySelector('[role=status]').textContent", el)
        assert browser.console_errors(driver) == []
    assert sum(before) > 0 and after != before and sum(after) > 0
    assert status.startswith("Figuren viser nu:")


def test_links_to_the_numbers_behind_a_figure_open_them(site):
    with browser.chromium(1280) as driver:
        browser.open_page(driver, site / PAGES["aars"])
        link = driver.find_element("css selector", '#figur-survey-overview a.dp-figure-data')
        assert not driver.execute_script("return document.getElementById('tal-survey-overview').open")
        link.click()
        assert driver.execute_script("return document.getElementById('tal-survey-overview').open")
        targets = driver.execute_script("""return [...document.querySelectorAll('a[href^="#"]')]
            .map(a => a.getAttribute('href').slice(1)).filter(id => !document.getElementById(decodeURIComponent(id)))""")
    assert targets == [], "links inside the page without a target"


def test_the_menu_folds_into_a_top_menu_on_a_phone(site):
    for width, folded in ((1280, False), (390, True)):
        with browser.chromium(width) as driver:
            browser.open_page(driver, site / PAGES["aars"])
            state = driver.execute_script("""
                const nav = document.querySelector('#dp-menu nav'), main = document.querySelector('main');
                return {navShown: nav.checkVisibility(), open: document.getElementById('dp-menu').open,
                        mainLeft: main.getBoundingClientRect().left, mainWidth: main.getBoundingClientRect().width};""")
            assert state["open"] is not folded and state["navShown"] is not folded
            if folded:  # the text column is the screen's width, the menu opens from its button
                assert state["mainLeft"] == 0 and state["mainWidth"] == 390
                driver.find_element("css selector", "#dp-menu > summary").click()
                assert driver.execute_script("return document.querySelector('#dp-menu nav').checkVisibility()")
                names = [a.text for a in driver.find_elements("css selector", "#dp-menu nav a")]
                assert names[:2] == ["Forside", "Vesthimmerland Kommune"] and names[-1].startswith("Udforsker")
                assert names[2:4] == ["Aars Skole", "Vestermarkskolen Aars"]  # name order


def test_sortable_headers_work_from_the_keyboard(site):
    from selenium.webdriver.common.keys import Keys

    with browser.chromium(1280) as driver:
        browser.open_page(driver, site / PAGES["kommune"])
        button = driver.find_element("css selector", "table.dp-sortable thead th button")
        button.send_keys(Keys.ENTER)
        th = driver.execute_script("return arguments[0].closest('th').getAttribute('aria-sort')", button)
        assert th == "ascending"
        button.send_keys(Keys.SPACE)
        assert driver.execute_script("return arguments[0].closest('th').getAttribute('aria-sort')", button) == "descending"


def _pdf_pages(pdf: bytes) -> list[str]:
    from pypdf import PdfReader

    return [" ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(pdf)).pages]


def test_printed_school_page_has_the_handleplan_on_its_own_pages(site, artefacts):
    with browser.chromium(1280) as driver:
        browser.open_page(driver, site / PAGES["aars"])
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})  # as the print dialog does
        widths = driver.execute_script("return [...document.querySelectorAll('.js-plotly-plot')].map(g => g._fullLayout.width)")
        pdf = browser.print_pdf(driver)
        assert browser.console_errors(driver) == []
    (artefacts / "aars-print.pdf").write_bytes(pdf)
    assert widths and max(widths) <= 700, f"figures are drawn wider than the A4 page: {widths}"
    pages = _pdf_pages(pdf)
    plan = [i for i, text in enumerate(pages) if "Indsats 1:" in text]
    assert plan, "no handleplan in the printed page"
    first = plan[0]
    assert pages[first].startswith("Handleplan"), f"the handleplan's page starts with: {pages[first][:80]!r}"
    assert "Handleplan" not in pages[first - 1] and "Indsats" not in pages[first - 1]
    method = next(i for i, text in enumerate(pages) if text.startswith("Data og metode"))
    assert method > first and all("Data og metode" not in pages[i] for i in range(first, method))
    if shutil.which("pdftoppm"):  # Debian's poppler-utils: the printed plan as pictures to look at
        subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", str(first + 1), "-l", str(method),
                        str(artefacts / "aars-print.pdf"), str(artefacts / "aars-print-handleplan")], check=True)
