"""How articles are found: robots.txt -> sitemaps, the RSS feed, listing pages.

Plain functions over response bodies so the spider stays a thin adapter and every rule
is testable without Scrapy.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from lxml import etree
from parsel import Selector

from kantkg import site, urls
from kantkg.dates import LOCAL_TZ, parse_date

# WordPress/Yoast/core sitemap locations, tried when robots.txt names none.
FALLBACK_SITEMAPS = ("/sitemap_index.xml", "/wp-sitemap.xml", "/sitemap.xml")
# The sitemap protocol's own limit on one (uncompressed) sitemap file.
SITEMAP_MAX_BYTES = 50 * 1024 * 1024


class BadRange(ValueError):
    """A since/until argument that is not a date (shown to the user as one line)."""


def parse_day(text: str | None, name: str) -> date | None:
    if text is None or str(text).strip() == "":
        return None
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise BadRange(f"{name}={text!r} is not a date (expected YYYY-MM-DD)") from None


@dataclass(frozen=True)
class DateRange:
    """Inclusive publication-date window from `-a since=` / `-a until=` (local dates)."""

    since: date | None = None
    until: date | None = None

    @classmethod
    def from_args(cls, since: str | None, until: str | None) -> DateRange:
        rng = cls(parse_day(since, "since"), parse_day(until, "until"))
        if rng.since and rng.until and rng.since > rng.until:
            raise BadRange(f"since={rng.since} is after until={rng.until}")
        return rng

    @property
    def since_iso(self) -> str | None:
        return self.since.isoformat() if self.since else None

    @property
    def until_iso(self) -> str | None:
        return self.until.isoformat() if self.until else None

    def contains(self, day: date | None) -> bool:
        if day is None:
            return True  # unknown dates are not filtered out: extraction decides later
        if self.since and day < self.since:
            return False
        return not (self.until and day > self.until)

    def contains_url(self, url: str) -> bool:
        return self.contains(site.url_date(url))

    def is_before(self, url: str) -> bool:
        """True when the URL's date is older than `since` (listings are newest first)."""
        day = site.url_date(url)
        return bool(self.since and day and day < self.since)

    def may_hold_changes_since(self, lastmod: str | None) -> bool:
        """A sub-sitemap last modified before `since` holds only older posts."""
        if not self.since or not lastmod:
            return True
        parsed = parse_date(lastmod)
        return parsed is None or parsed.value.astimezone(LOCAL_TZ).date() >= self.since


def is_site_article(url: str, base_url: str) -> bool:
    """An article permalink of the crawled site, however it is spelled (`%D0%BF`)."""
    return site.same_site(url, base_url) and site.is_article_url(urls.article_url(url))


def sitemaps_from_robots(text: str, base_url: str) -> list[str]:
    found = []
    for line in text.splitlines():
        key, _, value = line.partition(":")
        url = urls.join(base_url + "/", value) if value.strip() else None
        if key.strip().lower() == "sitemap" and url:
            found.append(url)
    return found


@dataclass(frozen=True)
class SitemapEntry:
    loc: str
    lastmod: str | None


_XML_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, recover=True, huge_tree=True, remove_comments=True
)


class TooLarge(ValueError):
    """A compressed document that unpacks to more than the limit (a gzip bomb)."""


def gunzip(body: bytes, max_bytes: int) -> bytes:
    """Unpack a gzip body, streamed, refusing to grow past max_bytes: 1.9 MB of `.xml.gz`
    can unpack to gigabytes. -> bytes; TooLarge; ValueError when it is no valid gzip."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise ValueError(f"not valid gzip: {exc}") from None
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise TooLarge(f"unpacks to more than {max_bytes // 2**20} MB")
    if not inflater.eof:
        raise ValueError("truncated gzip")
    return out


# The root element's end tag, then nothing but space and comments: the document is whole.
_CLOSED_RE = re.compile(
    rb"</(?:[\w.-]+:)?(?:urlset|sitemapindex)\s*>(?:\s|<!--.*?-->)*\Z", re.IGNORECASE | re.DOTALL
)


class Sitemap(NamedTuple):
    kind: str  # "sitemapindex" | "urlset" | "invalid" | "too-large"
    entries: list[SitemapEntry]
    # False: the document stops before its root element closes (a cut download); lxml's
    # recovery still yields the entries before the cut, but the rest is unseen.
    whole: bool = True


def parse_sitemap(body: bytes, max_bytes: int = SITEMAP_MAX_BYTES) -> Sitemap:
    """A sitemap or sitemap index; gzip bodies are unpacked, at most max_bytes of them."""
    if body[:2] == b"\x1f\x8b":
        try:
            body = gunzip(body, max_bytes)
        except TooLarge:
            return Sitemap("too-large", [])
        except ValueError:
            return Sitemap("invalid", [])
    elif len(body) > max_bytes:
        return Sitemap("too-large", [])
    try:
        root = etree.fromstring(body, parser=_XML_PARSER)
    except etree.XMLSyntaxError:
        return Sitemap("invalid", [])
    if root is None:
        return Sitemap("invalid", [])
    kind = etree.QName(root).localname.lower()
    if kind not in ("sitemapindex", "urlset"):
        return Sitemap("invalid", [])
    entries = []
    for node in root:
        if not isinstance(node.tag, str):
            continue
        fields = {
            etree.QName(child).localname: (child.text or "").strip()
            for child in node
            if isinstance(child.tag, str)
        }
        if fields.get("loc"):
            entries.append(SitemapEntry(fields["loc"], fields.get("lastmod") or None))
    return Sitemap(kind, entries, bool(_CLOSED_RE.search(body[-4096:])))


def feed_links(body: bytes) -> list[str]:
    """Item links of an RSS 2.0 or Atom feed, in feed order."""
    try:
        sel = Selector(body=body, type="xml")
    except (ValueError, etree.XMLSyntaxError):
        return []
    links = sel.xpath("//*[local-name()='item']/*[local-name()='link']/text()").getall()
    links += sel.xpath(
        "//*[local-name()='entry']/*[local-name()='link'][not(@rel) or @rel='alternate']/@href"
    ).getall()
    return [link.strip() for link in links if link.strip()]


@dataclass(frozen=True)
class Listing:
    article_urls: list[str]
    next_url: str | None


def parse_listing(html: str, page_url: str, base_url: str) -> Listing:
    """Article links of a front/category page (order kept, unique) and its next page."""
    sel = Selector(text=html or "<html></html>")
    seen: dict[str, None] = {}
    for href in sel.xpath("//a/@href").getall():
        url = (urls.join(page_url, href) or "").split("#", 1)[0]
        if url and is_site_article(url, base_url):
            seen.setdefault(url, None)
    next_href = sel.xpath(
        "(//link[@rel='next']/@href | //a[@rel='next']/@href"
        " | //a[contains(concat(' ', normalize-space(@class), ' '), ' next ')]/@href)[1]"
    ).get()
    next_url = urls.join(page_url, next_href) if next_href else None
    if next_url and not site.same_site(next_url, base_url):
        next_url = None
    return Listing(list(seen), next_url)
