"""The generic layer: page-structure heuristics for markup no rule knows.

Values are taken nearest the headline and outside furniture (menus, footers, sidebars,
comments): a top bar's date, related posts' dates and comment times are further away
from the headline than the article's own date line.
"""

from __future__ import annotations

import re
from collections import defaultdict

from lxml import etree

from kantkg import site
from kantkg.extract.load import Page
from kantkg.extract.text import (
    ALWAYS_NOISE_TAGS,
    BLOCK_TAGS,
    INLINE_TAGS,
    TEXTLESS_TAGS,
    class_words,
    link_text_len,
    text,
    text_blocks,
    text_content,
)
from kantkg.whitespace import squash

MIN_PARAGRAPH_SCORE_CHARS = 25  # shorter blocks do not vote for a container
MAX_LINK_DENSITY = 0.5  # blocks mostly made of link text are navigation
LEAD_MIN_CHARS = 80  # a lead beside the text block is a real sentence or two
DATE_LINE_MAX_CHARS = 120
BYLINE_MAX_CHARS = 120
SECTION_MAX_DISTANCE = 40  # elements between headline and a category link

_FAR_TAGS = frozenset({"nav", "footer", "aside", "form", "header"})
_FAR_CLASS_WORDS = frozenset(
    {"comment", "comments", "related", "widget", "sidebar", "menu", "footer", "topbar", "respond"}
)
_DATE_CLASS_WORDS = frozenset({"date", "time", "posted", "published", "timestamp", "datetime"})
_BREADCRUMB_CLASS_WORDS = frozenset({"breadcrumbs", "breadcrumb", "crumbs"})
_ANCHOR_TAGS = frozenset({"h1", "h2", "b", "strong", "div", "span", "td"})
DATE_IN_TEXT_RE = re.compile(
    r"\d{1,2}\.\d{1,2}\.\d{2,4}|\d{4}-\d{2}-\d{2}|\d{1,2}\s+[а-яё]+\s+\d{4}"
    r"|(?:сегодня|вчера)\b|\d{1,2}:\d{2}",
    re.IGNORECASE,
)
_DAY_IN_TEXT_RE = re.compile(
    r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{1,2}\s+[а-яё]{3,}"
    r"|\d{4}-\d{2}-\d{2}|сегодня|вчера",
    re.IGNORECASE,
)
# A day with a month name in Latin letters and a year («13 Oct 2020 18:29», «Jan. 5,
# 2020», «17 de Febrero 2020»): dates of the other languages a page may be in.
_LATIN_DATE_IN_TEXT_RE = re.compile(
    r"\b\d{1,2}\.?\s+(?:de\s+)?[A-Za-z]{3,9}\.?,?\s+(?:de\s+)?(?:19|20)\d{2}\b"
    r"|\b[A-Za-z]{3,9}\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+(?:19|20)\d{2}\b"
)
_AUTHOR_IN_LINE_RE = re.compile(
    r"(?:^|[\s|·,;])(?:[Аа]втор|[Тт]екст)\s*:\s*([A-ZА-ЯЁ][\w.’'-]+(?:\s+[A-ZА-ЯЁ][\w.’'-]+){0,3})"
)


# ------------------------------------------------------------ where things are


def title_anchor(page: Page, title: str | None):
    """The element showing the headline: an <h1> showing the title, else the first
    element of _ANCHOR_TAGS showing exactly it, else the first <h1>."""
    if "anchor" not in page.cache:
        h1s = list(page.body.iter("h1")) if page.body is not None else []
        folded = squash(title or "").casefold()
        anchor = None
        if folded:
            anchor = next((h1 for h1 in h1s if text(h1).casefold() == folded), None)
            if anchor is None:
                anchor = _element_showing(page, folded)
        if anchor is None and h1s:
            anchor = h1s[0]
        page.cache["anchor"] = anchor
    return page.cache["anchor"]


def _element_showing(page: Page, folded_title: str):
    """The outermost element of _ANCHOR_TAGS whose whole text is the title, looked for
    upwards from the text nodes that hold the title's longest word (measuring the text
    of every element instead costs time quadratic in the page's depth)."""
    word = max(folded_title.split(), key=len)
    for node in body_texts(page):
        if word not in node.casefold():
            continue
        el, showing = holder(node), None
        while el is not None and el.tag not in ("body", "html"):
            shown = text(el).casefold()
            if len(shown) > len(folded_title):
                break
            if shown == folded_title and el.tag in _ANCHOR_TAGS:
                showing = el
            el = el.getparent()
        if showing is not None:
            return showing
    return None


def body_texts(page: Page) -> list:
    """The text nodes of <body> (lxml "smart strings" that know their element)."""
    if "texts" not in page.cache:
        page.cache["texts"] = page.body.xpath(".//text()") if page.body is not None else []
    return page.cache["texts"]


