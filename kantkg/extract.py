"""HTML -> raw article fields, layered, recording which layer produced each field.

Layers, best first: "jsonld" (schema.org JSON-LD), "microdata" (itemprop), "meta"
(OpenGraph / article:* / <link rel=canonical>), "site" (the WordPress selectors in
kantkg.site), "generic" (page-structure heuristics: <h1>, <title>, date-like elements,
the densest block of text). One small function per field, Fundus-style; the page is
parsed once. Dates are returned as raw candidates (`dates_raw`) for kantkg.dates, and
paragraphs raw for kantkg.paragraphs: those modules own their rules.

`extract_raw` returns None for a page that is not a single article (listing, category,
tag, search, error page). A page that looks like an article but yields no body still
comes back (with no paragraphs) so that the archive pipeline drops it *with a reason*
and the crawl's stats show the extractor failing.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import urljoin

from lxml import etree

from kantkg import dates, site
from kantkg.cssindex import ClassIndex, ValueMemo, class_words, compile_selector
from kantkg.encoding import decode_html, detect_encoding
from kantkg.whitespace import squash

ARTICLE_TYPES = frozenset({
    "Article", "NewsArticle", "ReportageNewsArticle", "AnalysisNewsArticle",
    "OpinionNewsArticle", "BackgroundNewsArticle", "ReviewNewsArticle", "BlogPosting",
    "LiveBlogPosting", "Report", "ScholarlyArticle", "TechArticle",
})
LISTING_TYPES = frozenset({"CollectionPage", "SearchResultsPage", "ProfilePage", "ItemList"})

# Block-level tags: they end the paragraph being collected.
BLOCK_TAGS = frozenset({
    "p", "div", "section", "article", "main", "header", "footer", "blockquote", "li", "ul",
    "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "table", "tbody", "thead",
    "tfoot", "tr", "td", "th", "pre", "hr", "center", "address", "details", "summary",
    "caption",
})
# Always furniture, however much text they hold.
ALWAYS_NOISE_TAGS = frozenset({
    "script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "embed",
})
_TEXTLESS_TAGS = ALWAYS_NOISE_TAGS | {"br", "img", "hr", "input", "wbr", "meta", "link",
                                      "source", "area", "col", "param", "track"}
MIN_PARAGRAPH_SCORE_CHARS = 25   # shorter blocks do not vote for a generic container
MIN_BODY_CHARS = 60              # less text than this is no article body
MAX_LINK_DENSITY = 0.5           # blocks mostly made of link text are navigation
LEAD_MIN_CHARS = 80              # a lead beside the text block is a real sentence or two
LISTING_MIN_HEADLINE_LINKS = 3
_BR = "\x00"
_PARAGRAPH_BREAK_RE = re.compile(r"[ \t\r\n\f\v]*\x00(?:[ \t\r\n\f\v]*\x00)+[ \t\r\n\f\v]*")
# (Each starts with a lookahead for the first characters its alternatives can start
# with: the same matches, and the engine skips other positions ~2x faster.)
_DATE_IN_TEXT_RE = re.compile(
    r"(?=[\dсв])(?:\d{1,2}\.\d{1,2}\.\d{2,4}|\d{4}-\d{2}-\d{2}|\d{1,2}\s+[а-яё]+\s+\d{4}"
    r"|(?:сегодня|вчера)\b|\d{1,2}:\d{2})",
    re.IGNORECASE,
)


def _text_content(node) -> str:
    """All text inside the element (XPath's string(), lxml.html's text_content): a leaf's
    own text, else libxml2's text serialization, ~3x cheaper than an XPath call."""
    if len(node) == 0:  # (comments and processing instructions count as children)
        return node.text or ""
    return etree.tostring(node, method="text", encoding=str, with_tail=False)


def _text(node) -> str:
    return squash(_text_content(node)) if node is not None else ""


def _drop_tree(el) -> None:
    """Remove the element and its content, keeping the text that follows it."""
    parent = el.getparent()
    if el.tail:
        previous = el.getprevious()
        if previous is None:
            parent.text = (parent.text or "") + el.tail
        else:
            previous.tail = (previous.tail or "") + el.tail
    parent.remove(el)


# ------------------------------------------------------------ the parsed page

# What the page's class index holds: the classes the site selectors name, and classes
# made of the words the generic layers look for (Page.with_class_word).
_INDEXED_NAMES = frozenset().union(
    *(compile_selector(css).classes for css in site.FIELD_SELECTORS))
_AUTHOR_CLASS_WORDS = ("author",)
_BREADCRUMB_CLASS_WORDS = ("breadcrumbs", "breadcrumb", "crumbs")
_INDEXED_WORDS = frozenset(_AUTHOR_CLASS_WORDS + _BREADCRUMB_CLASS_WORDS)


@dataclass
class Page:
    """One parsed page plus the structured data found in it."""

    url: str
    root: etree._Element
    jsonld: dict = field(default_factory=dict)      # the Article node, @id refs resolved
    jsonld_types: set[str] = field(default_factory=set)
    jsonld_ids: dict[str, dict] = field(default_factory=dict)
    microdata: etree._Element | None = None       # the Article itemscope
    meta: dict[str, list[str]] = field(default_factory=dict)
    cache: dict = field(default_factory=dict)       # title, anchor, document order, ...

    @cached_property
    def classes(self) -> ClassIndex:
        """The page's elements by class and id, indexed on first use."""
        return ClassIndex(self.root, _INDEXED_NAMES, _INDEXED_WORDS)

    @cached_property
    def body(self):
        """The <body> element, or None (ElementPath's find costs ~1 µs a call; once
        found it is a plain attribute: the layers ask for it some twenty times)."""
        return self.root.find("body")

    def select(self, css: str) -> list:
        """Elements matching a CSS selector, in document order."""
        return self.classes.select(css)

    def meta_first(self, *names: str) -> str | None:
        for name in names:
            for value in self.meta.get(name, ()):
                if value.strip():
                    return value.strip()
        return None

    def with_class_word(self, *words: str) -> list:
        """Elements whose class or id holds one of the words (see class_words)."""
        return self.classes.with_class_word(frozenset(words))

    @property
    def strong_article_signal(self) -> bool:
        """Structured data saying this page is one article. (og:type=article is weaker:
        WordPress SEO plugins print it on category and tag pages too.)"""
        return bool(self.jsonld) or self.microdata is not None

    @property
    def article_signal(self) -> bool:
        return self.strong_article_signal or \
            (self.meta_first("og:type") or "").lower() == "article"


