"""Re-run extraction over the captures the archive keeps, without any network.

After an extractor change (a new layer, a fixed selector), `kantkg reparse` brings every
article up to date from its latest page: changed ones are updated with their old version
in `revisions`, unchanged ones write nothing but last_seen.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime

import sqlite_utils

from kantkg import archive, explain_article
from kantkg.extract.encoding import charset_from_content_type
from kantkg.items import ArticleItem, Capture

Track = Callable[[list[str]], Iterable[str]]  # the URLs to do -> the same, as they are done


def article_of_capture(capture: Capture, url: str) -> tuple[ArticleItem | None, str | None]:
    """The crawl's chain (extraction, dates, paragraphs) over a kept response, as the
    spider runs it over a fresh one: the charset its Content-Type declared (a page
    migrated from schema 4 is UTF-8 whatever that said), its fetch time as "now".
    -> (item, None) or (None, why the page is no article)."""
    declared = (
        "utf-8" if capture.reencoded else charset_from_content_type(capture.header("Content-Type"))
    )
    try:
        now = datetime.fromisoformat(capture.fetched_at) if capture.fetched_at else None
    except ValueError:
        now = None
    item, reason, _ = explain_article(capture.body or b"", url, now, declared)
    return item, reason


def reparse(
    db: sqlite_utils.Database,
    *,
    since: str | None = None,
    until: str | None = None,
    track: Track = lambda urls: urls,
) -> Counter[str]:
    """-> counts: updated, unchanged, new, not-article, dropped/<reason>. `track` wraps
    the list of page URLs (a progress bar: `kantkg reparse` at a terminal)."""
    where, params = archive.article_filters("a", since, until)
    sql = (
        "SELECT DISTINCT c.url FROM captures c LEFT JOIN articles a ON a.url = c.url"
        " WHERE c.status = 200"
    )
    if where:
        sql += " AND " + " AND ".join(where)
    urls = [url for (url,) in db.execute(sql + " ORDER BY c.url", params)]
    counts: Counter[str] = Counter()
    for url in track(urls):  # one page in memory at a time
        page = archive.latest_page(db, url)
        if page is None or page.capture.body is None:
            counts["no-body"] += 1
            continue
        item, _ = article_of_capture(page.capture, url)
        if item is None:
            counts["not-article"] += 1
            continue
        if reason := archive.unarchivable_reason(item):
            counts[f"dropped/{reason}"] += 1
            continue
        counts[archive.upsert_article(db, item)] += 1
    return counts