def holder(text_node):
    """The element whose text the text node is part of (a tail belongs to the parent)."""
    el = text_node.getparent()
    return el.getparent() if el is not None and text_node.is_tail else el


def short_holders(text_nodes, max_chars: int) -> dict:
    """The elements holding the text nodes, and their ancestors below <body> while their
    whole text stays within max_chars -> that text. Each element is measured once."""
    found: dict = {}
    too_long: set = set()
    for node in text_nodes:
        el = holder(node)
        while (
            el is not None
            and el.tag not in ("body", "html")
            and el not in found
            and el not in too_long
        ):
            shown = text(el)
            if len(shown) > max_chars:
                too_long.add(el)
                break
            found[el] = shown
            el = el.getparent()
    return found


def _document_order(page: Page) -> dict:
    if "order" not in page.cache:
        page.cache["order"] = {el: n for n, el in enumerate(page.root.iter())}
    return page.cache["order"]


def is_far(el) -> bool:
    """In navigation, a footer, sidebar, comments or a form, or is one (a <header>
    holding the <h1> is the article's own header)."""
    node = el
    while node is not None and node.tag not in ("body", "html"):
        if node.tag in _FAR_TAGS and not (node.tag == "header" and node.find(".//h1") is not None):
            return True
        if class_words(node) & _FAR_CLASS_WORDS:
            return True
        node = node.getparent()
    return False


def nearest(
    page: Page, title: str | None, found: list[tuple], max_distance: int | None = None
) -> list[tuple]:
    """(element, value) pairs outside furniture, nearest the headline first (after it
    before before it at equal distance); with max_distance, only those that near."""
    anchor = title_anchor(page, title)
    order = _document_order(page)
    at = order.get(anchor, 0) if anchor is not None else 0
    ranked = []
    for el, value in found:
        distance = order.get(el, 0) - at
        if max_distance is not None and abs(distance) > max_distance:
            continue
        if is_far(el):
            continue
        ranked.append(((abs(distance), distance < 0), el, value))
    ranked.sort(key=lambda r: r[0])
    return [(el, value) for _, el, value in ranked]


# ------------------------------------------------------------------ the fields


def title(page: Page) -> str | None:
    """The first <h1> with text, else the <title>."""
    for el in page.root.iter("h1"):
        if found := text(el):
            return found
    return text(page.root.find(".//title")) or None


_DIGIT_RE = re.compile("[0-9]")


def published(page: Page, title: str | None) -> list[str]:
    """Date-looking texts nearest the headline: <time>, elements with date-ish classes,
    short texts holding a day (looked for around the text nodes with a digit). At most
    three, nearest first."""
    if page.body is None:
        return []
    holders = short_holders(
        [t for t in body_texts(page) if _DIGIT_RE.search(t)], DATE_LINE_MAX_CHARS
    )
    for el in page.body.iter("time"):
        holders.setdefault(el, None)
    found = []
    for el, value in holders.items():
        if el.tag in ALWAYS_NOISE_TAGS:
            continue
        if el.tag == "time" and (stamp := el.get("datetime")):
            found.append((el, squash(stamp)))
            continue
        value = text(el) if value is None else value
        if not (
            6 <= len(value) <= DATE_LINE_MAX_CHARS
            and (
                DATE_IN_TEXT_RE.search(value)
                and _DAY_IN_TEXT_RE.search(value)
                or _LATIN_DATE_IN_TEXT_RE.search(value)
            )
        ):
            continue
        if (
            el.tag == "time"
            or class_words(el) & _DATE_CLASS_WORDS
            or not any(isinstance(c.tag, str) and c.tag in BLOCK_TAGS for c in el)
        ):
            found.append((el, value))
    return [value for _el, value in nearest(page, title, found)[:3]]


_AUTHOR_LABEL_RE = re.compile(r"(?:[Аа]втор|[Тт]екст)\s*:")


def author(page: Page, title: str | None) -> str | None:
    """A labelled byline («Дата: ... | Автор: Имя») or a name in an element of class
    "author", nearest the headline."""
    if page.body is None:
        return None
    elements = {el: None for el in page.body.iter(etree.Element) if "author" in class_words(el)}
    labelled_texts = [t for t in body_texts(page) if _AUTHOR_LABEL_RE.search(t)]
    elements.update(short_holders(labelled_texts, BYLINE_MAX_CHARS))
    candidates = []
    for el, value in elements.items():
        if el.tag in TEXTLESS_TAGS or el.tag in ("body", "html"):
            continue
        value = text(el) if value is None else value
        if len(value) > BYLINE_MAX_CHARS:
            continue
        if labelled := _AUTHOR_IN_LINE_RE.search(value):
            candidates.append((el, labelled.group(1)))
        elif "author" in class_words(el) and site.looks_like_name(
            name := site.strip_author_label(value)
        ):
            candidates.append((el, name))
    ranked = nearest(page, title, candidates)
    return ranked[0][1] if ranked else None


