"""Layers that well-kept libraries provide, behind one function each, so that a
library's failure is a missing value and never a crash of the crawl."""

from __future__ import annotations

import logging

import lxml.html
from lxml import etree
from lxml.html import HtmlElement

from kantkg.extract.text import BLOCK_TAGS, text_blocks

# The libraries log every page they find hard; the crawl's log says what matters.
logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
logging.getLogger("readability").setLevel(logging.CRITICAL)
logging.getLogger("htmldate").setLevel(logging.CRITICAL)

# What ends a paragraph in the libraries' output: HTML's blocks, trafilatura's own tags,
# and every line break (<br>, trafilatura's <lb/>): their output has no <br><br> rule.
LIBRARY_BLOCK_TAGS = BLOCK_TAGS | {
    "aside",
    "br",
    "figure",
    "figcaption",
    "head",
    "item",
    "list",
    "quote",
    "row",
    "cell",
    "code",
    "lb",
    "doc",
}

HTMLDATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"

# The libraries' own parsers read a page only to libxml2's nesting depth of 256 and drop
# the rest silently; these are theirs (trafilatura's options) with huge_tree, as ours.
_LIBRARY_PARSER = lxml.html.HTMLParser(
    collect_ids=False,
    default_doctype=False,
    encoding="utf-8",
    remove_comments=True,
    remove_pis=True,
    huge_tree=True,
)
_SUMMARY_PARSER = etree.HTMLParser(huge_tree=True)


def htmldate_published(page_html: bytes | str, url: str) -> str | None:
    """htmldate's publication date for the page: ISO with a time and the page's offset
    when htmldate found them, a bare day when it found none (htmldate then answers
    midnight with no offset, which is no time of day). It parses the page itself: it
    prunes the tree it is given, and ours is shared by the other layers."""
    from htmldate import find_date

    # Bytes always: htmldate downloads a str that looks like a URL.
    data = page_html.encode("utf-8") if isinstance(page_html, str) else page_html
    try:
        found = find_date(
            data,
            url=url or None,
            original_date=True,
            extensive_search=True,
            outputformat=HTMLDATE_FORMAT,
        )
    except Exception:  # noqa: BLE001  a library's failure is no date, never a crash
        return None
    if not found:
        return None
    return found[:10] if found.endswith("T00:00:00") else found


def parse_for_libraries(html: str) -> HtmlElement | None:
    """One parse for both extractors: trafilatura copies the tree it gets, readability
    changes it. As trafilatura's own loader parses (its repairs of common markup faults,
    the text then its UTF-8 bytes, a page not starting like HTML needs two children),
    with _LIBRARY_PARSER."""
    from trafilatura.utils import is_dubious_html, repair_faulty_html

    beginning = html[:50].lower()
    repaired = repair_faulty_html(html, beginning)
    tree = _library_tree(repaired)
    if tree is None or len(tree) < 1:
        tree = _library_tree(repaired.encode("utf-8", "surrogatepass"))
    if tree is not None and is_dubious_html(beginning) and len(tree) < 2:
        return None
    return tree


def _library_tree(data: str | bytes) -> HtmlElement | None:
    try:
        return lxml.html.fromstring(data, parser=_LIBRARY_PARSER)
    except (etree.LxmlError, ValueError):  # (empty; a str with an encoding declaration)
        return None


def trafilatura_paragraphs(tree: HtmlElement, url: str) -> list[str]:
    """trafilatura with fast=True: without its internal readability/jusText fallback,
    which this module replaces by a vote (faster, and better on the benchmark)."""
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(
            tree, url=url, fast=True, include_comments=False, with_metadata=False
        )
    except Exception:  # noqa: BLE001  trafilatura raises assorted errors on broken pages
        return []
    body = doc.get("body") if isinstance(doc, dict) else getattr(doc, "body", None)
    if body is None:
        return []
    return block_texts(body)


def readability_paragraphs(tree: HtmlElement) -> list[str]:
    """readability-lxml's main block, split into its paragraphs. Changes `tree`.
    No url is passed on: readability would make every link absolute (time spent for
    nothing) and links are not kept."""
    from readability import Document

    try:
        summary = Document(tree).summary(html_partial=True)
    except Exception:  # noqa: BLE001  readability raises on pages without a usable body
        return []
    if not summary.strip():
        return []
    return block_texts(etree.fromstring(summary, _SUMMARY_PARSER))


def block_texts(root) -> list[str]:
    """The libraries' output as paragraphs, by our rule (kantkg.extract.text)."""
    return [block for block, _links in text_blocks(root, LIBRARY_BLOCK_TAGS)]
