"""kantkg.cssindex answers site selectors exactly as XPath (via cssselect) would."""

from __future__ import annotations

from pathlib import Path

import pytest
from cssselect import HTMLTranslator
from lxml import etree

from kantkg import site
from kantkg.cssindex import ClassIndex, compile_selector
from kantkg.evaluate import load_fixtures
from kantkg.extract import parse

FIXTURES = load_fixtures(Path(__file__).parent / "fixtures" / "pages")
SELECTORS = sorted({
    *site.FIELD_SELECTORS,
    "h1", "title", "div p", "article .entry-content p", "a[href]", "#main",
    "div:not(.entry-content)", "[itemprop=author]",
})


def by_xpath(root, css: str) -> list:
    xpath = HTMLTranslator().css_to_xpath(css, prefix="descendant-or-self::")
    return root.xpath(xpath)


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.name for f in FIXTURES])
def test_same_elements_in_the_same_order_as_xpath(fixture):
    root = parse(fixture.html)
    index = ClassIndex(root)
    for css in SELECTORS:
        assert index.select(css) == by_xpath(root, css), css


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.name for f in FIXTURES])
def test_an_index_limited_to_the_selectors_classes_answers_the_same(fixture):
    root = parse(fixture.html)
    names = frozenset().union(*(compile_selector(css).classes for css in SELECTORS))
    words = frozenset({"author", "breadcrumbs"})
    full, limited = ClassIndex(root), ClassIndex(root, names, words)
    for css in SELECTORS:
        assert limited.select(css) == full.select(css), css
    for word in words:
        assert set(limited.with_class_word(frozenset({word}))) == \
            set(full.with_class_word(frozenset({word}))), word


def test_a_limited_index_refuses_what_it_did_not_index():
    root = parse(b"<html><body><p class='entry-content byline'>x</p></body></html>")
    index = ClassIndex(root, frozenset({"entry-content"}), frozenset({"author"}))
    assert [el.tag for el in index.select("p.entry-content")] == ["p"]
    with pytest.raises(ValueError):
        index.select(".byline")
    with pytest.raises(ValueError):
        index.with_class_word(frozenset({"byline"}))


def test_a_class_named_twice_gives_its_element_once():
    root = parse(b"<html><body><p class='x x'>1</p></body></html>")
    assert len(ClassIndex(root).select(".x")) == 1


def test_nested_containers_give_each_element_once_in_document_order():
    root = parse(b"<html><body><div class='c'><a id='1'>x</a><div class='c'><a id='2'>y</a>"
                 b"</div><a id='3'>z</a></div><div class='c'><a id='4'>w</a></div></body></html>")
    assert [a.get("id") for a in ClassIndex(root).select(".c a")] == ["1", "2", "3", "4"]


def test_a_class_missing_from_the_page_matches_nothing():
    root = parse(b"<html><body><p class='entry-content'>x</p></body></html>")
    index = ClassIndex(root)
    assert index.select(".td-post-content") == []
    assert [el.tag for el in index.select(".entry-content")] == ["p"]


@pytest.mark.parametrize("css", ["a > b", "a + b", "p:first-child", "a::text", "a, b",
                                 "a[href^=http]"])
def test_unsupported_syntax_is_refused_not_mismatched(css):
    with pytest.raises(ValueError):
        compile_selector(css)


def test_every_site_selector_compiles():
    for css in SELECTORS:
        assert compile_selector(css).parts
    assert isinstance(parse(b"<p>x</p>"), etree._Element)


def test_value_memo_decides_each_value_once_and_keeps_no_tree():
    from kantkg.cssindex import ValueMemo

    calls = []
    memo = ValueMemo(lambda value: calls.append(value) or value.upper())
    root = parse(b"<html><body><p class='a'>1</p><p class='a'>2</p><p class='b'>3</p></body>"
                 b"</html>")
    assert [memo[value] for value in root.xpath("//@class")] == ["A", "A", "B"]
    assert calls == ["a", "b"]
    assert all(type(key) is str for key in memo)  # not lxml's strings holding the element
    memo.MAX_VALUES = 2
    memo["c"]
    assert list(memo) == ["c"]  # full: started over rather than growing
