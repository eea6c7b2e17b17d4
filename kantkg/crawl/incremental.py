"""What an incremental crawl fetches: new articles, and known ones the site says changed.

The archive is the crawl's memory (no Scrapy JOBDIR, no fingerprint file): a URL whose
page is stored is not requested again unless a sitemap `<lastmod>` is newer than our
fetch, and then conditionally (ETag / Last-Modified), so an unchanged page costs a 304.
A killed backfill resumes for free: whatever it archived is known to the next run.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from kantkg.archive import PageState
from kantkg.dates import parse_date


class Fetch(Enum):
    NEW = "new"  # never archived: fetch
    CHANGED = "changed"  # archived, but the site lists a later modification: re-fetch
    KNOWN = "known"  # archived and not known to have changed: skip


def _instant(text: str | None) -> datetime | None:
    parsed = parse_date(text) if text else None
    return parsed.value if parsed else None


def decide(state: PageState | None, lastmod: str | None, full: bool = False) -> Fetch:
    """Fetch decision for one article URL (lastmod: from a sitemap, if any)."""
    if state is None:
        return Fetch.NEW
    if full:
        return Fetch.CHANGED
    modified, fetched = _instant(lastmod), _instant(state.fetched_at)
    if modified is not None and (fetched is None or modified > fetched):
        return Fetch.CHANGED
    return Fetch.KNOWN


def sitemap_may_have_changed(lastmod: str | None, reference: str | None) -> bool:
    """A sub-sitemap whose lastmod is before the start of the last complete crawl holds
    nothing that crawl did not see. No lastmod or no reference: assume it changed."""
    modified, since = _instant(lastmod), _instant(reference)
    return modified is None or since is None or modified >= since


def conditional_headers(state: PageState | None) -> dict[str, str]:
    """If-None-Match / If-Modified-Since from the stored response headers."""
    headers = {}
    if state and state.etag:
        headers["If-None-Match"] = state.etag
    if state and state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    return headers