# C0 controls other than tab/newline/CR: never text, and lxml refuses to move them
# between nodes (dropping furniture next to one would raise).
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_XML_DECLARATION_RE = re.compile(r"^\s*<\?xml[^>]*>")
# Plain lxml elements: lxml.html's element-class lookup runs Python code for every
# element touched, a third of the cost of walking a page. No table of id attributes:
# nothing looks elements up by id through libxml2, and building it is ~7% of parsing.
_UTF8_PARSER = etree.HTMLParser(encoding="utf-8", collect_ids=False)
_TEXT_PARSER = etree.HTMLParser(collect_ids=False)


def parse(page_html: bytes | str, encoding: str | None = None):
    """Page bytes (or text) -> the root element, or None for an empty/unparseable page.

    `encoding` is the charset an HTTP header declared, if any. Valid UTF-8, the usual
    case, goes to libxml2 as bytes: no decoding into a str and back.
    """
    if isinstance(page_html, bytes) and detect_encoding(page_html, encoding) == "utf-8":
        data: bytes | str = page_html.translate(None, _CONTROL_BYTES)
        parser = _UTF8_PARSER
    else:
        # lxml refuses str input that carries an XML encoding declaration.
        text = _XML_DECLARATION_RE.sub("", decode_html(page_html, encoding), count=1)
        data = _CONTROL_RE.sub("", text) if _CONTROL_RE.search(text) else text
        parser = _TEXT_PARSER
    if not data.strip():
        return None
    try:
        return etree.fromstring(data, parser)
    except (etree.ParserError, ValueError):  # XMLSyntaxError is a ParserError
        return None


def _types(node: dict) -> set[str]:
    kind = node.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {k.rsplit("/", 1)[-1] for k in kinds if isinstance(k, str)}


def _jsonld_nodes(data) -> Iterator[dict]:
    if isinstance(data, list):
        for entry in data:
            yield from _jsonld_nodes(entry)
    elif isinstance(data, dict):
        yield data
        if "@graph" in data:
            yield from _jsonld_nodes(data["@graph"])


_CDATA_RE = re.compile(r"^\s*(?://\s*)?<!\[CDATA\[|(?://\s*)?\]\]>\s*$")


def _load_jsonld(page: Page) -> None:
    for script in page.root.iter("script"):  # (an XPath attribute test is 3x slower)
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        raw = (script.text or "").strip()
        if "CDATA" in raw:  # (the regex costs ~100 µs on a Yoast graph: only when needed)
            raw = _CDATA_RE.sub("", raw)
        try:
            data = json.loads(raw, strict=False)
        except ValueError:
            continue
        for node in _jsonld_nodes(data):
            if isinstance(node.get("@id"), str):
                page.jsonld_ids.setdefault(node["@id"], node)
            types = _types(node)
            page.jsonld_types |= types
            if not page.jsonld and types & ARTICLE_TYPES:
                page.jsonld = node


def _load_meta(page: Page) -> None:
    meta: dict[str, list[str]] = defaultdict(list)
    for el in page.root.iter("meta"):
        content = el.get("content")
        key = el.get("property") or el.get("name") or el.get("itemprop")
        if content is not None and key:
            meta[key.strip().lower()].append(content)
    for el in page.root.iter("link"):
        href = el.get("href")
        for rel in (el.get("rel") or "").lower().split() if href is not None else ():
            meta[f"link:{rel}"].append(href)
    page.meta = meta


_ITEMTYPES = etree.XPath("//@itemtype")


def _find_microdata(page: Page) -> None:
    # Attribute values from one XPath: testing two attributes on every element is 3x slower.
    for value in _ITEMTYPES(page.root):
        el = value.getparent()
        if el.get("itemscope") is not None and \
                {t.rsplit("/", 1)[-1] for t in value.split()} & ARTICLE_TYPES:
            page.microdata = el
            return


def load_page(page_html: bytes | str, url: str, encoding: str | None = None) -> Page | None:
    root = parse(page_html, encoding)
    if root is None:
        return None
    page = Page(url=url, root=root)
    _load_jsonld(page)
    _load_meta(page)
    _find_microdata(page)
    return page


# ----------------------------------------------------------- small helpers


def _ld_value(page: Page, key: str):
    value = page.jsonld.get(key)
    if isinstance(value, dict) and "@id" in value and len(value) == 1:
        return page.jsonld_ids.get(value["@id"], value)
    return value


def _ld_text(value) -> str | None:
    """A JSON-LD value as text: strings, names of objects, lists joined by ', '."""
    if isinstance(value, str):
        return squash(value) or None
    if isinstance(value, dict):
        return _ld_text(value.get("name") or value.get("@value"))
    if isinstance(value, list):
        parts = [t for t in (_ld_text(v) for v in value) if t]
        return ", ".join(dict.fromkeys(parts)) or None
    return None


