"""No input makes extraction, dates or dedupe raise, and pathological pages finish."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kantkg import extract_article
from kantkg.dates import parse_date
from kantkg.extract.encoding import decode_html
from kantkg.paragraphs import clean_paragraphs
from tests.conftest import ROOT

URL = "https://kant.kg/2021-05-25/slug/"
tags = st.sampled_from(
    [
        "p",
        "div",
        "h1",
        "br",
        "article",
        "script",
        "time",
        "a",
        "table",
        "td",
        "span",
        "meta",
        "title",
        "figure",
        "b",
        "i",
        "html",
        "body",
    ]
)
attrs = st.sampled_from(
    [
        "",
        ' class="entry-content"',
        ' itemprop="articleBody"',
        ' property="og:type" content="article"',
        ' datetime="2021-05-25"',
        ' href="/category/x/"',
        ' class="date"',
        ' style="display:none"',
        ' type="application/ld+json"',
        ' itemscope itemtype="x/NewsArticle"',
    ]
)
fragment = st.one_of(
    st.text(max_size=40),
    st.builds(lambda t, a: f"<{t}{a}>", tags, attrs),
    st.builds(lambda t: f"</{t}>", tags),
    st.sampled_from(
        [
            '{"@type": "NewsArticle", "headline": ',
            "Ссылка на новость: ",
            "25 мая 2021, 10:41",
            "<![CDATA[",
            "<!--",
            "-->",
            "&amp;",
            "&#0;",
        ]
    ),
)
html_like = st.lists(fragment, max_size=60).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(html_like)
@example("<A0 CLASS=DATE></A0>\x1f")  # control character beside removed furniture
def test_extraction_never_raises_on_html_like_text(page):
    item = extract_article(page, URL)
    assert item is None or isinstance(item["paragraphs"], list)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000))
def test_extraction_never_raises_on_bytes(data):
    extract_article(data, URL)
    assert isinstance(decode_html(data), str)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_dates_never_raise(text):
    parsed = parse_date(text)
    assert parsed is None or parsed.value.tzinfo is not None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=300), max_size=30))
def test_dedupe_never_raises(paragraphs):
    result = clean_paragraphs(paragraphs)
    assert len(result.kept) + len(result.removed) <= len(paragraphs)


PATHOLOGICAL = {
    "deep nesting": "'<html><body>' + '<div>' * 200000 + 'text ' * 50 + '</div>' * 200000",
    "huge attribute": "'<html><body><p title=\"' + 'x' * 8_000_000 + '\">Текст статьи.</p>'",
    "two million <br>": "'<html><body><td>' + 'слово<br>' * 2_000_000 + '</td></body></html>'",
    "unclosed paragraphs": "'<html><body>' + '<p>Абзац текста новости ' * 200000",
    "one 10 MB line": "'<html><body><p>' + 'Бишкек ' * 1_500_000 + '</p></body></html>'",
}


@pytest.mark.parametrize("name", PATHOLOGICAL)
def test_pathological_pages_finish(name):
    """A hang guard, not a speed target (benchmarks time extraction): each page must be
    handled -- article or None -- without an exception, well within the timeout."""
    code = (
        "import sys; sys.setrecursionlimit(10000)\n"
        "from kantkg import extract_article\n"
        f"page = {PATHOLOGICAL[name]}\n"
        f"item = extract_article(page, {URL!r})\n"
        "print('ok', None if item is None else len(item['paragraphs']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("ok")
