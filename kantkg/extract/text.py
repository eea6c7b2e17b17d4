"""Text out of lxml elements: whole text, text blocks in reading order, furniture removal.

The rules every layer shares: what counts as a block (a paragraph boundary), which tags
and class words are furniture, and how a block's link density is measured.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from lxml import etree

from kantkg import site
from kantkg.whitespace import squash

# Block-level tags: they end the paragraph being collected.
BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "main",
        "header",
        "footer",
        "blockquote",
        "li",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "td",
        "th",
        "pre",
        "hr",
        "center",
        "address",
        "details",
        "summary",
        "caption",
    }
)
# Inline formatting: text inside them is the text of the block around them.
INLINE_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "s",
        "span",
        "font",
        "small",
        "big",
        "sub",
        "sup",
        "mark",
        "cite",
        "q",
        "abbr",
        "time",
        "label",
    }
)
# Always furniture, however much text they hold.
ALWAYS_NOISE_TAGS = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "svg",
        "canvas",
        "iframe",
        "object",
        "embed",
    }
)
TEXTLESS_TAGS = ALWAYS_NOISE_TAGS | {
    "br",
    "img",
    "hr",
    "input",
    "wbr",
    "meta",
    "link",
    "source",
    "area",
    "col",
    "param",
    "track",
}
_VOID_TAGS = TEXTLESS_TAGS - ALWAYS_NOISE_TAGS
CAPTION_TAGS = frozenset({"i", "em", "small", "span", "font"})
CAPTION_MAX_CHARS = 200


def text_content(el) -> str:
    """All text inside the element (XPath's string()), without the tail."""
    if len(el) == 0:  # (comments and processing instructions count as children)
        return el.text or ""
    return etree.tostring(el, method="text", encoding=str, with_tail=False)


def text(el) -> str:
    """The element's text, whitespace squashed; "" for None."""
    return squash(text_content(el)) if el is not None else ""


def drop_tree(el) -> None:
    """Remove the element and its content, keeping the text that follows it."""
    parent = el.getparent()
    if el.tail:
        previous = el.getprevious()
        if previous is None:
            parent.text = (parent.text or "") + el.tail
        else:
            previous.tail = (previous.tail or "") + el.tail
    parent.remove(el)


_CLASS_WORD_RE = re.compile(r"[a-z]+")


@lru_cache(maxsize=8192)
def _words(value: str) -> frozenset[str]:
    return frozenset(_CLASS_WORD_RE.findall(value.lower()))


def class_words(el) -> frozenset[str]:
    """`td-post-author__name` -> {"td", "post", "author", "name"}: the words an element's
    class and id are made of, to match furniture by meaning rather than exact class."""
    return _words(f"{el.get('class') or ''} {el.get('id') or ''}")


def is_hidden(el) -> bool:
    style = (el.get("style") or "").replace(" ", "").lower()
    return "display:none" in style or el.get("hidden") is not None


def _is_noise(el) -> bool:
    """Furniture by tag, by site.NOISE_SELECTORS, or by a class/id word."""
    if el.tag in site.NOISE_TAGS:
        return True
    classes = (el.get("class") or "").split()
    if any(c in site.NOISE_CLASSES for c in classes) or el.get("id") in site.NOISE_IDS:
        return True
    return bool(class_words(el) & site.NOISE_CLASS_WORDS)


def remove_noise(container) -> None:
    """Drop furniture inside the container: by tag always, by class word unless the
    element holds more than half of the container's text (then it is a wrapper)."""
    total = len(text_content(container)) or 1
    doomed = [
        el
        for el in container.iter(etree.Element)
        if el is not container and (_is_noise(el) or is_caption(el))
    ]
    # Lengths before any drop, so the order of drops cannot change the decision.
    drop = [
        el
        for el in doomed
        if el.tag not in _VOID_TAGS
        and (el.tag in ALWAYS_NOISE_TAGS or len(text_content(el)) <= total / 2)
    ]
    for el in drop:
        if el.getparent() is not None:
            drop_tree(el)


def is_caption(el) -> bool:
    """Short inline text right under an image (<img><br><i>Фото ...</i>): a caption."""
    if el.tag not in CAPTION_TAGS or ((el.text or "").strip() == "" and len(el) == 0):
        return False
    previous = el.getprevious()
    while previous is not None and previous.tag == "br" and not (previous.tail or "").strip():
        previous = previous.getprevious()
    return (
        previous is not None
        and previous.tag == "img"
        and not (previous.tail or "").strip()
        and len(text(el)) <= CAPTION_MAX_CHARS
    )


_BR = "\x00"
_LINK_START, _LINK_END = "\x01", "\x02"
_PARAGRAPH_BREAK_RE = re.compile(r"[ \t\r\n\f\v]*\x00(?:[ \t\r\n\f\v]*\x00)+[ \t\r\n\f\v]*")
_LINK_TEXT_RE = re.compile("\x01([^\x01\x02]*)\x02")


def text_blocks(
    container,
    block_tags: frozenset[str] = BLOCK_TAGS,
) -> list[tuple[str, float]]:
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
        for piece in _PARAGRAPH_BREAK_RE.split(raw):
            links = sum(len(m.strip()) for m in _LINK_TEXT_RE.findall(piece))
            piece = piece.replace(_LINK_START, "").replace(_LINK_END, "")
            block = squash(piece.replace(_BR, " "))
            if block:
                blocks.append((block, min(1.0, links / len(block))))

    # Depth first without recursion (pages nest up to bounds.PARSER_MAX_DEPTH deep,
    # past Python's recursion limit): each open element with its children left and how
    # it closes ("block" ends a block, "a" its link text, the container nothing).
    if container.text:
        buf.append(container.text)
    stack: list[tuple[Any, Iterator[Any], str | None]] = [(container, iter(container), "")]
    while stack:
        el, children, kind = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if kind == "block":
                flush()
            elif kind == "a":
                buf.append(_LINK_END)
            if stack and el.tail:
                buf.append(el.tail)
            continue
        tag = child.tag  # (a comment's or processing instruction's is a function)
        if tag in block_tags:
            flush()
            kind = "block"
        elif tag == "br":
            buf.append(_BR)
            kind = None
        elif tag == "a":
            buf.append(_LINK_START)
            kind = "a"
        elif isinstance(tag, str) and tag not in ALWAYS_NOISE_TAGS:
            kind = "inline"
        else:
            kind = None
        if kind is None:  # no text of its own (a comment's tail counts, its text does not)
            if child.tail:
                buf.append(child.tail)
            continue
        if child.text:
            buf.append(child.text)
        stack.append((child, iter(child), kind))
    flush()
    return blocks


def link_text_len(el) -> int:
    return sum(len(text_content(a).strip()) for a in el.iter("a"))
