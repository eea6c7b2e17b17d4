"""The item that flows spider -> pipelines -> archive: one typed definition.

A TypedDict rather than a scrapy.Item so the library stays free of Scrapy (Scrapy takes
plain dicts as items), and mypy checks every step that reads or fills one: extraction
(kantkg.extract), dates (kantkg.dates), paragraphs (kantkg.paragraphs), the spider's
fetch fields, and the archive's writes (kantkg.archive).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

Headers = list[tuple[str, str]]


@dataclass(frozen=True)
class Capture:
    """One HTTP exchange as fetched (or as a web archive recorded it)."""

    target_url: str
    fetched_at: str  # ISO 8601 UTC
    status: int
    headers: Headers
    body: bytes | None  # None: a 304 (or a revisit record) carries none
    requested_url: str | None = None  # when redirects led to target_url
    reason: str = ""
    http_version: str = "HTTP/1.1"
    request_headers: Headers = field(default_factory=list)
    source: str | None = None
    reencoded: bool = False

    def header(self, name: str) -> str | None:
        """The first value of a response header, any letter case."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


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
    # added by the spider (or an import): the response as received, which the archive
    # keeps (kantkg.archive.captures)
    capture: Capture
