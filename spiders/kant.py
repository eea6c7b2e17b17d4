"""The `kant` spider: thin adapter between Scrapy and kantkg.discovery / kantkg.extract.

Discovery: robots.txt -> sitemaps (index -> post sitemaps), the RSS feed, and the
front page with its /page/N/ pagination. Only article permalinks of the crawled site
are requested; each article page yields one raw item for the pipelines.

    scrapy crawl kant [-a since=YYYY-MM-DD] [-a until=YYYY-MM-DD] [-s KANT_BASE_URL=...]
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.settings import SETTINGS_PRIORITIES

from kantkg import __version__, discovery
from kantkg.encoding import charset_from_content_type, decode_html
from kantkg.extract import extract_raw
from kantkg.outcome import DRIFT_FIELDS


class KantSpider(scrapy.Spider):
    name = "kant"

    def __init__(self, since: str | None = None, until: str | None = None, **kwargs):
        super().__init__(**kwargs)
        # BadRange propagates: Scrapy prints it and the crawl never starts.
        self.date_range = discovery.DateRange.from_args(since, until)
        self.base_url = ""
        self.queued: set[str] = set()

    @classmethod
    def update_settings(cls, settings) -> None:
        super().update_settings(settings)
        # An honest User-Agent naming kantkg and a contact, unless the user set one.
        if settings.getpriority("USER_AGENT") <= SETTINGS_PRIORITIES["default"]:
            contact = settings.get("KANT_CONTACT") or "no contact given"
            settings.set("USER_AGENT", f"kantkg/{__version__} (+{contact})", priority="spider")

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.base_url = crawler.settings.get("KANT_BASE_URL").rstrip("/")
        host = urlsplit(spider.base_url).hostname or ""
        spider.allowed_domains = [host.removeprefix("www.")]
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        base = self.base_url
        yield scrapy.Request(f"{base}/robots.txt", callback=self.parse_robots,
                             errback=self.robots_failed, meta={"handle_httpstatus_list": [404]})
        yield scrapy.Request(f"{base}/feed/", callback=self.parse_feed)
        yield scrapy.Request(f"{base}/", callback=self.parse_listing)

    # ------------------------------------------------------------ discovery

    def parse_robots(self, response: Response) -> Iterator[scrapy.Request]:
        text = response.text if isinstance(response, TextResponse) else ""
        sitemaps = discovery.sitemaps_from_robots(text, self.base_url) if response.status == 200 \
            else []
        yield from self._sitemap_requests(sitemaps)

    def robots_failed(self, failure) -> Iterator[scrapy.Request]:
        yield from self._sitemap_requests([])

    def _sitemap_requests(self, sitemaps: list[str]) -> Iterator[scrapy.Request]:
        if not sitemaps:
            self.crawler.stats.inc_value("kantkg/sitemaps/fallback")
            sitemaps = [self.base_url + path for path in discovery.FALLBACK_SITEMAPS]
        for url in sitemaps:
            yield scrapy.Request(url, callback=self.parse_sitemap,
                                 meta={"handle_httpstatus_list": [404]})

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        if response.status != 200:
            return
        kind, entries = discovery.parse_sitemap(response.body)
        self.crawler.stats.inc_value(f"kantkg/sitemaps/{kind}")
        if kind == "sitemapindex":
            for entry in entries:
                if self.date_range.may_hold_changes_since(entry.lastmod):
                    yield scrapy.Request(response.urljoin(entry.loc), callback=self.parse_sitemap)
        elif kind == "urlset":
            for entry in entries:
                yield from self._article_request(response.urljoin(entry.loc), "sitemap")

    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        for url in discovery.feed_links(response.body):
            yield from self._article_request(response.urljoin(url), "feed")

    def parse_listing(self, response: Response) -> Iterator[scrapy.Request]:
        if not isinstance(response, TextResponse):
            return
        listing = discovery.parse_listing(response.text, response.url, self.base_url)
        fresh = [url for url in listing.article_urls if url not in self.queued]
        all_too_old = bool(listing.article_urls) and all(
            self.date_range.is_before(url) for url in listing.article_urls
        )
        for url in listing.article_urls:
            yield from self._article_request(url, "listing")
        # Pages are newest first: stop when a page brings nothing new or is all too old.
        if listing.next_url and fresh and not all_too_old:
            yield scrapy.Request(listing.next_url, callback=self.parse_listing)

    def _article_request(self, url: str, source: str) -> Iterator[scrapy.Request]:
        if not discovery.is_site_article(url, self.base_url):
            self.crawler.stats.inc_value("kantkg/links/ignored")
            return
        if not self.date_range.contains_url(url) or url in self.queued:
            return
        self.queued.add(url)
        self.crawler.stats.inc_value(f"kantkg/discovered/{source}")
        yield scrapy.Request(url, callback=self.parse_article)

    # ------------------------------------------------------------- articles

    def parse_article(self, response: Response) -> Iterator[dict]:
        stats = self.crawler.stats
        if not isinstance(response, TextResponse):
            stats.inc_value("kantkg/skipped/not_text")
            return
        stats.inc_value("kantkg/article_pages")
        header = response.headers.get
        content_type = (header("Content-Type") or b"").decode("latin-1") or None
        page = decode_html(response.body, charset_from_content_type(content_type))
        item = extract_raw(page, response.url)
        if item is None:
            stats.inc_value("kantkg/skipped/not_article")
            self.logger.info("not an article page: %s", response.url)
            return
        stats.inc_value("kantkg/extracted")
        for field in DRIFT_FIELDS + ("author", "section"):
            stats.inc_value(f"kantkg/layer/{field}/{item['method'].get(field, 'none')}")
        item.update(
            fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
            status=response.status,
            html=page,
            content_type=content_type,
            etag=(header("ETag") or b"").decode("latin-1") or None,
            last_modified=(header("Last-Modified") or b"").decode("latin-1") or None,
        )
        yield item