def _microdata_el(page: Page, prop: str):
    if page.microdata is None:
        return None
    if "itemprops" not in page.cache:  # one walk of the scope for every property asked
        first: dict = {}
        for value in _ITEMPROPS_IN(page.microdata):
            first.setdefault(str(value), value.getparent())
        page.cache["itemprops"] = first
    return page.cache["itemprops"].get(prop)


_ITEMPROPS_IN = etree.XPath(".//*/@itemprop")  # (descendants: not the scope itself)


def _microdata_text(page: Page, prop: str) -> str | None:
    el = _microdata_el(page, prop)
    if el is None:
        return None
    if el.get("itemscope") is not None:
        name = el.xpath(".//*[@itemprop='name']")
        if name:
            el = name[0]
    value = el.get("content") or el.get("datetime") or _text(el)
    return squash(value) or None


def _first_selected(page: Page, selectors: Iterable[str]) -> str | None:
    for css in selectors:
        for el in page.select(css):
            text = _text(el)
            if text:
                return text
    return None


_SITE_NAME_SUFFIXES = tuple((sep + name).casefold()
                            for sep in site.TITLE_SEPARATORS for name in site.SITE_NAMES)
_SITE_NAME_PREFIXES = tuple((name + sep).casefold()
                            for sep in site.TITLE_SEPARATORS for name in site.SITE_NAMES)


def _strip_one_site_name(title: str) -> str | None:
    folded = title.casefold()
    if not folded.endswith(_SITE_NAME_SUFFIXES) and \
            not folded.startswith(_SITE_NAME_PREFIXES):
        return None  # the usual case, decided in C
    for tail, head in zip(_SITE_NAME_SUFFIXES, _SITE_NAME_PREFIXES, strict=True):
        if folded.endswith(tail) and len(title) > len(tail):
            return title[: -len(tail)].rstrip()
        if folded.startswith(head) and len(title) > len(head):
            return title[len(head):].lstrip()
    return None


def strip_site_name(title: str) -> str:
    """«Title - Информационное агентство «Кант»» -> «Title» (prefix or suffix)."""
    title = squash(title)
    while (shorter := _strip_one_site_name(title)) is not None:
        title = shorter
    return title


_NO_WORDS: frozenset[str] = frozenset()


def _class_words(el) -> frozenset[str] | set[str]:
    names = (el.get("class") or "") + " " + (el.get("id") or "")
    return class_words(names) if names.strip() else _NO_WORDS


def _holder(text_node):
    """The element whose text the text node is part of (a tail belongs to the parent)."""
    el = text_node.getparent()
    return el.getparent() if el is not None and text_node.is_tail else el


def _short_holders(text_nodes: Iterable, max_chars: int) -> dict:
    """The elements holding the text nodes, and their ancestors below <body> while their
    whole text stays within max_chars (where a date or byline line can be) -> that text.

    Each element's text is measured once: a walk up stops at an element already seen,
    short or too long (its ancestors are longer still).
    """
    found: dict = {}
    too_long: set = set()
    for text_node in text_nodes:
        el = _holder(text_node)
        while el is not None and el.tag not in ("body", "html") and \
                el not in found and el not in too_long:
            text = _text(el)
            if len(text) > max_chars:
                too_long.add(el)
                break
            found[el] = text
            el = el.getparent()
    return found


_BODY_TEXTS = etree.XPath("//body//text()")


def _body_texts(page: Page) -> list:
    """The text nodes of <body>, fetched once for the generic date and author layers
    (filtered in Python: XPath's translate() and contains() cost ~3x more)."""
    if "texts" not in page.cache:
        page.cache["texts"] = _BODY_TEXTS(page.root)
    return page.cache["texts"]


# Generic-layer values are taken nearest the headline, never from these places.
_FAR_TAGS = frozenset({"nav", "footer", "aside", "form", "header"})
_FAR_CLASS_WORDS = frozenset({"comment", "comments", "related", "widget", "sidebar", "menu",
                              "footer", "topbar", "respond"})
_DATE_CLASS_WORDS = frozenset({"date", "time", "posted", "published", "timestamp",
                               "datetime"})
_DAY_IN_TEXT_RE = re.compile(r"(?=[\dсв])(?:\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{1,2}\s+[а-яё]{3,}"
                             r"|\d{4}-\d{2}-\d{2}|сегодня|вчера)", re.IGNORECASE)
_AUTHOR_IN_LINE_RE = re.compile(
    r"(?:^|[\s|·,;])(?:[Аа]втор|[Тт]екст)\s*:\s*([A-ZА-ЯЁ][\w.’'-]+(?:\s+[A-ZА-ЯЁ][\w.’'-]+){0,3})")
_NAME_RE = re.compile(r"^[A-ZА-ЯЁ][\w.’'-]+(?:\s+[A-ZА-ЯЁ][\w.’'-]+){0,3}$")
SECTION_MAX_DISTANCE = 40  # elements between headline and a category link


def _title_anchor(page: Page):
    """The element showing the headline, found once per page: an <h1> showing the title,
    else the first element of _ANCHOR_TAGS showing it, else the first <h1>."""
    if "anchor" not in page.cache:
        h1s = list(page.body.iter("h1")) if page.body is not None else []
        title = squash(page.cache.get("title") or "")
        anchor = None
        if title:
            anchor = next((h1 for h1 in h1s if _text(h1).casefold() == title.casefold()), None)
            if anchor is None:
                anchor = _element_showing(page, title)
        if anchor is None and h1s:
            anchor = h1s[0]
        page.cache["anchor"] = anchor
    return page.cache["anchor"]


_ANCHOR_TAGS = frozenset({"h1", "h2", "b", "strong", "div", "span", "td"})


