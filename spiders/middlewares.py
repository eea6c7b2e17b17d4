"""Downloader middlewares: requests only to the crawled site; retries that wait --
Retry-After on 429/503 (Scrapy's retry ignores it) and exponential backoff otherwise.

Thin adapter over kantkg.crawl.retry: the whole crawl pauses for the time the site asked for
(capped by KANT_RETRY_AFTER_MAX seconds), then the normal retry logic re-queues the
request. Enabled in kantkg.settings in place of Scrapy's RetryMiddleware.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import deferred_from_coro

from kantkg import urls
from kantkg.crawl import stats as keys
from kantkg.crawl.outcome import UNREACHABLE
from kantkg.crawl.retry import retry_after_seconds

logger = logging.getLogger(__name__)
RECENT = 20  # answers over which "is the site struggling?" is judged


class RetryAfterMiddleware(RetryMiddleware):
    """Retry as Scrapy does, but wait first: as long as Retry-After asks, else an
    exponential backoff (KANT_BACKOFF_BASE doubling per consecutive failure, at most
    KANT_BACKOFF_MAX). The crawl has one site: when it struggles, all of it waits."""

    def __init__(self, settings, crawler=None):
        super().__init__(settings)
        self.crawler = crawler
        self.max_wait, self.backoff_base, self.backoff_max, self.give_up_after = 300.0, 1.0, 60.0, 8
        try:
            self.max_wait = settings.getfloat("KANT_RETRY_AFTER_MAX", 300.0)
            self.backoff_base = settings.getfloat("KANT_BACKOFF_BASE", 1.0)
            self.backoff_max = settings.getfloat("KANT_BACKOFF_MAX", 60.0)
            self.give_up_after = settings.getint("KANT_GIVE_UP_AFTER", 8)
        except ValueError:  # CrawlLog stops the crawl before it starts, naming the setting
            pass
        self.failures_in_a_row = 0
        self.any_success = False
        self.recent: deque[bool] = deque(maxlen=RECENT)  # the last answers: True = fine
        self._resume_at = 0.0

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings, crawler)

    def process_response(self, request, response, spider=None):
        retryable = response.status in self.retry_http_codes and not request.meta.get("dont_retry")
        self.recent.append(not retryable)
        if not retryable:
            self.failures_in_a_row = 0
            self.any_success = True
            return super().process_response(request, response)
        self.failures_in_a_row += 1
        if self._site_is_down():
            return super().process_response(request, response)
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        if wait is not None:
            self._pause(
                min(wait, self.max_wait),
                f"{response.url} answered {response.status} with Retry-After",
                keys.RETRY_AFTER,
            )
        else:
            self._backoff(f"{response.url} answered {response.status}")
        return super().process_response(request, response)

    def process_exception(self, request, exception, spider=None):
        if isinstance(exception, self.exceptions_to_retry) and not request.meta.get("dont_retry"):
            self.failures_in_a_row += 1
            self.recent.append(False)
            mostly_fine = self.recent.count(False) * 2 < len(self.recent)
            if mostly_fine and "Timeout" in type(exception).__name__:
                # One page too slow while the site answers (a page trickling a byte a
                # second): one more try, and the rest of the crawl does not wait for it.
                # (Most recent requests failing is the site struggling: back off.)
                request.meta.setdefault("max_retry_times", min(1, self.max_retry_times))
            elif not self._site_is_down():
                self._backoff(f"{request.url} failed ({type(exception).__name__})")
        return super().process_exception(request, exception)

    def _site_is_down(self) -> bool:
        """Nothing has worked yet and failure follows failure: stop instead of backing off
        for minutes -- cron wants the "unreachable" exit code, not a long wait."""
        if self.any_success or self.failures_in_a_row < self.give_up_after:
            return False
        engine = self.crawler.engine if self.crawler else None
        if engine is not None and not getattr(self, "_closing", False):
            self._closing = True
            logger.info(
                "site unreachable: %d failures in a row and no response yet", self.failures_in_a_row
            )
            deferred_from_coro(engine.close_spider_async(reason=UNREACHABLE))
        return True

    def _backoff(self, why: str) -> None:
        wait = min(self.backoff_base * 2 ** (self.failures_in_a_row - 1), self.backoff_max)
        self._pause(wait, why, keys.BACKOFF, level=logging.INFO)

    def _pause(self, seconds: float, why: str, stat: str, level: int = logging.WARNING) -> None:
        # Imported here: importing the reactor at module load would install the default
        # one before Scrapy installs its asyncio reactor.
        from twisted.internet import reactor as installed

        reactor: Any = installed  # (an IReactorTime; zope interfaces escape mypy)
        engine = self.crawler.engine if self.crawler else None
        if engine is None or seconds <= 0:
            return
        self.crawler.stats.inc_value(stat)
        resume_at = reactor.seconds() + seconds
        if resume_at <= self._resume_at:
            return  # already paused at least this long
        logger.log(level, "%s: pausing the crawl %.1f s", why, seconds)
        self._resume_at = resume_at
        engine.pause()
        reactor.callLater(seconds, self._resume, resume_at)

    def _resume(self, resume_at: float) -> None:
        if resume_at >= self._resume_at and self.crawler.engine is not None:
            self.crawler.engine.unpause()


class SameSiteMiddleware:
    """Drop any request that is not http(s) on the crawled site's host and port:
    Scrapy's offsite filter compares host names only, so a redirect to the same host on
    another port was followed and archived. Credentials in KANT_BASE_URL become an
    Authorization header on the site's requests only (never part of a URL or a log)."""

    def __init__(self, base_url: str, stats) -> None:
        self.base_url = urls.without_credentials(base_url)
        self.authorization = urls.basic_auth(base_url)
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.get("KANT_BASE_URL"), crawler.stats)

    def process_request(self, request, spider=None):
        if not urls.is_fetchable(request.url, self.base_url):
            self.stats.inc_value(keys.REFUSED_NOT_ON_SITE)
            raise IgnoreRequest(f"not on the crawled site: {urls.without_credentials(request.url)}")
        if (
            self.authorization
            and b"Authorization" not in request.headers
            and urls.same_origin(request.url, self.base_url)
        ):
            request.headers["Authorization"] = self.authorization
        return None


class CallbackErrorMiddleware:
    """A spider callback that raises (a bug, or a page no rule foresaw) would drop the
    page, and with a sitemap every sitemap after it, leaving only a log line: hand the
    failure to the spider, which records the page as unseen and goes on."""

    def __init__(self, crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_spider_exception(self, response, exception, spider=None):
        if isinstance(exception, IgnoreRequest):  # HttpError and the like: errbacks' work
            return None
        handler = getattr(self.crawler.spider, "callback_failed", None)
        return None if handler is None else handler(response, exception)
