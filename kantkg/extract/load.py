"""Page bytes -> one parsed tree plus its structured data, shared by every layer."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from itertools import islice

from lxml import etree
from parsel.csstranslator import HTMLTranslator

from kantkg.bounds import MAX_ELEMENTS, NESTING_TOO_DEEP, TOO_MANY_ELEMENTS
from kantkg.extract.encoding import decode_html, detect_encoding

# C0 controls other than tab/newline/CR: never text, and lxml refuses to move them
# between nodes (dropping furniture next to one would raise).
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_XML_DECLARATION_RE = re.compile(r"^\s*<\?xml[^>]*>")
_START_TAG = "<[A-Za-z]"
_START_TAG_BYTES, _START_TAG_STR = re.compile(_START_TAG.encode()), re.compile(_START_TAG)


class _Parsers(threading.local):
    """The HTML parsers, one pair per thread: a parser's error log (read for the depth
    limit) is shared by everything parsing with it. huge_tree lifts libxml2's nesting
    limit from 256 to bounds.PARSER_MAX_DEPTH: at 256 it stopped reading the page
    silently (300 unclosed <p><span> kept 126 paragraphs)."""

    def __init__(self) -> None:
        self.utf8 = etree.HTMLParser(encoding="utf-8", collect_ids=False, huge_tree=True)
        self.text = etree.HTMLParser(collect_ids=False, huge_tree=True)


_PARSERS = _Parsers()


def parse(page_html: bytes | str, encoding: str | None = None):
    """Page bytes (or text) -> the root element, or None for an empty/unparseable page
    or one beyond bounds.MAX_ELEMENTS. (parse_bounded says which bound a page hit.)"""
    return parse_bounded(page_html, encoding)[0]


def parse_bounded(
    page_html: bytes | str,
    encoding: str | None = None,
) -> tuple[etree._Element | None, str | None]:
    """-> (root element or None, the page bound it hit or None): a page of more than
    bounds.MAX_ELEMENTS elements is not parsed (bounds.TOO_MANY_ELEMENTS); one nested
    deeper than bounds.PARSER_MAX_DEPTH is parsed up to there (bounds.NESTING_TOO_DEEP).

    `encoding` is the charset an HTTP header declared, if any (see kantkg.extract.encoding).
    """
    if isinstance(page_html, bytes) and detect_encoding(page_html, encoding) == "utf-8":
        data: bytes | str = page_html.translate(None, _CONTROL_BYTES)
        parser = _PARSERS.utf8
    else:
        # lxml refuses str input that carries an XML encoding declaration.
        text = _XML_DECLARATION_RE.sub("", decode_html(page_html, encoding), count=1)
        data = _CONTROL_RE.sub("", text)
        parser = _PARSERS.text
    if not data.strip():
        return None, None
    if more_elements_than(data, MAX_ELEMENTS):
        return None, TOO_MANY_ELEMENTS
    try:
        root = etree.fromstring(data, parser)
    except (etree.ParserError, ValueError):  # XMLSyntaxError is a ParserError
        return None, None
    # (libxml2 logs nothing else as a resource limit here: huge_tree lifts the others)
    cut = any(e.type == etree.ErrorTypes.ERR_RESOURCE_LIMIT for e in parser.error_log)
    return root, NESTING_TOO_DEEP if cut else None


def more_elements_than(data: bytes | str, limit: int) -> bool:
    """Whether the page has more than `limit` start tags. Counted without parsing: every
    element has a "<" (but the few libxml2 adds: html, head, body), and counting those
    takes a millisecond for a large page; start tags are counted only past that many."""
    if isinstance(data, bytes):
        if data.count(b"<") <= limit:
            return False
        tags: Iterator[re.Match] = _START_TAG_BYTES.finditer(data)
    else:
        if data.count("<") <= limit:
            return False
        tags = _START_TAG_STR.finditer(data)
    return next(islice(tags, limit, None), None) is not None


@lru_cache(maxsize=512)
def css(selector: str) -> etree.XPath:
    """A CSS selector compiled once to XPath (parsel's translator, as Scrapy uses)."""
    return etree.XPath(HTMLTranslator().css_to_xpath(selector))


_CLASS_IN_SELECTOR_RE = re.compile(r"(?<!:not\()\.([\w-]+)")


@lru_cache(maxsize=512)
def classes_needed(selector: str) -> frozenset[str]:
    """The class names an element must carry for the selector to match (those outside
    :not()): a selector naming a class the page never uses cannot match."""
    return frozenset(_CLASS_IN_SELECTOR_RE.findall(re.sub(r"\[[^\]]*\]", "", selector)))


_CLASS_VALUES = etree.XPath("//@class")


@dataclass
class Page:
    """One parsed page plus the structured data found in it (see structured.load)."""

    url: str
    root: etree._Element
    jsonld: dict = field(default_factory=dict)  # the Article node, @id refs resolved
    jsonld_types: set[str] = field(default_factory=set)
    jsonld_ids: dict[str, dict] = field(default_factory=dict)
    microdata: etree._Element | None = None  # the Article itemscope
    meta: dict[str, list[str]] = field(default_factory=dict)
    cache: dict = field(default_factory=dict)  # per-page memo of the generic layer

    @cached_property
    def body(self):
        return self.root.find("body")

    @cached_property
    def classes(self) -> frozenset[str]:
        """Every class name the page uses."""
        return frozenset(name for value in _CLASS_VALUES(self.root) for name in value.split())

    def select(self, selector: str) -> list:
        """Elements matching a CSS selector, in document order. (Each selector is an
        XPath walk of the whole page; most of the site layer's name classes this page
        does not use, and are answered from the page's class names instead.)"""
        if not classes_needed(selector) <= self.classes:
            return []
        return css(selector)(self.root)

    def meta_first(self, *names: str) -> str | None:
        for name in names:
            for value in self.meta.get(name, ()):
                if value.strip():
                    return value.strip()
        return None

    @property
    def strong_article_signal(self) -> bool:
        """Structured data saying this page is one article. (og:type=article is weaker:
        WordPress SEO plugins print it on category and tag pages too.)"""
        return bool(self.jsonld) or self.microdata is not None

    @property
    def article_signal(self) -> bool:
        return self.strong_article_signal or (self.meta_first("og:type") or "").lower() == "article"
