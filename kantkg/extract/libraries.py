"""Layers that well-kept libraries provide, behind one function each, so that a
library's failure is a missing value and never a crash of the crawl."""

from __future__ import annotations

HTMLDATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


def htmldate_published(page_html: bytes | str, url: str) -> str | None:
    """htmldate's publication date for the page: ISO with a time and the page's offset
    when htmldate found them, a bare day when it found none (htmldate then answers
    midnight with no offset, which is no time of day). It parses the page itself: it
    prunes the tree it is given, and ours is shared by the other layers."""
    from htmldate import find_date

    if isinstance(page_html, str) and "<" not in page_html[:2000]:
        return None  # (htmldate fetches a string that looks like a URL)
    try:
        found = find_date(page_html, url=url or None, original_date=True,
                          extensive_search=True, outputformat=HTMLDATE_FORMAT)
    except Exception:  # noqa: BLE001  a library's failure is no date, never a crash
        return None
    if not found:
        return None
    return found[:10] if found.endswith("T00:00:00") else found