def _element_showing(page: Page, title: str):
    """The first element of _ANCHOR_TAGS whose whole text is the title (case aside).

    Looked for upwards from the text nodes holding the title's longest word as written:
    the first such node inside the element comes before any node of a later match, and
    walks stop where the text grows longer than the title. (Measuring the text of every
    candidate in document order instead costs up to 0.3 ms: wrappers hold the whole page.)
    """
    folded = title.casefold()
    word = max(title.split(), key=len)
    for text_node in _body_texts(page):
        if word not in text_node:
            continue
        el = _holder(text_node)
        showing = None
        while el is not None and el.tag not in ("body", "html"):
            text = _text(el).casefold()
            if len(text) > len(folded):
                break
            if text == folded and el.tag in _ANCHOR_TAGS:
                showing = el  # the outermost one showing just the title
            el = el.getparent()
        if showing is not None:
            return showing
    return None


def _doc_index(page: Page) -> dict:
    if "index" not in page.cache:
        page.cache["index"] = {el: n for n, el in enumerate(page.root.iter())}
    return page.cache["index"]


def _is_far(page: Page, el) -> bool:
    """Inside navigation, footers, sidebars, comments or forms (<body> classes describe
    the whole page and say nothing here). Decided once per element: candidates share
    their ancestors."""
    memo = page.cache.setdefault("far", {})
    path = []
    far = False
    while el is not None and el.tag not in ("body", "html"):
        if el in memo:
            far = memo[el]
            break
        path.append(el)
        if el.tag in _FAR_TAGS and not (el.tag == "header" and el.xpath(".//h1")) or \
                _class_words(el) & _FAR_CLASS_WORDS:
            far = True
            break
        el = el.getparent()
    memo.update(dict.fromkeys(path, far))
    return far


def _nearest(page: Page, found: list[tuple], max_distance: int | None = None) -> list[tuple]:
    """(element, value) pairs outside furniture, nearest the headline first (after it
    before before it at equal distance); with max_distance, only those that near."""
    if max_distance is None:
        found = [(el, value) for el, value in found if not _is_far(page, el)]
        if len(found) < 2:
            return found  # nothing to rank: no need to find the headline
    anchor = _title_anchor(page)
    index = _doc_index(page)
    at = index.get(anchor, 0) if anchor is not None else 0
    ranked = []
    for el, value in found:
        distance = index.get(el, 0) - at
        if max_distance is not None and (abs(distance) > max_distance or _is_far(page, el)):
            continue  # (distance first: menus hold many links, all far from the headline)
        ranked.append(((abs(distance), distance < 0), el, value))
    ranked.sort(key=lambda r: r[0])
    return [(el, value) for _, el, value in ranked]


# --------------------------------------------------------------- the fields


def extract_title(page: Page) -> tuple[str | None, str | None]:
    title = _ld_text(page.jsonld.get("headline")) or _ld_text(page.jsonld.get("name"))
    if title:
        return strip_site_name(title), "jsonld"
    title = _microdata_text(page, "headline") or _microdata_text(page, "name")
    if title:
        return strip_site_name(title), "microdata"
    title = page.meta_first("og:title", "twitter:title")
    if title:
        return strip_site_name(title), "meta"
    title = _first_selected(page, site.TITLE_SELECTORS)
    if title:
        return strip_site_name(title), "site"
    title = _first_selected(page, ("h1",)) or _first_selected(page, ("title",))
    if title:
        return strip_site_name(title), "generic"
    return None, None


def _selected_values(page: Page, selectors: Iterable[tuple[str, str]]) -> Iterator[str]:
    for css, attr in selectors:
        for el in page.select(css):
            value = el.get(attr) if attr else _text(el)
            if value and value.strip():
                yield squash(value)


_PUBLISHED_META = ("article:published_time", "og:published_time", "datepublished",
                   "pubdate", "publishdate", "date", "dc.date", "dc.date.issued",
                   "sailthru.date", "parsely-pub-date")
_MODIFIED_META = ("article:modified_time", "og:updated_time", "datemodified")


def _date_candidates(page: Page, prop: str, meta_names: tuple[str, ...],
                     selectors: tuple[tuple[str, str], ...]) -> list[list[str]]:
    """[layer, text] pairs for one date field, best layer first, each text once."""
    found: list[list[str]] = []
    if text := _ld_text(page.jsonld.get(prop)):
        found.append(["jsonld", text])
    if text := _microdata_text(page, prop):
        found.append(["microdata", text])
    found += [["meta", text] for name in meta_names if (text := page.meta_first(name))]
    found += [["site", text] for text in _selected_values(page, selectors)]
    return _unique(found)


def published_candidates(page: Page, url: str) -> list[list[str]]:
    """The dates the page offers for its publication, best layer first; dates in the
    visible text only when the others leave the date unsettled (see
    kantkg.dates.settled_without_text; `url` is the article's canonical URL)."""
    found = _date_candidates(page, "datePublished", _PUBLISHED_META, site.PUBLISHED_SELECTORS)
    if dates.settled_without_text(found, url):
        return found
    return _unique(found + [["generic", text] for text in _generic_dates(page)])


def modified_candidates(page: Page) -> list[list[str]]:
    return _date_candidates(page, "dateModified", _MODIFIED_META, site.MODIFIED_SELECTORS)


def _unique(candidates: list[list[str]]) -> list[list[str]]:
    seen: set[str] = set()
    out = []
    for layer, text in candidates:
        if text not in seen:
            seen.add(text)
            out.append([layer, text])
    return out


# Texts with a digit, and <time>: where a date can be. The elements holding a short
# text with a digit are the holders of these text nodes and their ancestors (see
# _short_holders): cheaper than measuring the whole text of every element.
_DIGIT_RE = re.compile("[0-9]")
DATE_LINE_MAX_CHARS = 120


