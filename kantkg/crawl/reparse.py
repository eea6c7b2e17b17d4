"""Re-run extraction over the raw pages the archive keeps, without any network.

After an extractor change (a new layer, a fixed selector), `kantkg reparse` brings every
article up to date: changed ones are updated with their old version in `revisions`,
unchanged ones write nothing but last_seen.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime

import sqlite_utils

from kantkg import archive, extract_article

Track = Callable[[list[str]], Iterable[str]]  # the URLs to do -> the same, as they are done


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
    sql = "SELECT p.url FROM pages p LEFT JOIN articles a ON a.url = p.url"
    if where:
        sql += " WHERE " + " AND ".join(where)
    urls = [url for (url,) in db.execute(sql + " ORDER BY p.url", params)]
    counts: Counter[str] = Counter()
    for url in track(urls):  # one page in memory at a time
        fetched_at, blob = db.execute(
            "SELECT fetched_at, html_zlib FROM pages WHERE url = ?", [url]
        ).fetchone()
        html = archive.decompress_page(blob)
        now = datetime.fromisoformat(fetched_at) if fetched_at else None
        item = extract_article(html, url, now=now)
        if item is None:
            counts["not-article"] += 1
            continue
        if reason := archive.unarchivable_reason(item):
            counts[f"dropped/{reason}"] += 1
            continue
        counts[archive.upsert_article(db, item)] += 1
    return counts
