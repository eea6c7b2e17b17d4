"""`kantkg serve` in a real browser: headless Chromium (Debian's `chromium`), driven by
Selenium through Debian's `chromium-driver`, offline: every host name but the loopback
one fails to resolve, so a page that needed the internet (a chart library from a CDN)
would show here as missing.

Without Chromium the tests skip and say which package is missing; with
KANT_REQUIRE_BROWSER=1 (CI sets it) they fail instead. Screenshots go to data/screenshots/.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.conftest import ROOT
from tests.test_datasette import (
    SEED_TITLE,
    crawled_archive,
    free_port,
    kantkg_serve,
    seed_id,
    serving,
)

SCREENSHOTS = ROOT / "data" / "screenshots"
WAIT = 20  # seconds for an element to appear


def _missing(what: str) -> None:
    """A browser test cannot run: a failure when KANT_REQUIRE_BROWSER=1, else a skip."""
    reason = f"browser tests need {what}"
    if os.environ.get("KANT_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (KANT_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(reason)


def _chromium() -> tuple[str, str]:
    browser = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)
    if browser is None:
        _missing("Chromium: apt-get install chromium chromium-driver")
    driver = shutil.which("chromedriver")
    if driver is None:
        _missing("chromedriver: apt-get install chromium-driver")
    return str(browser), str(driver)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    try:
        from selenium import webdriver
    except ImportError:
        _missing("selenium: pip install -e '.[dev]'")
    binary, driver_path = _chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1200,1000",
        "--lang=ru",
        # Offline, and seen to be: no host name but 127.0.0.1 resolves, nothing phones home.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        "--disable-sync",
        "--no-first-run",
    ):
        options.add_argument(argument)
    service = webdriver.ChromeService(executable_path=driver_path)
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def archive_db(replica, tmp_path_factory):
    return crawled_archive(replica, tmp_path_factory.mktemp("browser"))


@pytest.fixture(scope="module")
def site(archive_db) -> Iterator[str]:
    port = free_port()
    with serving(kantkg_serve(archive_db, port), port) as base:
        yield f"{base}/{archive_db.stem}"


def _wait(driver, condition):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT).until(condition)


def _screenshot(driver, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / name))


def test_a_russian_search_typed_into_the_search_page_highlights_the_seed(browser, site):
    from selenium.webdriver.common.by import By

    browser.get(f"{site}/search")
    box = _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "form input[name=q]"))
    box.clear()
    box.send_keys("встреча Жапарова с Путиным")
    box.submit()
    marks = _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "table td mark"))
    titles = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "table td a")]
    assert SEED_TITLE in titles
    marked = [m.text.lower() for m in marks]  # the words in any of their forms
    assert any(w.startswith("путин") for w in marked)
    assert any(w.startswith("жапаров") for w in marked)
    _screenshot(browser, "search.png")


def test_the_seed_articles_page_shows_its_twelve_paragraphs(browser, site, archive_db, replica):
    from selenium.webdriver.common.by import By

    browser.get(f"{site}/articles/{seed_id(archive_db, replica)}")
    heading = _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "article h1"))
    assert heading.text == SEED_TITLE
    paragraphs = browser.find_elements(By.CSS_SELECTOR, "article .body p")
    assert len(paragraphs) == 12
    assert all(p.text.strip() for p in paragraphs)
    source = browser.find_element(By.CSS_SELECTOR, "article .source a")
    assert source.get_attribute("href") == replica.seed_article.url
    _screenshot(browser, "article.png")


# The chart's marks in the page as it is now (datasette-plot may draw twice, replacing the
# first SVG): the number of SVGs, of marks of that kind, and the longest path drawn.
_CHART = """
const svgs = document.querySelectorAll("div.datasette-plot svg[class^=plot]");
if (!svgs.length) return null;
const chart = svgs[svgs.length - 1];
const marks = chart.querySelectorAll(`g[aria-label=${arguments[0]}] ${arguments[1]}`);
if (!marks.length) return null;
const longest = Math.max(...Array.from(marks, m => (m.getAttribute("d") || "").length));
return {svgs: svgs.length, marks: marks.length, longest: longest};
"""


@pytest.mark.parametrize(
    ("query", "mark", "element"),
    [("articles_by_section", "bar", "rect"), ("mentions_by_month?q=Жапаровым", "line", "path")],
)
def test_a_chart_renders_with_data(browser, site, query, mark, element):
    """datasette-plot draws an SVG: a bar (rect) per section; a line (path) through every
    month, for the months a word is mentioned in."""
    from selenium.webdriver.common.by import By

    browser.get(f"{site}/{query}")
    chart = _wait(browser, lambda d: d.execute_script(_CHART, mark, element))
    rows = browser.find_elements(By.CSS_SELECTOR, "table.rows-and-columns tbody tr")
    assert chart["svgs"] == 1
    if mark == "bar":
        assert chart["marks"] == len(rows) > 1
    else:
        assert chart["marks"] == 1 and chart["longest"] > 5 * len(rows) > 0  # a point a month
    _screenshot(browser, f"chart-{query.split('?')[0]}.png")


def test_a_missing_browser_is_named_and_fails_when_required(monkeypatch):
    """No Chromium: a skip that names the package, or with KANT_REQUIRE_BROWSER=1 (CI) a
    failure that says why."""
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("KANT_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium chromium-driver"):
        _chromium()
    monkeypatch.setenv("KANT_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="Chromium.*KANT_REQUIRE_BROWSER=1"):
        _chromium()
