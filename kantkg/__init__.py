"""kantkg: scheduled scraper and SQLite archive for kant.kg."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

    from kantkg.items import ArticleItem

__version__ = "0.1.0"

__all__ = ["__version__", "explain_article", "extract_article"]


def explain_article(
    html: bytes | str,
    url: str,
    now: datetime | None = None,
    encoding: str | None = None,
) -> tuple[ArticleItem | None, str | None, list[tuple[str, str]]]:
    """The one chain (extract -> normalize dates -> clean paragraphs), explained:
    -> (item, why the page is no article, paragraphs removed with their reasons).

    The crawl runs the same three steps, as the spider and two item pipelines. An item
    can be junk all the same (a page or article beyond kantkg.bounds: too many elements,
    nested too deep to read whole, a huge title or body): the caller that stores it asks
    `kantkg.bounds.junk_reason(item)`, as the archive does, and records it as failed.
    """
    from kantkg.dates import normalize_dates
    from kantkg.extract import explain_raw
    from kantkg.paragraphs import explain_clean_item

    item, reason = explain_raw(html, url, encoding)
    if item is None:
        return None, reason, []
    normalize_dates(item, now)
    return item, None, explain_clean_item(item)


def extract_article(html: bytes | str, url: str, now: datetime | None = None) -> ArticleItem | None:
    """The whole chain in one call: extract -> normalize dates -> clean paragraphs.

    Returns exactly what the archive would store for the page, or None when the page
    is not a single article (an item may still be junk: see explain_article). `now` is
    the fetch time (aware): it anchors relative dates and bounds them
    (kantkg.dates.EARLIEST); default: now.
    """
    return explain_article(html, url, now)[0]