def _date_holders(page: Page) -> dict:
    """<time> elements and the elements whose whole text (up to 120 characters) has a
    digit, each once -> their text (None for a <time> not measured yet)."""
    digit_texts = [text for text in _body_texts(page) if _DIGIT_RE.search(text)]
    found: dict = _short_holders(digit_texts, DATE_LINE_MAX_CHARS)
    for el in page.body.iter("time") if page.body is not None else ():
        found.setdefault(el, None)
    return found


def _generic_dates(page: Page) -> Iterator[str]:
    """Date-looking texts nearest the headline: <time>, elements with date-ish classes,
    short leaf texts holding a date. Nearness keeps out today's date in the top bar,
    dates of related posts and comment times."""
    found = []
    for el, text in _date_holders(page).items():
        if el.tag in ALWAYS_NOISE_TAGS:
            continue
        if el.tag == "time" and (value := el.get("datetime")):
            found.append((el, value))
            continue
        if text is None:
            text = _text(el)
        if not (6 <= len(text) <= DATE_LINE_MAX_CHARS and _DATE_IN_TEXT_RE.search(text) and
                _DAY_IN_TEXT_RE.search(text)):
            continue
        if el.tag == "time" or _class_words(el) & _DATE_CLASS_WORDS or \
                not any(isinstance(c.tag, str) and c.tag in BLOCK_TAGS for c in el):
            found.append((el, text))
    for _el, text in _nearest(page, found)[:3]:
        yield text


def extract_author(page: Page) -> tuple[str | None, str | None]:
    if text := _ld_text(_ld_value(page, "author")):
        return text, "jsonld"
    if text := _microdata_text(page, "author"):
        return _strip_label(text), "microdata"
    text = page.meta_first("article:author", "author")
    if text and not text.startswith("http") and strip_site_name("x - " + text) != "x":
        return text, "meta"
    for css in site.AUTHOR_SELECTORS:  # WordPress logins («admin») are no bylines
        names = [_strip_label(_text(el)) for el in page.select(css) if not _hidden(el)]
        if name := next((n for n in names if _NAME_RE.match(n)), None):
            return name, "site"
    if found := _generic_author(page):
        return found, "generic"
    return None, None


_AUTHOR_LABEL_RE = re.compile(r"(?:[Аа]втор|[Тт]екст)\s*:")
_AUTHOR_LABEL_STEMS = ("втор", "екст")  # what _AUTHOR_LABEL_RE needs, case aside
BYLINE_MAX_CHARS = 120


def _has_author_label(text: str) -> bool:
    """_AUTHOR_LABEL_RE.search(text), tried only where a stem is: str.find is ~10x
    quicker than the regex engine on a page of Cyrillic text."""
    for stem in _AUTHOR_LABEL_STEMS:
        at = text.find(stem, 1)  # (the label's first letter comes before the stem)
        while at > 0:
            if _AUTHOR_LABEL_RE.match(text, at - 1):
                return True
            at = text.find(stem, at + 1)
    return False


def _generic_author(page: Page) -> str | None:
    """A labelled byline («Дата: ... | Автор: Имя») or a name in an element of class
    "author", nearest the headline. Only elements that can hold one are looked at: those
    around a text with the label, and those with the class word."""
    elements = page.with_class_word(*_AUTHOR_CLASS_WORDS)
    body = page.body
    if body is not None and _has_author_label(_text_content(body)):
        labels = [text for text in _body_texts(page)
                  if any(stem in text for stem in _AUTHOR_LABEL_STEMS)]
        elements += _short_holders(labels, BYLINE_MAX_CHARS)
    candidates = []
    for el in dict.fromkeys(elements):
        if el.tag in _TEXTLESS_TAGS or el.tag in ("body", "html"):
            continue
        text = _text(el)
        if len(text) > BYLINE_MAX_CHARS:
            continue
        if labelled := _AUTHOR_IN_LINE_RE.search(text):  # «Дата: ... | Автор: Имя»
            candidates.append((el, labelled.group(1)))
        elif "author" in _class_words(el) and _NAME_RE.match(name := _strip_label(text)):
            candidates.append((el, name))
    nearest = _nearest(page, candidates)
    return nearest[0][1] if nearest else None


def _hidden(el) -> bool:
    style = (el.get("style") or "").replace(" ", "").lower()
    return "display:none" in style or el.get("hidden") is not None


def _strip_label(text: str) -> str:
    folded = text.casefold()
    for label in site.AUTHOR_LABELS:
        if folded.startswith(label + " ") or (label.endswith(":") and folded.startswith(label)):
            return text[len(label):].strip(" :")
    return text


def extract_section(page: Page) -> tuple[str | None, str | None]:
    value = page.jsonld.get("articleSection")
    if text := _ld_text(value[0] if isinstance(value, list) and value else value):
        return text, "jsonld"
    if text := _microdata_text(page, "articleSection"):
        return text, "microdata"
    if text := page.meta_first("article:section"):
        return text, "meta"
    if text := _first_selected(page, site.SECTION_SELECTORS):
        return text, "site"
    return None, None


def _generic_section(page: Page) -> str | None:
    """The breadcrumbs' last category link, else the category link nearest the headline
    (read before furniture is removed: breadcrumbs and rubric lines are furniture)."""
    trails = page.with_class_word(*_BREADCRUMB_CLASS_WORDS)
    if len(trails) > 1:
        index = _doc_index(page)
        trails.sort(key=lambda el: index.get(el, 0))
    crumbs = [a for el in trails if el.tag not in ("html", "body") for a in el.iter("a")
              if _is_category_href(a.get("href"))]
    if crumbs:
        return _text(crumbs[-1]) or None
    links = [(a, None) for a, href in _body_links(page) if _is_category_href(href)]
    for a, _ in _nearest(page, links, max_distance=SECTION_MAX_DISTANCE):
        if text := _text(a):
            return text
    return None


