"""Downloader middleware: honour Retry-After on 429/503 (Scrapy's retry does not).

Thin adapter over kantkg.retry: the whole crawl pauses for the time the site asked for
(capped by KANT_RETRY_AFTER_MAX seconds), then the normal retry logic re-queues the
request. Enabled in kantkg.settings in place of Scrapy's RetryMiddleware.
"""

from __future__ import annotations

import logging

from scrapy.downloadermiddlewares.retry import RetryMiddleware

from kantkg.retry import retry_after_seconds

logger = logging.getLogger(__name__)


class RetryAfterMiddleware(RetryMiddleware):
    def __init__(self, settings, crawler=None):
        super().__init__(settings)
        self.crawler = crawler
        self.max_wait = settings.getfloat("KANT_RETRY_AFTER_MAX", 300.0)
        self._resume_at = 0.0

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings, crawler)

    def process_response(self, request, response, spider=None):
        if response.status in (429, 503) and not request.meta.get("dont_retry"):
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            if wait is not None:
                self._pause(min(wait, self.max_wait), response)
        return super().process_response(request, response)

    def _pause(self, seconds: float, response) -> None:
        # Imported here: importing the reactor at module load would install the default
        # one before Scrapy installs its asyncio reactor.
        from twisted.internet import reactor

        engine = self.crawler.engine if self.crawler else None
        if engine is None or seconds <= 0:
            return
        self.crawler.stats.inc_value("kantkg/retry_after")
        resume_at = reactor.seconds() + seconds
        if resume_at <= self._resume_at:
            return  # already paused at least this long
        logger.warning("%s answered %s with Retry-After: pausing the crawl %.0f s",
                       response.url, response.status, seconds)
        self._resume_at = resume_at
        engine.pause()
        reactor.callLater(seconds, self._resume, resume_at)

    def _resume(self, resume_at: float) -> None:
        if resume_at >= self._resume_at and self.crawler.engine is not None:
            self.crawler.engine.unpause()
