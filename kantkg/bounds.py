"""Sanity bounds on a page and on the article read from it.

A page beyond one of these is no article to archive but a fault, a trap or an attack
(a million one-letter paragraphs, a megabyte headline): it is recorded as a failure
with a short reason instead of being stored as junk that every search then wades through.

The bounds are generous on purpose, so that no real article trips them. Measured on
383 real news pages (../shared/devsets, many sites and languages): at most 6,066
elements, 205 <p> and nesting 50 deep; a long Russian news article is 30-60k
characters in under 400 paragraphs, and headlines stay under 300 characters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from kantkg.items import ArticleItem

# ------------------------------------------------------------------ the page
# Checked before the page is parsed (kantkg.extract.load): past this, parsing and the
# extractors cost seconds and hundreds of MB, for no article (bench/TIMING_NOTES.md).
MAX_ELEMENTS = 50_000  # start tags in the page: 8x the largest real page measured
# libxml2 stops parsing (and drops the rest of the page) past this nesting depth, even
# with huge_tree (256 without it). Not ours to choose: a page cut there is reported.
PARSER_MAX_DEPTH = 2048

# ---------------------------------------------------------------- the article
MAX_TITLE_CHARS = 1_000  # headlines: < 300
MAX_PARAGRAPHS = 2_000  # long articles: < 400
MAX_TEXT_CHARS = 1_000_000  # the body's characters; long articles: 30-60k

# Reasons, machine-friendly (stats keys, failure records).
TOO_MANY_ELEMENTS = "too-many-elements"
NESTING_TOO_DEEP = "nesting-too-deep"
TITLE_TOO_LONG = "title-too-long"
TOO_MANY_PARAGRAPHS = "too-many-paragraphs"
TEXT_TOO_LARGE = "text-too-large"

# The item key where extraction records a page bound it hit (one of the two first
# reasons above): the page was not read, or not read whole.
LIMIT_KEY: Final = "extract_limit"


def junk_reason(item: ArticleItem) -> str | None:
    """Why the item is no article to archive though extraction returned it, or None:
    the page was beyond a page bound, or the article read from it is beyond an article
    bound."""
    if limit := item.get(LIMIT_KEY):
        return limit
    if len(item.get("title") or "") > MAX_TITLE_CHARS:
        return TITLE_TOO_LONG
    paragraphs = item.get("paragraphs") or []
    if len(paragraphs) > MAX_PARAGRAPHS:
        return TOO_MANY_PARAGRAPHS
    if sum(map(len, paragraphs)) > MAX_TEXT_CHARS:
        return TEXT_TOO_LARGE
    return None