_CATEGORY_HREF_RE = re.compile("|".join(map(re.escape, site.CATEGORY_PATH_PARTS)))


def _is_category_href(href: str | None) -> bool:
    """A link to a section page (the one rule for "category link")."""
    return bool(href and _CATEGORY_HREF_RE.search(href))


def _body_links(page: Page) -> list[tuple]:
    """(<a>, href) for <body>'s links, read once for the generic section and tag layers:
    an XPath contains() test per link costs ~2x this pass and the filtering together."""
    if "links" not in page.cache:
        body = page.body
        page.cache["links"] = [(a, href) for a in body.iter("a") if (href := a.get("href"))] \
            if body is not None else []
    return page.cache["links"]


def extract_tags(page: Page) -> tuple[list[str], str | None]:
    keywords = page.jsonld.get("keywords")
    if isinstance(keywords, str):
        keywords = keywords.split(",")
    if isinstance(keywords, list):
        tags = [t for t in (_ld_text(k) for k in keywords) if t]
        if tags:
            return list(dict.fromkeys(tags)), "jsonld"
    tags = [t.strip() for t in page.meta.get("article:tag", []) if t.strip()]
    if tags:
        return list(dict.fromkeys(tags)), "meta"
    for css in site.TAG_SELECTORS:
        tags = [_text(a) for a in page.select(css) if _text(a)]
        if tags:
            return list(dict.fromkeys(tags)), "site"
    tags = [text.lstrip("#") for a, href in _body_links(page)
            if "/tag/" in href and (text := _text(a))]
    return (list(dict.fromkeys(tags)), "generic") if tags else ([], None)


def extract_canonical(page: Page) -> tuple[str, str]:
    """The page's own idea of its URL, if it is a plausible one for this article."""
    for layer, candidate in (("meta", page.meta_first("link:canonical")),
                             ("meta", page.meta_first("og:url")),
                             ("jsonld", _ld_text(page.jsonld.get("url")))):
        if not candidate:
            continue
        absolute = urljoin(page.url, candidate.strip())
        # A canonical pointing at the front page or another site would merge articles.
        if site.same_site(absolute, page.url) and (
            site.is_article_url(absolute) or not site.is_article_url(page.url)
        ):
            return absolute, layer
    return page.url, "url"


# --------------------------------------------------------------------- body


def _remove_noise(container, attribute_values: tuple[list, list] | None = None) -> None:
    """Drop furniture inside the container: by tag or selector always, by class word
    unless the element holds most of the container's text (then it is a wrapper).
    `attribute_values`: the container's class and id values when the caller has them
    (ClassIndex.values_under)."""
    total = len(_text_content(container)) or 1
    # Tags filtered by libxml2, class and id values from one XPath each, decided once per
    # distinct value: no Python test on every element (a page of a million <br> stays
    # cheap, and a news page ~2x cheaper than reading each element's attributes).
    doomed = dict.fromkeys(container.iter(*_NOISE_TAGS))
    class_values, id_values = attribute_values or (_CLASS_VALUES_IN(container),
                                                   _ID_VALUES_IN(container))
    for values, noisy in ((class_values, _NOISY_CLASS), (id_values, _NOISY_ID)):
        doomed.update((value.getparent(), None) for value in values if noisy[value])
    doomed.update(dict.fromkeys(_captions(container)))
    # Lengths before any drop: exactly what dropping in document order would measure
    # (an element's descendants go after it), whatever order the sets came in.
    drop = [el for el in doomed if el is not container and el.tag not in _VOID_TAGS and
            el.getparent() is not None and
            (el.tag in ALWAYS_NOISE_TAGS or len(_text_content(el)) <= total / 2)]
    for el in drop:
        _drop_tree(el)


def _is_noise_class(value: str) -> bool:
    return bool(class_words(value) & site.NOISE_CLASS_WORDS or
                not _NOISE_CLASSES.isdisjoint(value.split()))


def _is_noise_id(value: str) -> bool:
    return bool(class_words(value) & site.NOISE_CLASS_WORDS or value in _NOISE_IDS)


_CLASS_VALUES_IN = etree.XPath(".//@class")
_ID_VALUES_IN = etree.XPath(".//@id")
_NOISY_CLASS = ValueMemo(_is_noise_class)
_NOISY_ID = ValueMemo(_is_noise_id)
_VOID_TAGS = _TEXTLESS_TAGS - ALWAYS_NOISE_TAGS


def _split_noise_selectors(selectors: tuple[str, ...]) -> tuple[frozenset, frozenset, frozenset]:
    """site.NOISE_SELECTORS are simple selectors (tag, .class, #id): -> three sets."""
    tags, classes, ids = set(), set(), set()
    for selector in selectors:
        if selector.startswith("."):
            classes.add(selector[1:])
        elif selector.startswith("#"):
            ids.add(selector[1:])
        elif selector.isalnum():
            tags.add(selector)
        else:
            raise ValueError(f"site.NOISE_SELECTORS: {selector!r} is not tag, .class or #id")
    return frozenset(tags), frozenset(classes), frozenset(ids)


_NOISE_TAGS, _NOISE_CLASSES, _NOISE_IDS = _split_noise_selectors(site.NOISE_SELECTORS)
_CAPTION_TAGS = frozenset({"i", "em", "small", "span", "font"})
_LINK_START, _LINK_END = "\x01", "\x02"
_LINK_TEXT_RE = re.compile("\x01([^\x01\x02]*)\x02")


