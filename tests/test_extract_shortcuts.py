"""The extractor's shortcuts answer exactly what the plain definitions they replace do.

Each shortcut exists for speed (see bench/extract_speed.py); these tests hold them to
the straightforward version on every fixture page, so a faster path can never quietly
change what is extracted.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from kantkg import extract
from kantkg.evaluate import load_fixtures

FIXTURES = load_fixtures(Path(__file__).parent / "fixtures" / "pages")
_STRING = etree.XPath("string()")


def load(fixture):
    page = extract.load_page(fixture.html, fixture.fetched_url)
    title, _layer = extract.extract_title(page)
    page.cache["title"] = title
    return page


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.name)
def test_element_text_is_xpath_string_value(fixture):
    root = extract.parse(fixture.html)
    for el in root.iter():
        if isinstance(el.tag, str):
            assert extract._text_content(el) == _STRING(el)


def test_element_text_skips_comments_and_keeps_tails_of_children():
    root = extract.parse(b"<html><body><p>a<!-- no -->b<b>c</b>d<?pi x?>e</p><i></i></body></html>")
    p, i = root.find(".//p"), root.find(".//i")
    assert extract._text_content(p) == _STRING(p) == "abcde"
    assert extract._text_content(i) == ""


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.name)
def test_captions_found_from_images_are_all_the_captions(fixture):
    body = extract.parse(fixture.html).find("body")
    plainly = [el for el in body.iter(*extract._CAPTION_TAGS) if extract._is_caption(el)]
    assert set(extract._captions(body)) == set(plainly)


def test_captions_after_images_and_line_breaks():
    body = extract.parse(
        "<html><body><div><img src=a><br><i>Фото: Кабар</i> Текст <img src=b>"
        "<em>Фото: пресс-служба</em><img src=c> подпись<span>не подпись</span>"
        "<img src=d><br>, <small>и не эта</small></div></body></html>").find("body")
    assert [el.text for el in extract._captions(body)] == ["Фото: Кабар", "Фото: пресс-служба"]


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.name)
def test_class_index_values_under_body_are_the_body_xpath_values(fixture):
    from kantkg.cssindex import ClassIndex

    root = extract.parse(fixture.html)
    body = root.find("body")
    classes, ids = ClassIndex(root).values_under(body)
    for got, xpath in ((classes, ".//@class"), (ids, ".//@id")):
        want = body.xpath(xpath)
        assert [(v, v.getparent()) for v in got] == [(v, v.getparent()) for v in want]


def test_class_index_values_under_skip_html_and_head():
    from kantkg.cssindex import ClassIndex

    root = extract.parse('<html class="js" id="top"><head><title class="t">x</title></head>'
                         '<body class="single"><p class="a" id="p">x</p></body></html>')
    classes, ids = ClassIndex(root).values_under(root.find("body"))
    assert classes == ["single", "a"] and ids == ["p"]
    assert ClassIndex(root).values_under(root.find("head")) == (["t"], [])


def _short_holders_plainly(text_nodes, max_chars):
    found = {}
    for node in text_nodes:
        el = node.getparent()
        if node.is_tail:
            el = el.getparent()
        while el is not None and el.tag not in ("body", "html"):
            text = " ".join(_STRING(el).split())
            if len(text) > max_chars:
                break
            found.setdefault(el, text)
            el = el.getparent()
    return found


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.name)
def test_short_holders_are_every_short_ancestor_of_the_texts(fixture):
    page = load(fixture)
    texts = [t for t in extract._body_texts(page) if re.search("[0-9]", t)]
    expected = _short_holders_plainly(texts, extract.DATE_LINE_MAX_CHARS)
    got = extract._short_holders(texts, extract.DATE_LINE_MAX_CHARS)
    assert list(got.items()) == list(expected.items())


def _is_far_plainly(el):
    while el is not None and el.tag not in ("body", "html"):
        if el.tag in extract._FAR_TAGS and not (el.tag == "header" and el.xpath(".//h1")):
            return True
        if extract._class_words(el) & extract._FAR_CLASS_WORDS:
            return True
        el = el.getparent()
    return False


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.name)
def test_far_is_decided_once_per_element_with_the_same_answer(fixture):
    page = load(fixture)
    elements = [el for el in page.root.iter() if isinstance(el.tag, str)]
    for el in reversed(elements):  # (descendants first: the memo is filled bottom-up too)
        assert extract._is_far(page, el) == _is_far_plainly(el)


def _anchor_plainly(page):
    title = " ".join((page.cache.get("title") or "").split()).casefold()
    if not title:
        return None
    for h1 in page.root.xpath("//body//h1"):
        if " ".join(_STRING(h1).split()).casefold() == title:
            return h1
    for el in page.root.xpath("//body//*"):
        if el.tag in extract._ANCHOR_TAGS and " ".join(_STRING(el).split()).casefold() == title:
            return el
    return None


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.name)
def test_headline_anchor_is_the_first_element_showing_the_title(fixture):
    page = load(fixture)
    expected = _anchor_plainly(page)
    if expected is None:
        h1s = page.root.xpath("//body//h1")
        expected = h1s[0] if h1s else None
    assert extract._title_anchor(page) is expected


def test_headline_anchor_prefers_an_h1_and_ignores_case():
    html = ("<html><head><title>x</title></head><body><nav><span>Жапаров подписал закон</span>"
            "</nav><div><h2>ЖАПАРОВ <i>подписал</i> закон</h2><h1>Жапаров подписал закон</h1>"
            "</div></body></html>")
    page = extract.load_page(html.encode(), "https://kant.kg/2024-01-01/x/")
    page.cache["title"] = "Жапаров подписал  закон"
    assert extract._title_anchor(page).tag == "h1"
    page = extract.load_page(html.replace("<h1>Жапаров подписал закон</h1>", "").encode(),
                             "https://kant.kg/2024-01-01/x/")
    page.cache["title"] = "Жапаров подписал закон"
    assert extract._title_anchor(page).tag == "span"  # the first shown, case aside


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="АаТтвторекс :\n-x", max_size=40))
def test_author_label_search_from_stems_is_the_regex_search(text):
    assert extract._has_author_label(text) == bool(extract._AUTHOR_LABEL_RE.search(text))
