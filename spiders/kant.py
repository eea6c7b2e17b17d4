"""The `kant` spider: thin adapter between Scrapy and kantkg.crawl.discovery / kantkg.extract.

Discovery: robots.txt -> sitemaps (index -> post sitemaps), the RSS feed, and the
front page with its /page/N/ pagination. Only article permalinks of the crawled site
are requested; each article page yields one raw item for the pipelines.

Incremental by default (kantkg.crawl.incremental): an archived URL is requested again only
when a sitemap lists a later modification, and then conditionally (304 if unchanged);
sub-sitemaps unchanged since the last complete crawl are not fetched; pagination stops
at a page with nothing new. `-s KANT_FULL=1` (or `-a full=1`) fetches everything.

Nothing unseen is forgotten: a sitemap, listing or article that got no usable answer
(5xx after retries, 403, a timeout...) is counted as `kantkg/unseen/<kind>/<reason>`
(kantkg.crawl.outcome: the crawl is then "incomplete", exit 10), remembered in the archive's
`unseen` table, and asked for first by the next run. Every crawl ends: sitemap and
listing URLs are fetched once each, pagination stops at a cycle, at a page without new
article links and at KANT_MAX_LISTING_PAGES; CLOSESPIDER_TIMEOUT bounds the whole run.

    scrapy crawl kant [-a since=YYYY-MM-DD] [-a until=YYYY-MM-DD] [-s KANT_BASE_URL=...]
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ProcessPoolExecutor
from http import HTTPStatus
from urllib.parse import urlsplit

import scrapy
import sqlite_utils
from scrapy import signals
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.asyncio import is_asyncio_available

from kantkg import __version__, archive, clock, site, urls
from kantkg.crawl import discovery, workers
from kantkg.crawl import stats as keys
from kantkg.crawl.incremental import Fetch, conditional_headers, decide, sitemap_may_have_changed
from kantkg.crawl.outcome import DRIFT_FIELDS, GONE_STATUSES
from kantkg.extract import extract_raw
from kantkg.extract.encoding import charset_from_content_type, looks_binary
from kantkg.items import ArticleItem, Capture
from spiders.extensions import CrawlLog

# No log line of the crawl carries a password given in a URL (`https://user:pw@...`), not
# even Scrapy's own "Overridden settings".
urls.redact_credentials_in_logs()

# Articles before listings before sitemaps: the queue drains one sitemap's articles
# before the next sitemap adds more, so memory stays flat on a 50,000-article backfill.
ARTICLE_PRIORITY, LISTING_PRIORITY, SITEMAP_PRIORITY = 20, 10, 0


class KantSpider(scrapy.Spider):
    name = "kant"

    def __init__(
        self, since: str | None = None, until: str | None = None, full: str | None = None, **kwargs
    ):
        super().__init__(**kwargs)
        # BadRange propagates: Scrapy prints it and the crawl never starts.
        self.date_range = discovery.DateRange.from_args(since, until)
        self.full = str(full or "").lower() in ("1", "true", "yes")
        self.base_url = ""
        self.crawl_log: CrawlLog | None = None  # its archive connection is the spider's
        self.reference: str | None = None
        # hash(url) of every article URL queued or skipped this run: ints, not strings,
        # so a long backfill keeps a third of the memory here.
        self.queued: set[int] = set()
        self.pending_sitemaps: deque[str] = deque()
        # Discovery pages asked for this run, by kind: each is fetched once (a sitemap
        # index listing itself, a pagination cycle), and at most `caps[kind]` of them.
        self.requested: dict[str, set[str]] = {"sitemap": set(), "listing": set()}
        self.caps = {"sitemap": 1000, "listing": 5000}
        # hash(article URL) of every link seen on listing pages: a backfill walks on only
        # while pages bring links it has not seen (an endless /page/N/ repeats them).
        self.listed: set[int] = set()
        # What this run could not see (url -> (kind, reason)), and what earlier runs could
        # not see (`unseen` table) that this one did: the archive pipeline records both.
        self.failed: dict[str, tuple[str, str]] = {}
        # hash(url) of the articles this run found that the archive does not hold yet.
        self.new_this_run: set[int] = set()
        self.pool: ProcessPoolExecutor | None = None
        self.index_read = False  # a sitemap index was read whole this run
        self.retrying: dict[str, int] = {}  # url -> runs that failed to see it
        self.retrying_sitemaps: set[str] = set()
        self.seen_again: set[str] = set()

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
        # Credentials in the base URL are the SameSiteMiddleware's to send, not the URLs'.
        spider.base_url = urls.without_credentials(crawler.settings.get("KANT_BASE_URL"))
        spider.base_url = spider.base_url.rstrip("/")
        try:
            spider.full = spider.full or crawler.settings.getbool("KANT_FULL")
            spider.caps = {
                "sitemap": crawler.settings.getint("KANT_MAX_SITEMAPS", 1000),
                "listing": crawler.settings.getint("KANT_MAX_LISTING_PAGES", 5000),
            }
        except ValueError:  # CrawlLog stops the crawl before it starts, naming the setting
            pass
        host = urlsplit(spider.base_url).hostname or ""
        spider.allowed_domains = [host.removeprefix("www.")]
        crawler.signals.connect(spider.closed_pool, signal=signals.spider_closed)
        crawler.signals.connect(spider.item_failed, signal=signals.item_error)
        return spider

    @property
    def db(self) -> sqlite_utils.Database:
        """The crawl log's archive connection, open while the crawl runs."""
        if self.crawl_log is None or self.crawl_log.db is None:
            raise RuntimeError("the archive is not open")
        return self.crawl_log.db

    @property
    def bounded(self) -> bool:
        return bool(self.date_range.since or self.date_range.until)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        # The crawl log opened the archive (or closed the crawl before this started).
        log = self.crawler.get_extension(CrawlLog)
        if log is None or log.db is None:
            raise RuntimeError("the kant spider needs spiders.extensions.CrawlLog")
        self.crawl_log = log
        # Awaited through asyncio: without Scrapy's asyncio reactor, extract inline.
        self.pool = workers.extraction_pool() if is_asyncio_available() else None
        if not (self.full or self.bounded):
            self.reference = archive.last_complete_crawl_start(self.db, self.base_url)
        base = self.base_url
        yield scrapy.Request(
            f"{base}/robots.txt",
            callback=self.parse_robots,
            errback=self.robots_failed,
            priority=SITEMAP_PRIORITY,
            meta={"handle_httpstatus_list": [404], "kantkg_kind": "robots"},
        )
        for request in self._retry_unseen():
            yield request
        for request in self._listing_request(f"{base}/feed/", self.parse_feed):
            yield request
        for request in self._listing_request(f"{base}/", self.parse_listing):
            yield request

    def _retry_unseen(self) -> Iterator[scrapy.Request]:
        """What earlier runs could not see, asked for again first. A sitemap is asked for
        when its index lists it, then even if its lastmod says "unchanged"."""
        for url, kind, attempts in archive.unseen_urls(self.db, self.base_url):
            self.retrying[url] = attempts
            if kind == "sitemap":
                self.retrying_sitemaps.add(url)
                continue
            self.crawler.stats.inc_value(keys.retry_unseen(kind))
            if kind == "listing":
                feed = url.rstrip("/").endswith("/feed")
                yield from self._listing_request(
                    url, self.parse_feed if feed else self.parse_listing
                )
            else:
                yield from self._article_request(url, "retry", retry=True)

    async def _extract(self, body: bytes, url: str, declared: str | None) -> ArticleItem | None:
        """extract_raw in the pool's process while the crawl's own loop goes on fetching
        and archiving; inline when there is no pool (no asyncio reactor)."""
        if self.pool is None:
            return extract_raw(body, url, declared)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, extract_raw, body, url, declared)

    def closed_pool(self, spider) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None

    # ------------------------------------------------------------ discovery

    def parse_robots(self, response: Response) -> Iterator[scrapy.Request]:
        text = response.text if isinstance(response, TextResponse) else ""
        sitemaps = (
            discovery.sitemaps_from_robots(text, self.base_url) if response.status == 200 else []
        )
        yield from self._sitemap_requests(sitemaps)

    def robots_failed(self, failure) -> Iterator[scrapy.Request]:
        yield from self._sitemap_requests([])

    def _sitemap_requests(self, sitemaps: list[str]) -> Iterator[scrapy.Request]:
        fallback = not sitemaps
        if fallback:
            self.crawler.stats.inc_value(keys.SITEMAPS_FALLBACK)
            sitemaps = [self.base_url + path for path in discovery.FALLBACK_SITEMAPS]
        for url in sitemaps:
            yield from self._sitemap_request(url, fallback=fallback)

    def _sitemap_request(self, url: str, fallback: bool = False) -> Iterator[scrapy.Request]:
        # A guessed (fallback) location that does not exist is no hole in the crawl.
        meta = {"handle_httpstatus_list": [404], "kantkg_fallback": True} if fallback else {}
        yield from self._discovery_request(
            url, "sitemap", self.parse_sitemap, SITEMAP_PRIORITY, meta
        )

    def _listing_request(self, url: str, callback) -> Iterator[scrapy.Request]:
        yield from self._discovery_request(url, "listing", callback, LISTING_PRIORITY, {})

    def _discovery_request(
        self, url: str, kind: str, callback, priority: int, meta: dict
    ) -> Iterator[scrapy.Request]:
        """A sitemap or listing page: only http(s) of the crawled site, each URL once, at
        most caps[kind] a run; failures go to discovery_failed."""
        stats = self.crawler.stats
        url = url.split("#", 1)[0]
        if not urls.is_fetchable(url, self.base_url):
            stats.inc_value(keys.refused(kind))
            self.logger.warning(
                "not fetching the %s %s: not an http(s) URL of %s",
                kind,
                urls.without_credentials(url)[:200],
                self.base_url,
            )
            return
        requested = self.requested[kind]
        if url in requested:
            stats.inc_value(keys.repeated(kind))
            return
        if len(requested) >= self.caps[kind]:
            stats.inc_value(keys.capped(f"{kind}s"))
            return
        requested.add(url)
        yield scrapy.Request(
            url,
            callback=callback,
            errback=self.discovery_failed,
            priority=priority,
            meta={**meta, "kantkg_kind": kind, "kantkg_url": url},
        )

    def discovery_failed(self, failure) -> Iterator[scrapy.Request]:
        """A sitemap or listing page with no usable answer: the crawl has not seen what it
        lists. Recorded; the sitemap chain goes on with the next one."""
        meta = failure.request.meta
        url, kind = meta.get("kantkg_url", failure.request.url), meta["kantkg_kind"]
        gone = failure.check(HttpError) and failure.value.response.status in GONE_STATUSES
        if gone and kind == "listing":  # no feed, or a page dropped from the listing
            self.crawler.stats.inc_value(keys.failed(failure_reason(failure)))
            self._saw(url)
        else:
            self._unseen(url, kind, failure_reason(failure))
        if kind == "sitemap":
            yield from self._next_sitemap()

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        stats = self.crawler.stats
        url = response.meta.get("kantkg_url", response.url)
        if response.status != 200:  # 404: only guessed locations get here
            yield from self._next_sitemap()
            return
        max_bytes = self.settings.getint("DOWNLOAD_MAXSIZE") or discovery.SITEMAP_MAX_BYTES
        kind, entries, whole = discovery.parse_sitemap(response.body, max_bytes)
        stats.inc_value(keys.sitemaps(kind))
        if kind == "invalid" and response.meta.get("kantkg_fallback"):
            pass  # a guessed location answered with something else (a soft 404)
        elif kind in ("invalid", "too-large") or not whole:
            self._unseen(url, "sitemap", kind if whole else "truncated")
        else:
            self._saw(url)
            self.index_read |= kind == "sitemapindex"
        if kind == "sitemapindex":
            for entry in entries:
                child = urls.join(response.url, entry.loc)
                if not child or not site.is_post_sitemap(child):
                    continue
                if not self.date_range.may_hold_changes_since(entry.lastmod):
                    stats.inc_value(keys.SITEMAPS_OUT_OF_RANGE)
                elif child not in self.retrying and not sitemap_may_have_changed(
                    entry.lastmod, self.reference
                ):
                    stats.inc_value(keys.SITEMAPS_UNCHANGED)
                else:
                    self.pending_sitemaps.append(child)
        elif kind == "urlset":
            for entry in entries:
                yield from self._article_request(
                    urls.join(response.url, entry.loc), "sitemap", entry.lastmod
                )
        yield from self._next_sitemap()

    def _next_sitemap(self) -> Iterator[scrapy.Request]:
        """One post sitemap at a time: the next is asked for only once this one's articles
        are queued, and (lower priority) fetched once they have left the queue."""
        while self.pending_sitemaps:
            requests = list(self._sitemap_request(self.pending_sitemaps.popleft()))
            if requests:
                yield from requests
                return

    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        self._saw(response.meta.get("kantkg_url", response.url))
        for url in discovery.feed_links(response.body):
            yield from self._article_request(urls.join(response.url, url), "feed")

    def parse_listing(self, response: Response) -> Iterator[scrapy.Request]:
        self._saw(response.meta.get("kantkg_url", response.url))
        if not isinstance(response, TextResponse):
            return
        listing = discovery.parse_listing(response.text, response.url, self.base_url)
        requests = [
            r for url in listing.article_urls for r in self._article_request(url, "listing")
        ]
        all_too_old = bool(listing.article_urls) and all(
            self.date_range.is_before(url) for url in listing.article_urls
        )
        spelled = [urls.article_url(url, self.base_url) for url in listing.article_urls]
        keys = set(map(hash, spelled))
        unlisted = bool(keys - self.listed)
        self.listed |= keys
        unarchived = any(hash(url) in self.new_this_run for url in spelled)
        yield from requests
        # Pages are newest first: stop at a page that is all too old, and (incremental
        # runs) at one that holds no article new to the archive (new ones that the feed
        # queued count: that stopped a sitemap-less first crawl at page 1). A backfill
        # walks on past known pages: the listing is its way to old articles when the
        # site has no sitemaps. Never past a page whose links all appeared on earlier
        # pages (an endless /page/N/).
        walk_on = unlisted and (bool(requests) or unarchived or self.bounded or self.full)
        if listing.next_url and walk_on and not all_too_old:
            yield from self._listing_request(listing.next_url, self.parse_listing)

    def _article_request(
        self, url: str | None, source: str, lastmod: str | None = None, retry: bool = False
    ) -> Iterator[scrapy.Request]:
        """A request for an article permalink of the site, in its one spelling
        (kantkg.urls.article_url), once a run; retry: an article an earlier run missed."""
        stats = self.crawler.stats
        if not (url and urls.is_fetchable(url, self.base_url)):
            stats.inc_value(keys.LINKS_IGNORED)
            return
        url = urls.article_url(url, self.base_url)
        if not site.is_article_url(url):
            stats.inc_value(keys.LINKS_IGNORED)
            return
        key = hash(url)
        if not self.date_range.contains_url(url) or key in self.queued:
            return
        state = archive.page_state(self.db, url)
        decision = decide(state, lastmod, self.full or retry)
        if decision is Fetch.NEW:
            self.new_this_run.add(key)
        self.queued.add(key)
        if decision is Fetch.KNOWN:
            stats.inc_value(keys.SKIPPED_KNOWN)
            return
        stats.inc_value(keys.discovered(source))
        stats.inc_value(keys.fetch(decision.value))
        stats.inc_value(keys.ARTICLE_REQUESTS)
        headers = conditional_headers(state) if decision is Fetch.CHANGED and not self.full else {}
        meta: dict = {"kantkg_url": url}
        if headers:
            meta["handle_httpstatus_list"] = [304]
        yield scrapy.Request(
            url,
            callback=self.parse_article,
            headers=headers,
            errback=self.article_failed,
            priority=ARTICLE_PRIORITY,
            meta=meta,
        )

    def article_failed(self, failure) -> None:
        """An article with no usable answer. Gone (404/410): counted as failed, asked for
        again by the next GONE_RETRIES - 1 runs. Too large, or refused by our own rules
        (robots.txt, a redirect off the site, a redirect loop): failed, done with.
        Anything else -- a 5xx after retries, 403, a timeout, a reset -- leaves a hole:
        unseen, asked for again by the next run (a hole of each run for UNSEEN_RETRIES
        runs, then a recorded failure still retried)."""
        self.crawler.stats.inc_value(keys.ARTICLES_ANSWERED)
        url = failure.request.meta.get("kantkg_url", failure.request.url)
        reason = failure_reason(failure)
        status = failure.value.response.status if failure.check(HttpError) else None
        runs = self.retrying.get(url, 0) + 1
        if status in GONE_STATUSES and runs < GONE_RETRIES:
            # Gone, or a passing 404 (a permalink flush): asked again by the next runs.
            self.crawler.stats.inc_value(keys.failed(reason))
            self.failed[url] = ("article", reason)
        elif (
            status in GONE_STATUSES
            or reason == TOO_LARGE
            or (status is None and failure.check(IgnoreRequest))
        ):
            self.crawler.stats.inc_value(keys.failed(reason))
            self._saw(url)
        elif runs >= UNSEEN_RETRIES:
            # Failed on every run for days: still asked for, no longer a hole of each run.
            self.crawler.stats.inc_value(keys.failed(f"{reason} ({runs} runs)"))
            self.failed[url] = ("article", reason)
        else:
            self._unseen(url, "article", reason)

    def callback_failed(
        self,
        response: Response,
        exception: Exception,
    ) -> Iterator[scrapy.Request]:
        """Our own code raised on a page (spiders.middlewares.CallbackErrorMiddleware): the
        page is a hole like any other, retried by the next run; the crawl goes on."""
        kind = response.meta.get("kantkg_kind", "article")
        url = response.meta.get("kantkg_url", response.url)
        self.logger.error(
            "reading %s failed: %s: %s",
            url,
            type(exception).__name__,
            exception,
            exc_info=exception,
        )
        self._unseen(
            url, "sitemap" if kind == "robots" else kind, f"{type(exception).__name__} (ours)"
        )
        if kind == "robots":
            yield from self._sitemap_requests([])
        elif kind == "sitemap":
            yield from self._next_sitemap()

    def item_failed(self, item, response, spider, failure) -> None:
        """An item pipeline raised: the article is not archived; a hole, retried."""
        url = (response.meta.get("kantkg_url") if response is not None else None) or item.get(
            "url", "?"
        )
        self._unseen(url, "article", f"{failure.type.__name__} (ours, archiving)")

    def _unseen(self, url: str, kind: str, reason: str) -> None:
        self.crawler.stats.inc_value(keys.unseen(kind, reason))
        self.failed[url] = (kind, reason)
        self.logger.warning("could not see the %s %s: %s", kind, url, reason)

    def _saw(self, url: str) -> None:
        if url in self.retrying:
            self.seen_again.add(url)

    def resolved_unseen(self) -> set[str]:
        """What earlier runs missed that this one saw, and sitemaps no index read whole
        this run lists any more."""
        if not self.index_read:
            return self.seen_again
        return self.seen_again | (self.retrying_sitemaps - self.requested["sitemap"])

    # ------------------------------------------------------------- articles

    async def parse_article(self, response: Response) -> AsyncIterator[ArticleItem]:
        stats = self.crawler.stats
        stats.inc_value(keys.ARTICLES_ANSWERED)
        self._saw(response.meta.get("kantkg_url", response.url))
        if response.status == 304:
            stats.inc_value(keys.NOT_MODIFIED)
            if self.crawl_log is not None:
                url = urls.article_url(response.url, self.base_url)
                self.crawl_log.record_capture(self._capture(response), url)
            return
        if not isinstance(response, TextResponse) or looks_binary(response.body):
            stats.inc_value(keys.SKIPPED_NOT_HTML)
            return
        stats.inc_value(keys.ARTICLE_PAGES)
        header = response.headers.get
        content_type = (header("Content-Type") or b"").decode("latin-1") or None
        declared = charset_from_content_type(content_type)
        url = urls.article_url(response.url, self.base_url)
        item = await self._extract(response.body, url, declared)
        if item is None:
            stats.inc_value(keys.SKIPPED_NOT_ARTICLE)
            self.logger.info("not an article page: %s", response.url)
            return
        stats.inc_value(keys.EXTRACTED)
        for field in DRIFT_FIELDS + ("author", "section"):
            stats.inc_value(keys.layer(field, item["method"].get(field, "none")))
        item["capture"] = self._capture(response)  # kept as received
        yield item

    def _capture(self, response: Response) -> Capture:
        """The exchange as received (Scrapy has undone gzip and dropped its header)."""
        redirected = response.meta.get("redirect_urls") or []
        crawl_id = self.crawl_log.crawl_id if self.crawl_log is not None else None
        return Capture(
            target_url=response.url,
            requested_url=redirected[0] if redirected else None,
            fetched_at=clock.now_iso(),
            status=response.status,
            reason=_reason(response.status),
            http_version=getattr(response, "protocol", None) or "HTTP/1.1",
            headers=_header_pairs(response.headers),
            request_headers=_header_pairs(response.request.headers) if response.request else [],
            body=response.body if response.status != 304 else None,
            source=f"crawl {crawl_id}" if crawl_id is not None else "crawl",
        )


def _header_pairs(headers) -> list[tuple[str, str]]:
    """Scrapy's Headers (bytes, values grouped by name) as (name, value) text pairs."""
    return [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, values in headers.items()
        for value in values
    ]


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


TOO_LARGE = "larger than DOWNLOAD_MAXSIZE"
# A 404/410 article is asked for again by this many runs in all (a passing 404 while the
# site rebuilds its permalinks is no reason to lose the article for good).
GONE_RETRIES = 3
# An article that failed this many runs in a row is still asked for, but no longer makes
# every run "incomplete" (its failure stays in crawls.failures and the unseen table).
UNSEEN_RETRIES = 6


def failure_reason(failure) -> str:
    """A request's failure in a few words: "http 503", "DownloadTimeoutError", or the
    reason a request was dropped ("max redirections reached", "Forbidden by robots.txt")."""
    if failure.check(HttpError):
        return f"http {failure.value.response.status}"
    if failure.check(IgnoreRequest):
        return str(failure.value) or "ignored"
    if failure.check(DownloadCancelledError) and "max size" in str(failure.value):
        return TOO_LARGE  # the page's own size, not a passing failure
    return failure.type.__name__