CAPTION_MAX_CHARS = 200


def _captions(container) -> Iterator:
    """The captions inside the container, looked for after each image (a page has a few
    images and many inline elements): the first element after its <br>s."""
    for img in container.iter("img"):
        if img is container or (img.tail or "").strip():
            continue
        el = img.getnext()
        while el is not None and el.tag == "br" and not (el.tail or "").strip():
            el = el.getnext()
        if el is not None and el.tag in _CAPTION_TAGS and _is_caption(el):
            yield el


def _is_caption(el) -> bool:
    """Short inline text right under an image (<img><br><i>Фото ...</i>): a caption."""
    if (el.text or "").strip() == "" and len(el) == 0:
        return False
    previous = el.getprevious()
    while previous is not None and previous.tag == "br" and not (previous.tail or "").strip():
        previous = previous.getprevious()
    return previous is not None and previous.tag == "img" and \
        not (previous.tail or "").strip() and len(_text(el)) <= CAPTION_MAX_CHARS


def text_blocks(container) -> list[tuple[str, float]]:
    """The container's text as blocks in reading order: (text, link density).

    Block elements end a block; two or more <br> in a row end one too (old pages
    separate paragraphs with <br><br>); a single <br> is a line break inside it.
    Link text is bracketed with marker characters while collecting, so that each
    block's link density is its own.
    """
    blocks: list[tuple[str, float]] = []
    buf: list[str] = []

    def flush() -> None:
        raw = "".join(buf)
        buf.clear()
        # (the regexes and replaces only when their markers are there: most blocks are
        # plain paragraphs, and this runs for every block of the page)
        for piece in _PARAGRAPH_BREAK_RE.split(raw) if _BR in raw else (raw,):
            links = 0
            if _LINK_START in piece:
                links = sum(len(m.strip()) for m in _LINK_TEXT_RE.findall(piece))
                piece = piece.replace(_LINK_START, "").replace(_LINK_END, "")
            text = squash(piece)  # (the <br> marker, NUL, is no whitespace)
            if _BR in text:
                text = squash(text.replace(_BR, " "))
            if text:
                blocks.append((text, min(1.0, links / len(text))))

    def walk(el) -> None:
        text = el.text
        if text:
            buf.append(text)
        for child in el:
            tag = child.tag  # (a comment's or processing instruction's is a function)
            if tag in BLOCK_TAGS:
                if buf:
                    flush()
                walk(child)
                if buf:
                    flush()
            elif tag == "br":
                buf.append(_BR)
            elif tag == "a":
                buf.append(_LINK_START)
                walk(child)
                buf.append(_LINK_END)
            elif isinstance(tag, str) and tag not in ALWAYS_NOISE_TAGS:
                walk(child)
            tail = child.tail
            if tail:  # (a comment's tail counts, its text does not)
                buf.append(tail)

    walk(container)
    flush()
    return blocks


def _site_container(page: Page):
    for css in site.BODY_SELECTORS:
        found = page.select(css)
        if len(found) == 1:
            return found[0]
    return None


_NOT_VOTING_TAGS = ALWAYS_NOISE_TAGS | {"a", "li", "h1", "h2", "h3"}


def _generic_container(body):
    """The element holding the most paragraph text (readability-style voting)."""
    scores: dict = defaultdict(float)
    # (el.tag, .text and .tail build a new str from libxml2's data at every access: each
    # is read once here, for every element of <body>.)
    for el in body.iter(etree.Element):
        tag = el.tag
        if tag in _NOT_VOTING_TAGS:
            continue
        if tag == "p":
            parent = el.getparent()
            if parent is None:
                continue
            length = len(_text_content(el).strip()) - _link_text_len(el)
            if length >= MIN_PARAGRAPH_SCORE_CHARS:
                scores[parent] += length
                grand = parent.getparent()
                if grand is not None:
                    scores[grand] += length / 2
            continue
        # Text sitting directly in a block (br-separated or <div>-paragraphs): one look
        # at the children for it, their <br> and whether any is a block.
        text = el.text
        own = len(text.strip()) if text else 0
        breaks = 0
        has_block = False
        for child in el:
            child_tag = child.tag
            if child_tag in BLOCK_TAGS:
                has_block = True
                continue
            if child_tag == "br":
                breaks += 1
            tail = child.tail
            if tail:
                own += len(tail.strip())
        if own >= MIN_PARAGRAPH_SCORE_CHARS:
            # A <div> that is one paragraph votes for its parent; a block holding
            # <br>-separated paragraphs is itself the container.
            parent = el.getparent()
            is_paragraph = tag == "div" and breaks < 2 and not has_block
            target = parent if is_paragraph else el
            if target is None:
                continue
            scores[target] += own
            if target is parent and parent.getparent() is not None:
                scores[parent.getparent()] += own / 2
    if not scores:
        return None
    return max(scores, key=scores.__getitem__)


def _link_text_len(el) -> int:
    if len(el) == 0 and el.tag != "a":
        return 0  # (a leaf holds no link: no iterator to build, once per paragraph)
    return sum(len(_text_content(a).strip()) for a in el.iter("a"))


