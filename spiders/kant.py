"""The `kant` spider: thin adapter between Scrapy and kantkg.discovery / kantkg.extract.

Discovery: robots.txt -> sitemaps (index -> post sitemaps), the RSS feed, and the
front page with its /page/N/ pagination. Only article permalinks of the crawled site
are requested; each article page yields one raw item for the pipelines.

Incremental by default (kantkg.incremental): an archived URL is requested again only
when a sitemap lists a later modification, and then conditionally (304 if unchanged);
sub-sitemaps unchanged since the last complete crawl are not fetched; pagination stops
at a page with nothing new. `-s KANT_FULL=1` (or `-a full=1`) fetches everything.

    scrapy crawl kant [-a since=YYYY-MM-DD] [-a until=YYYY-MM-DD] [-s KANT_BASE_URL=...]
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.asyncio import is_asyncio_available

from kantkg import __version__, archive, discovery, site
from kantkg.encoding import charset_from_content_type, looks_binary
from kantkg.incremental import Fetch, conditional_headers, decide, sitemap_may_have_changed
from kantkg.offload import Extractor, default_workers
from kantkg.outcome import DRIFT_FIELDS

# Articles before listings before sitemaps: the queue drains one sitemap's articles
# before the next sitemap adds more, so memory stays flat on a 50,000-article backfill.
ARTICLE_PRIORITY, LISTING_PRIORITY, SITEMAP_PRIORITY = 20, 10, 0


class KantSpider(scrapy.Spider):
    name = "kant"

    def __init__(self, since: str | None = None, until: str | None = None,
                 full: str | None = None, **kwargs):
        super().__init__(**kwargs)
        # BadRange propagates: Scrapy prints it and the crawl never starts.
        self.date_range = discovery.DateRange.from_args(since, until)
        self.full = str(full or "").lower() in ("1", "true", "yes")
        self.base_url = ""
        self.db_path = ""
        self.archive = None
        self.reference: str | None = None
        # hash(url) of every article URL queued or skipped this run: ints, not strings,
        # so a 50,000-article backfill keeps ~3 MB here, not ~10 MB.
        self.queued: set[int] = set()
        self.pending_sitemaps: deque[str] = deque()
        self.extractor: Extractor | None = None

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
        spider.db_path = crawler.settings.get("KANT_DB")
        spider.full = spider.full or crawler.settings.getbool("KANT_FULL")
        host = urlsplit(spider.base_url).hostname or ""
        spider.allowed_domains = [host.removeprefix("www.")]
        crawler.signals.connect(spider.closed_archive, signal=signals.spider_closed)
        return spider

    @property
    def bounded(self) -> bool:
        return bool(self.date_range.since or self.date_range.until)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.archive = archive.open_archive(self.db_path)
        setting = self.settings.get("KANT_EXTRACT_WORKERS")
        try:
            workers = default_workers() if setting in (None, "") else max(0, int(setting))
        except ValueError:
            self.logger.warning("KANT_EXTRACT_WORKERS=%r is no number: extracting inline",
                                setting)
            workers = 0
        # Workers are awaited through asyncio: without its reactor, extract inline.
        self.extractor = Extractor(workers if is_asyncio_available() else 0)
        if not (self.full or self.bounded):
            self.reference = archive.last_complete_crawl_start(self.archive, self.base_url)
        base = self.base_url
        yield scrapy.Request(f"{base}/robots.txt", callback=self.parse_robots,
                             errback=self.robots_failed, meta={"handle_httpstatus_list": [404]},
                             priority=SITEMAP_PRIORITY)
        yield scrapy.Request(f"{base}/feed/", callback=self.parse_feed,
                             priority=LISTING_PRIORITY)
        yield scrapy.Request(f"{base}/", callback=self.parse_listing, priority=LISTING_PRIORITY)

    def closed_archive(self, spider) -> None:
        if self.extractor is not None:
            self.extractor.close()
        if self.archive is not None:
            self.archive.close()
            self.archive = None

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
            yield scrapy.Request(url, callback=self.parse_sitemap, priority=SITEMAP_PRIORITY,
                                 meta={"handle_httpstatus_list": [404]})

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        if response.status != 200:
            return
        stats = self.crawler.stats
        kind, entries = discovery.parse_sitemap(response.body)
        stats.inc_value(f"kantkg/sitemaps/{kind}")
        if kind == "sitemapindex":
            for entry in entries:
                url = response.urljoin(entry.loc)
                if not site.is_post_sitemap(url):
                    continue
                if not self.date_range.may_hold_changes_since(entry.lastmod):
                    stats.inc_value("kantkg/sitemaps/out_of_range")
                elif not sitemap_may_have_changed(entry.lastmod, self.reference):
                    stats.inc_value("kantkg/sitemaps/unchanged")
                else:
                    self.pending_sitemaps.append(url)
        elif kind == "urlset":
            for entry in entries:
                yield from self._article_request(response.urljoin(entry.loc), "sitemap",
                                                 entry.lastmod)
        # One post sitemap at a time: the next is asked for only once this one's articles
        # are queued, and (lower priority) fetched once they have left the queue.
        if self.pending_sitemaps:
            yield scrapy.Request(self.pending_sitemaps.popleft(), callback=self.parse_sitemap,
                                 priority=SITEMAP_PRIORITY,
                                 meta={"handle_httpstatus_list": [404]})

    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        for url in discovery.feed_links(response.body):
            yield from self._article_request(response.urljoin(url), "feed")

    def parse_listing(self, response: Response) -> Iterator[scrapy.Request]:
        if not isinstance(response, TextResponse):
            return
        listing = discovery.parse_listing(response.text, response.url, self.base_url)
        requests = [r for url in listing.article_urls
                    for r in self._article_request(url, "listing")]
        all_too_old = bool(listing.article_urls) and all(
            self.date_range.is_before(url) for url in listing.article_urls
        )
        yield from requests
        # Pages are newest first: stop at a page that is all too old, and (incremental
        # runs) at one that brings nothing new. A backfill walks on past known pages: the
        # listing is its way to old articles when the site has no sitemaps.
        walk_on = bool(requests) or ((self.bounded or self.full) and bool(listing.article_urls))
        if listing.next_url and walk_on and not all_too_old:
            yield scrapy.Request(listing.next_url, callback=self.parse_listing,
                                 priority=LISTING_PRIORITY)

    def _article_request(self, url: str, source: str,
                         lastmod: str | None = None) -> Iterator[scrapy.Request]:
        stats = self.crawler.stats
        if not discovery.is_site_article(url, self.base_url):
            stats.inc_value("kantkg/links/ignored")
            return
        key = hash(url)
        if not self.date_range.contains_url(url) or key in self.queued:
            return
        state = archive.page_state(self.archive, url)
        decision = decide(state, lastmod, self.full)
        self.queued.add(key)
        if decision is Fetch.KNOWN:
            stats.inc_value("kantkg/skipped/known")
            return
        stats.inc_value(f"kantkg/discovered/{source}")
        stats.inc_value(f"kantkg/fetch/{decision.value}")
        stats.inc_value("kantkg/article_requests")
        headers = conditional_headers(state) if decision is Fetch.CHANGED and not self.full \
            else {}
        yield scrapy.Request(url, callback=self.parse_article, headers=headers,
                             errback=self.article_failed, priority=ARTICLE_PRIORITY,
                             meta={"handle_httpstatus_list": [304]} if headers else {})

    def article_failed(self, failure) -> None:
        """Error statuses (404/410 of vanished articles) and requests dropped without a
        response (redirect loops) leave no stat of their own once a request has an
        errback; count them so the crawls row shows them. (Timeouts and resets are counted
        by Scrapy's downloader stats already.)"""
        if failure.check(HttpError):
            reason = f"http {failure.value.response.status}"
        elif failure.check(IgnoreRequest):
            reason = str(failure.value) or "ignored"
        else:
            return
        self.crawler.stats.inc_value(f"kantkg/failed/{reason}")

    # ------------------------------------------------------------- articles

    async def parse_article(self, response: Response) -> AsyncIterator[dict]:
        stats = self.crawler.stats
        if response.status == 304:
            stats.inc_value("kantkg/not_modified")
            return
        if not isinstance(response, TextResponse) or looks_binary(response.body):
            stats.inc_value("kantkg/skipped/not_html")
            return
        stats.inc_value("kantkg/article_pages")
        header = response.headers.get
        content_type = (header("Content-Type") or b"").decode("latin-1") or None
        declared = charset_from_content_type(content_type)
        item = await self.extractor.extract(response.body, response.url, declared)
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
            content_type=content_type,
            etag=(header("ETag") or b"").decode("latin-1") or None,
            last_modified=(header("Last-Modified") or b"").decode("latin-1") or None,
        )
        yield item
