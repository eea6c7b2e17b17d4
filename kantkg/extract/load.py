"""Page bytes -> one parsed tree plus its structured data, shared by every layer."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from lxml import etree
from parsel.csstranslator import HTMLTranslator

from kantkg.encoding import decode_html, detect_encoding

# C0 controls other than tab/newline/CR: never text, and lxml refuses to move them
# between nodes (dropping furniture next to one would raise).
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_XML_DECLARATION_RE = re.compile(r"^\s*<\?xml[^>]*>")
_UTF8_PARSER = etree.HTMLParser(encoding="utf-8", collect_ids=False)
_TEXT_PARSER = etree.HTMLParser(collect_ids=False)


def parse(page_html: bytes | str, encoding: str | None = None):
    """Page bytes (or text) -> the root element, or None for an empty/unparseable page.

    `encoding` is the charset an HTTP header declared, if any (see kantkg.encoding).
    """
    if isinstance(page_html, bytes) and detect_encoding(page_html, encoding) == "utf-8":
        data: bytes | str = page_html.translate(None, _CONTROL_BYTES)
        parser = _UTF8_PARSER
    else:
        # lxml refuses str input that carries an XML encoding declaration.
        text = _XML_DECLARATION_RE.sub("", decode_html(page_html, encoding), count=1)
        data = _CONTROL_RE.sub("", text)
        parser = _TEXT_PARSER
    if not data.strip():
        return None
    try:
        return etree.fromstring(data, parser)
    except (etree.ParserError, ValueError):  # XMLSyntaxError is a ParserError
        return None


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
    jsonld: dict = field(default_factory=dict)      # the Article node, @id refs resolved
    jsonld_types: set[str] = field(default_factory=set)
    jsonld_ids: dict[str, dict] = field(default_factory=dict)
    microdata: etree._Element | None = None        # the Article itemscope
    meta: dict[str, list[str]] = field(default_factory=dict)
    cache: dict = field(default_factory=dict)       # per-page memo of the generic layer

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
        return self.strong_article_signal or \
            (self.meta_first("og:type") or "").lower() == "article"
