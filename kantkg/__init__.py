"""kantkg: scheduled scraper and SQLite archive for kant.kg."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "extract_article"]


def extract_article(html: bytes | str, url: str, now=None) -> dict | None:
    """The whole chain in one call: extract -> normalize dates -> clean paragraphs.

    Returns exactly what the archive would store for the page, or None when the page
    is not a single article. `now` (aware datetime) anchors relative dates; default: now.
    """
    from kantkg.dates import normalize_dates
    from kantkg.extract import extract_raw
    from kantkg.paragraphs import clean_item

    item = extract_raw(html, url)
    if item is None:
        return None
    normalize_dates(item, now)
    clean_item(item)
    return item
