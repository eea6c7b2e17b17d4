"""The item that flows spider -> pipelines -> archive.

A TypedDict rather than a scrapy.Item so the library stays free of Scrapy;
Scrapy handles plain dicts as items.
"""

from __future__ import annotations

from typing import TypedDict


class ArticleItem(TypedDict, total=False):
    # identity
    url: str                      # the URL fetched
    canonical_url: str            # <link rel=canonical> / og:url, else url
    # fields as extracted (kantkg.extract.extract_raw)
    title: str
    author: str | None
    section: str | None
    tags: list[str]
    paragraphs: list[str]         # raw in extract_raw; cleaned after kantkg.paragraphs
    dates_raw: dict[str, list[list[str]]]  # field -> [[layer, text], ...] best first
    method: dict[str, str]        # field -> layer that produced it
    # added by kantkg.dates.normalize_dates
    published: str | None         # ISO 8601 with offset
    published_utc: str | None
    published_date: str | None    # local calendar date (UTC can move it a day)
    modified: str | None
    modified_utc: str | None
    date_warnings: list[str]      # disagreements between date sources
    # added by kantkg.paragraphs.clean_item
    duplicates_removed: int
    boilerplate_removed: int
    # added by the spider
    html: bytes                   # the page in UTF-8, as the archive keeps it (compressed)
    fetched_at: str               # ISO 8601 UTC
    status: int
