"""Nothing lost silently, nothing junk archived: deep pages read whole or reported, pages
and articles beyond kantkg.bounds refused with a reason, impossible dates warned of."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kantkg import bounds, explain_article, extract_article
from kantkg.extract.evaluate import FIXTURE_NOW, load_fixtures
from tests.conftest import ROOT

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
URL = "https://kant.kg/2021-05-25/vstrecha-v-bishkeke/"
TITLE = "Встреча в Бишкеке"
TEXT = "Текст статьи о событиях в Бишкеке, достаточно длинный для абзаца. "


def page(body: str, head: str = "") -> str:
    return (
        f"<html><head><title>{TITLE}</title>{head}</head><body><h1>{TITLE}</h1>{body}</body></html>"
    )


def paragraph(n: int) -> str:
    return f"Абзац номер {n}: {TEXT}"


# ------------------------------------------------------------ deep nesting


@pytest.mark.parametrize("markup", ["<b>{}<br><br>", "<p><span>{}"])
def test_paragraphs_nested_300_deep_are_all_kept(markup):
    """Unclosed inline tags nest each paragraph in the one before: libxml2 stopped
    reading at depth 256 and the rest of the article was lost without a word."""
    html = page("".join(markup.format(paragraph(n)) for n in range(300)))
    item = extract_article(html, URL, now=NOW)
    assert item is not None and bounds.junk_reason(item) is None
    assert item["paragraphs"] == [paragraph(n).strip() for n in range(300)]


def test_text_2000_elements_deep_is_kept():
    html = page("<div>" * 2000 + TEXT + "</div>" * 2000)
    item = extract_article(html, URL, now=NOW)
    assert item is not None and item["paragraphs"] == [TEXT.strip()]


@pytest.mark.parametrize("url", [URL, "https://example.com/"])
def test_nesting_deeper_than_the_parser_reads_is_reported(url):
    """Past bounds.PARSER_MAX_DEPTH the page cannot be read whole: never a crash, never
    an article silently cut."""
    html = page("<div>" * 3000 + TEXT + "</div>" * 3000)
    item, reason, _removed = explain_article(html, url, now=NOW)
    if item is None:
        assert bounds.NESTING_TOO_DEEP in reason
    else:
        assert bounds.junk_reason(item) == bounds.NESTING_TOO_DEEP


def test_100000_nested_divs_are_refused_without_a_crash():
    html = page("<div>" * 100_000 + TEXT + "</div>" * 100_000)
    item = extract_article(html, URL, now=NOW)
    assert item is not None and bounds.junk_reason(item) == bounds.TOO_MANY_ELEMENTS


@pytest.mark.parametrize(
    "ld",
    [
        '{"@type": "NewsArticle", "headline": ' + "[" * 100_000 + '"x"' + "]" * 100_000 + "}",
        '{"a": ' * 100_000 + "1" + "}" * 100_000,
        '{"@type": "NewsArticle", "headline": "'
        + TITLE
        + '", "author": '
        + '{"name": ' * 100_000
        + '"x"'
        + "}" * 100_000
        + "}",
    ],
)
def test_json_ld_nested_100000_deep_is_no_crash(ld):
    html = page(f"<p>{TEXT}</p>", head=f'<script type="application/ld+json">{ld}</script>')
    item = extract_article(html, URL, now=NOW)
    assert item is not None and item["title"] == TITLE
    assert item["paragraphs"] == [TEXT.strip()]


# ------------------------------------------------------------ junk pages


def test_a_million_one_letter_paragraphs_are_refused_unread():
    """1,000,000 <p>x</p> (8 MB): was read for 13 s and 900 MB, and archived."""
    html = page("<p>x</p>" * 1_000_000)
    item = extract_article(html, URL, now=NOW)
    assert item is not None and bounds.junk_reason(item) == bounds.TOO_MANY_ELEMENTS
    assert item["paragraphs"] == [] and item["url"] == URL
    item, reason, _removed = explain_article(html, "https://example.com/", now=NOW)
    assert item is None and bounds.TOO_MANY_ELEMENTS in reason


def test_a_megabyte_title_is_junk():
    title = "Заголовок " * 100_000
    html = (
        f"<html><head><title>{title}</title></head><body><h1>{title}</h1>"
        f"<p>{TEXT}</p></body></html>"
    )
    item = extract_article(html, URL, now=NOW)
    assert item is not None and bounds.junk_reason(item) == bounds.TITLE_TOO_LONG


def test_20000_distinct_paragraphs_are_junk_and_take_no_hours():
    """Near-duplicate search compares long paragraphs pairwise: 20,000 of one size took
    minutes (49,000: hours). Run apart, with a hang guard, not a speed target."""
    code = (
        "from kantkg import bounds, extract_article\n"
        "from tests.test_bounds import URL, page, paragraph\n"
        "html = page(''.join(f'<p>{paragraph(n)}</p>' for n in range(20_000)))\n"
        "print(bounds.junk_reason(extract_article(html, URL)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == bounds.TOO_MANY_PARAGRAPHS


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"title": "x" * 1001, "paragraphs": ["a"]}, bounds.TITLE_TOO_LONG),
        ({"title": "x", "paragraphs": ["a"] * 2001}, bounds.TOO_MANY_PARAGRAPHS),
        ({"title": "x", "paragraphs": ["a" * 600_000] * 2}, bounds.TEXT_TOO_LARGE),
        (
            {"title": "x", "paragraphs": [], bounds.LIMIT_KEY: bounds.TOO_MANY_ELEMENTS},
            bounds.TOO_MANY_ELEMENTS,
        ),
        ({"title": "x" * 1000, "paragraphs": ["a" * 500] * 2000}, None),
        ({"title": None, "paragraphs": []}, None),  # (the archive's own no-title/no-body)
    ],
)
def test_junk_reason(item, reason):
    assert bounds.junk_reason(item) == reason


def test_no_real_article_trips_a_bound():
    fixtures = load_fixtures(Path(__file__).parent / "fixtures" / "pages")
    items = [
        extract_article(f.html, f.fetched_url, now=FIXTURE_NOW)
        for f in fixtures
        if f.expected.get("article")
    ]
    assert items and all(item is not None and bounds.junk_reason(item) is None for item in items)


# ------------------------------------------------------------ impossible dates


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2026-12-01"])
def test_a_url_date_outside_1990_to_tomorrow_is_a_warning_not_the_date(day):
    """/9999-12-31/ was stored as the publication date; /0001-01-01/ raised
    OverflowError and lost the page."""
    url = f"https://kant.kg/{day}/vstrecha-v-bishkeke/"
    item, _reason, _removed = explain_article(page(f"<p>{TEXT}</p>"), url, now=NOW)
    assert item is not None and item["title"] == TITLE
    assert item["paragraphs"] == [TEXT.strip()]
    assert item["published"] is None and item["published_utc"] is None
    assert any(day in w and "outside" in w for w in item["date_warnings"])


def test_an_impossible_page_date_gives_way_to_the_next_source():
    ld = (
        '{"@type": "NewsArticle", "headline": "' + TITLE + '", '
        '"datePublished": "9999-12-31T23:00:00-10:00", "dateModified": "0001-01-01"}'
    )
    html = page(f"<p>{TEXT}</p>", head=f'<script type="application/ld+json">{ld}</script>')
    item = extract_article(html, URL, now=NOW)
    assert item["published"] == "2021-05-25T00:00:00+06:00"  # the URL's
    assert item["modified"] is None
    assert any("9999-12-31 (jsonld)" in w for w in item["date_warnings"])
    assert any("modified 0001-01-01" in w for w in item["date_warnings"])


def test_doctor_says_when_the_crawl_would_not_archive_the_page():
    from kantkg.cli.doctor import Diagnosis, report

    item = {"title": "Я" * (bounds.MAX_TITLE_CHARS + 1), "paragraphs": [TEXT], "method": {}}
    shown = report(Diagnosis(URL, "utf-8", item))
    assert f"not archived: {bounds.TITLE_TOO_LONG}" in shown
    assert "not archived" not in report(Diagnosis(URL, "utf-8", {**item, "title": TITLE}))
