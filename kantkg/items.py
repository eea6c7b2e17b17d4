"""The item that flows spider -> pipelines -> archive: one typed definition.

A TypedDict rather than a scrapy.Item so the library stays free of Scrapy (Scrapy takes
plain dicts as items), and mypy checks every step that reads or fills one: extraction
(kantkg.extract), dates (kantkg.dates), paragraphs (kantkg.paragraphs), the spider's
fetch fields, and the archive's writes (kantkg.archive).
"""

from __future__ import annotations

from typing import TypedDict


class ArticleItem(TypedDict, total=False):
    # identity
    url: str  # the URL fetched, in its one spelling (kantkg.urls)
    canonical_url: str  # <link rel=canonical> / og:url, else url (recorded only)
    # fields as extracted (kantkg.extract.extract_raw)
    title: str | None
    author: str | None
    section: str | None
    tags: list[str]
    paragraphs: list[str]  # raw in extract_raw; cleaned after kantkg.paragraphs
    dates_raw: dict[str, list[list[str]]]  # field -> [[layer, text], ...] best first
    method: dict[str, str]  # field -> layer that produced it
    extract_limit: str  # a page bound it passed (kantkg.bounds), if any
    # added by kantkg.dates.normalize_dates
    published: str | None  # ISO 8601 with offset
    published_utc: str | None
    published_date: str | None  # local calendar date (UTC can move it a day)
    modified: str | None
    modified_utc: str | None
    date_warnings: list[str]  # disagreements between date sources
    # added by kantkg.paragraphs.clean_item
    duplicates_removed: int
    boilerplate_removed: int
    # added by the spider: the fetch, as the archive's `pages` row keeps it
    html: bytes  # the page in UTF-8 (stored compressed)
    fetched_at: str  # ISO 8601 UTC
    status: int
    content_type: str | None
    etag: str | None
    last_modified: str | None