def extract_body(page: Page, title: str | None) -> tuple[list[str], str | None, object]:
    """-> (raw paragraphs, layer, container element)."""
    candidates = []
    if page.microdata is not None:
        found = _microdata_el(page, "articleBody")
        if found is not None:
            candidates.append((found, "microdata"))
    site_el = _site_container(page)
    if site_el is not None:
        candidates.append((site_el, "site"))
    for container, layer in candidates:
        paragraphs = _paragraphs_of(container, title)
        if sum(map(len, paragraphs)) >= MIN_BODY_CHARS:
            return paragraphs, layer, container
    ld_body = page.jsonld.get("articleBody")
    if isinstance(ld_body, str) and len(ld_body.strip()) >= MIN_BODY_CHARS:
        parts = [squash(p) for p in re.split(r"\n\s*\n|\r?\n", ld_body)]
        return [p for p in parts if p], "jsonld", None
    body = page.body
    if body is None:
        return [], None, None
    # (the class index's attribute values hold only while no candidate above was cleaned)
    _remove_noise(body, None if candidates else page.classes.values_under(body))
    container = _generic_container(body)
    if container is None:
        return [], None, None
    paragraphs = _lead_before(page, container, title) + \
        _paragraphs_of(container, title, generic=True)
    return paragraphs, ("generic" if paragraphs else None), container


def _lead_before(page: Page, container, title: str | None) -> list[str]:
    """A lead paragraph standing between the headline and the text block (a sibling of
    the container, as in many news themes) belongs to the article."""
    anchor = _title_anchor(page)
    if anchor is None or anchor.getparent() is not container.getparent() or \
            not any(sibling is anchor for sibling in container.itersiblings(preceding=True)):
        return []
    lead = []
    for sibling in container.itersiblings(preceding=True):  # up to the headline
        if sibling is anchor:
            break
        if not isinstance(sibling.tag, str) or sibling.tag not in ("p", "div"):
            continue
        blocks = text_blocks(sibling)
        if len(blocks) == 1 and len(blocks[0][0]) >= LEAD_MIN_CHARS and \
                blocks[0][1] <= MAX_LINK_DENSITY and blocks[0][0] != title:
            lead.insert(0, blocks[0][0])
    return lead


def _paragraphs_of(container, title: str | None, generic: bool = False) -> list[str]:
    if not generic:  # (the generic layer cleaned all of <body> before choosing)
        _remove_noise(container)
    folded_title = (title or "").casefold()
    kept = []
    for text, link_density in text_blocks(container):
        if link_density > MAX_LINK_DENSITY:
            continue
        folded = text.casefold()
        if folded_title and folded == folded_title:
            continue
        if generic:
            # the headline run together with a date or rubric line (<br>-only layouts)
            if folded_title and folded_title in folded and \
                    len(folded) - len(folded_title) <= 40:
                continue
            if len(text) <= 80 and _DATE_IN_TEXT_RE.search(text) and \
                    len(_DATE_IN_TEXT_RE.sub("", text).strip(" |,.-—·")) < 25:
                continue  # a date/byline line around the text, not the text
        kept.append(text)
    return kept


# ------------------------------------------------------------- non-articles


def non_article_reason(page: Page, title: str | None) -> str | None:
    """Why the page is not a single article (listing, search, error page), or None."""
    if page.strong_article_signal:
        return None
    body = page.body
    classes = set((body.get("class") or "").split()) if body is not None else set()
    if classes & site.NON_ARTICLE_BODY_CLASSES and not classes & {"single", "single-post"}:
        return "listing page (body class)"
    if page.article_signal:
        return None
    if page.jsonld_types & LISTING_TYPES:
        return "listing page (structured data)"
    og_type = (page.meta_first("og:type") or "").lower()
    if og_type and og_type != "article" and not site.is_article_url(page.url):
        return f"og:type {og_type}"
    if title and title.casefold().strip(" .!") in site.NOT_FOUND_TITLES:
        return "error page"
    headline_links = {href for heading in page.root.iter("h2", "h3", "h4")
                      for a in heading.iter("a") if (href := a.get("href")) is not None}
    if len(headline_links) >= LISTING_MIN_HEADLINE_LINKS and not site.is_article_url(page.url):
        return "listing page (headline links)"
    return None


# ------------------------------------------------------------------ the API


def extract_raw(page_html: bytes | str, url: str, encoding: str | None = None) -> dict | None:
    """Raw article fields of one page (see module doc), or None for non-articles.

    `encoding` is the charset an HTTP header declared, if any.
    """
    return explain_raw(page_html, url, encoding)[0]


def explain_raw(page_html: bytes | str, url: str,
                encoding: str | None = None) -> tuple[dict | None, str | None]:
    """extract_raw plus, when the page is no article, the reason why (for doctor)."""
    page = load_page(page_html, url, encoding)
    if page is None:
        return None, "empty or unparseable page"
    title, title_layer = extract_title(page)
    page.cache["title"] = title
    if reason := non_article_reason(page, title):
        return None, reason
    canonical, canonical_layer = extract_canonical(page)
    author, author_layer = extract_author(page)
    section, section_layer = extract_section(page)
    tags, tags_layer = extract_tags(page)
    dates_raw = {"published": published_candidates(page, canonical),
                 "modified": modified_candidates(page)}
    if section is None and (section := _generic_section(page)):
        section_layer = "generic"
    # Body last: it removes furniture from the tree the other fields read.
    paragraphs, body_layer, _container = extract_body(page, title)
    if not paragraphs and not title:
        return None, "no title and no text"
    # Without structured data or a permalink saying "article", it takes both to be one.
    # With them, a page missing either still comes back, for the archive to drop and count.
    if not (title and paragraphs) and not (page.article_signal or site.is_article_url(url)):
        return None, "no title or no text, and nothing saying it is an article"
    method = {name: layer for name, layer in (
        ("title", title_layer), ("canonical_url", canonical_layer), ("author", author_layer),
        ("section", section_layer), ("tags", tags_layer), ("paragraphs", body_layer),
    ) if layer}
    return {
        "url": url,
        "canonical_url": canonical,
        "title": title,
        "author": author,
        "section": section,
        "tags": tags,
        "paragraphs": paragraphs,
        "dates_raw": dates_raw,
        "method": method,
    }, None