def section(page: Page, title: str | None) -> str | None:
    """The breadcrumbs' last category link, else the category link nearest the headline."""
    if page.body is None:
        return None
    trails = [
        el for el in page.body.iter(etree.Element) if class_words(el) & _BREADCRUMB_CLASS_WORDS
    ]
    crumbs = [a for el in trails for a in el.iter("a") if site.is_category_href(a.get("href"))]
    if crumbs:
        return text(crumbs[-1]) or None
    links = [(a, None) for a in page.body.iter("a") if site.is_category_href(a.get("href"))]
    for a, _ in nearest(page, title, links, max_distance=SECTION_MAX_DISTANCE):
        if found := text(a):
            return found
    return None


def tags(page: Page) -> list[str]:
    if page.body is None:
        return []
    found = [
        t.lstrip("#")
        for a in page.body.iter("a")
        if "/tag/" in (a.get("href") or "") and (t := text(a))
    ]
    return list(dict.fromkeys(found))


# -------------------------------------------------------------------- the body

_NOT_VOTING_TAGS = ALWAYS_NOISE_TAGS | {"a", "li", "h1", "h2", "h3"}


def container(body):
    """The element holding the most paragraph text (readability-style voting): a <p>
    votes for its parent (and half for the grandparent); text sitting directly in a
    block, or in inline markup in it (<b>, <span>, ...), votes for that block, or for
    its parent when the block is one paragraph."""
    scores: dict = defaultdict(float)
    own: dict = defaultdict(int)  # block -> its text outside elements that vote
    home: dict = {}  # inline element -> the block its text belongs to
    for el in body.iter(etree.Element):
        if el.tag in _NOT_VOTING_TAGS:
            continue
        parent = el.getparent()
        if el.tag == "p":
            if parent is None:
                continue
            length = len(text_content(el).strip()) - link_text_len(el)
            if length >= MIN_PARAGRAPH_SCORE_CHARS:
                _vote(scores, parent, length)
            continue
        block = el
        if el.tag in INLINE_TAGS:
            # (an unclosed <b> in each paragraph nests them 300 deep: one block's text)
            block = home[el] = (
                home.get(parent)
                if parent.tag in INLINE_TAGS
                else (None if parent.tag == "p" or parent.tag in _NOT_VOTING_TAGS else parent)
            )
        if block is not None:
            own[block] += len((el.text or "").strip()) + sum(
                len((c.tail or "").strip()) for c in el
            )
    for el, length in own.items():
        if length < MIN_PARAGRAPH_SCORE_CHARS:
            continue
        breaks = sum(1 for c in el if c.tag == "br")
        has_block = any(c.tag in BLOCK_TAGS for c in el)
        is_paragraph = el.tag == "div" and breaks < 2 and not has_block
        target = el.getparent() if is_paragraph else el
        if target is not None:
            _vote(scores, target, length, also_parent=target is not el)
    return max(scores, key=scores.__getitem__) if scores else None


def _vote(scores: dict, el, length: float, also_parent: bool = True) -> None:
    scores[el] += length
    if also_parent and (grand := el.getparent()) is not None:
        scores[grand] += length / 2


def lead_before(page: Page, block, title: str | None) -> list[str]:
    """A lead paragraph standing between the headline and the text block (a sibling of
    the block, as in many news themes) belongs to the article."""
    anchor = title_anchor(page, title)
    if (
        anchor is None
        or anchor.getparent() is not block.getparent()
        or not any(sibling is anchor for sibling in block.itersiblings(preceding=True))
    ):
        return []
    lead: list[str] = []
    for sibling in block.itersiblings(preceding=True):  # up to the headline
        if sibling is anchor:
            break
        if not isinstance(sibling.tag, str) or sibling.tag not in ("p", "div"):
            continue
        blocks = text_blocks(sibling)
        if (
            len(blocks) == 1
            and len(blocks[0][0]) >= LEAD_MIN_CHARS
            and blocks[0][1] <= MAX_LINK_DENSITY
            and blocks[0][0] != title
        ):
            lead.insert(0, blocks[0][0])
    return lead


def paragraphs(block, title: str | None, generic: bool = False) -> list[str]:
    """The block's paragraphs: link lists and the headline itself left out; in a block
    the generic layer chose, also date/byline lines and the headline run together with
    a rubric (<br>-only layouts)."""
    folded_title = (title or "").casefold()
    kept = []
    for value, link_density in text_blocks(block):
        if link_density > MAX_LINK_DENSITY:
            continue
        folded = value.casefold()
        if folded_title and folded == folded_title:
            continue
        if generic:
            if folded_title and folded_title in folded and len(folded) - len(folded_title) <= 40:
                continue
            if (
                len(value) <= 80
                and DATE_IN_TEXT_RE.search(value)
                and len(DATE_IN_TEXT_RE.sub("", value).strip(" |,.-—·")) < 25
            ):
                continue
        kept.append(value)
    return kept
