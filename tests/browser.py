"""Drive the built site in the system Chromium (selenium), as a reader would.

Everything here works on ``file://`` pages and must not touch the network: Chromium is
started with its background services off, and every request a page makes is collected from
the performance log so a test can prove it stayed on ``file://``.

The axe-core script comes from npm (``make install`` puts it under the venv); its path is
``DATAPAKKE_AXE_JS`` or the Makefile's default.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from datapakke import config

CHROMIUM = os.environ.get("DATAPAKKE_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("DATAPAKKE_CHROMEDRIVER", "/usr/bin/chromedriver")
AXE_JS = Path(os.environ.get("DATAPAKKE_AXE_JS", config.ROOT / ".venv" / "js" / "node_modules" / "axe-core" / "axe.min.js"))
#: axe impact levels that fail a page (only "minor" is let through).
BLOCKING = ("critical", "serious", "moderate")
#: Addresses that never leave the machine: the site's files, URLs a page builds itself (data:,
#: blob:) and the browser's own pages.
LOCAL_SCHEMES = ("file://", "data:", "blob:", "about:", "chrome:", "chrome-error:", "devtools:")


def missing() -> str:
    """Why the browser tests cannot run here ('' when they can)."""
    try:
        import selenium  # noqa: F401, PLC0415
    except ImportError:
        return "selenium er ikke installeret (make install)"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not Path(path).is_file():
            return f"{path} findes ikke: installer Debians '{package}' (apt-get install chromium chromium-driver)"
    if not AXE_JS.is_file():
        return f"axe-core mangler ({AXE_JS}): kør make install (npm install axe-core)"
    return ""


@contextmanager
def chromium(width: int, height: int = 900):
    """A headless Chromium window of the given CSS size, with console and network logging."""
    from selenium import webdriver  # noqa: PLC0415
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    profile = tempfile.mkdtemp(prefix="dp-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1",
                 f"--user-data-dir={profile}", f"--window-size={width},{height}", "--lang=da"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(executable_path=CHROMEDRIVER))
    try:
        # the window size includes no browser chrome in headless mode; make the viewport exact anyway
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        driver.get_log("browser"), driver.get_log("performance")  # the new-tab page is not ours
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def open_page(driver, page: Path) -> None:
    """Load a page and wait until plotly has drawn what it is going to draw."""
    driver.get(page.resolve().as_uri())
    driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const wait = () => new Promise(r => requestAnimationFrame(() => setTimeout(r, 50)));
        (async () => {
          if (document.readyState !== 'complete') await new Promise(r => addEventListener('load', r));
          for (let i = 0; i < 100; i++) {
            const plots = [...document.querySelectorAll('.plotly-graph-div')];
            if (plots.every(p => p.querySelector('svg.main-svg'))) break;
            await wait();
          }
          await wait();
          done();
        })();""")


def console_errors(driver) -> list[str]:
    """Console messages at level SEVERE since the last call (the log is drained by reading it)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def requests(driver) -> list[str]:
    """Every URL the page asked for since the last call (from Chromium's performance log)."""
    urls = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return urls


def non_local(urls: list[str]) -> list[str]:
    return [u for u in urls if not u.startswith(LOCAL_SCHEMES)]


def figures_without_svg(driver) -> list[str]:
    """Ids of plot divs that hold no drawn SVG."""
    return driver.execute_script("""
        return [...document.querySelectorAll('.plotly-graph-div')]
          .filter(p => !p.querySelector('svg.main-svg') || p.getBoundingClientRect().width < 100)
          .map(p => p.id);""")


def horizontal_overflow(driver) -> dict:
    """Document width against the viewport, and the widest elements that stick out (if any)."""
    return driver.execute_script("""
        const vw = window.innerWidth, doc = document.documentElement.scrollWidth;
        const out = [];
        if (doc > vw) {
          for (const el of document.body.querySelectorAll('*')) {
            const r = el.getBoundingClientRect();
            if (r.right > vw + 1 && el.offsetParent !== null) {
              let p = el.parentElement, clipped = false;
              while (p) { if (getComputedStyle(p).overflowX !== 'visible') { clipped = true; break; } p = p.parentElement; }
              if (!clipped) out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                                     (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : '') +
                                     ' right=' + Math.round(r.right));
            }
          }
        }
        return {viewport: vw, document: doc, culprits: out.slice(0, 8)};""")


def axe(driver) -> list[dict]:
    """axe-core's violations on the current page: rule id, impact, and where (selector + snippet)."""
    driver.execute_script(AXE_JS.read_text(encoding="utf-8"))
    result = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        axe.run(document, {resultTypes: ['violations'], preload: false}).then(r => done(JSON.stringify(r.violations)),
                                                            e => done(JSON.stringify({error: String(e)})));""")
    data = json.loads(result)
    if isinstance(data, dict):
        raise RuntimeError(f"axe-core fejlede: {data['error']}")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [{"target": " ".join(map(str, n["target"])), "html": n["html"][:160]} for n in v["nodes"]]}
            for v in data]


def print_pdf(driver) -> bytes:
    """The current page printed to A4 by Chromium's print engine (the page's print stylesheet applies)."""
    result = driver.execute_cdp_cmd("Page.printToPDF", {
        "paperWidth": 8.27, "paperHeight": 11.69, "printBackground": True, "preferCSSPageSize": True,
        "marginTop": 0, "marginBottom": 0, "marginLeft": 0, "marginRight": 0})
    return base64.b64decode(result["data"])


def screenshot_full(driver, path: Path, width: int) -> None:
    """A screenshot of the whole page height at ``width`` CSS px."""
    height = driver.execute_script("return Math.ceil(document.documentElement.scrollHeight)")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": min(height, 16000), "deviceScaleFactor": 1, "mobile": False})
    try:
        driver.save_screenshot(str(path))
    finally:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False})
