"""Adapter: items -> kantkg.archive (upsert by canonical URL), one `crawls` row per run."""

from __future__ import annotations

import logging
import sqlite3
import sys
import time

from scrapy import signals
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.utils.defer import deferred_from_coro

from kantkg import archive
from kantkg.outcome import crawl_counts, crawl_status, drift_warnings

logger = logging.getLogger(__name__)
PROGRESS_EVERY = 2.0  # seconds between progress lines


class ArchivePipeline:
    def __init__(self, db_path: str, base_url: str, stats, crawler=None):
        self.db_path = db_path
        self.base_url = base_url.rstrip("/")
        self.stats = stats
        self.crawler = crawler
        self.show_progress = bool(crawler and crawler.settings.getbool("KANT_PROGRESS"))
        self._last_progress = 0.0
        self.db = None
        self.crawl_id: int | None = None

    @classmethod
    def from_crawler(cls, crawler):
        db_path = crawler.settings.get("KANT_DB")
        if not db_path:
            raise NotConfigured("KANT_DB is empty")
        pipeline = cls(db_path, crawler.settings.get("KANT_BASE_URL"), crawler.stats, crawler)
        # spider_closed, not close_spider: by then CoreStats has set finish_reason.
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        self.db = archive.open_archive(self.db_path)
        spider = getattr(self.crawler, "spider", None)
        rng = getattr(spider, "date_range", None)
        self.crawl_id = archive.start_crawl(
            self.db, self.base_url,
            since=rng.since_iso if rng else None,
            until=rng.until_iso if rng else None,
            full=bool(getattr(spider, "full", False)))
        self.stats.set_value("kantkg/crawl_id", self.crawl_id)
        logger.info("archiving into %s (crawl #%s)", self.db_path, self.crawl_id)

    def process_item(self, item: dict) -> dict:
        reason = archive.unarchivable_reason(item)
        if reason:
            self.stats.inc_value("kantkg/dropped")
            self.stats.inc_value(f"kantkg/dropped/{reason}")
            raise DropItem(f"{reason}: {item.get('url')}")
        try:
            outcome = archive.upsert_article(self.db, item)
        except sqlite3.DatabaseError as exc:
            # Disk full, file gone read-only: nothing more can be archived. The article's
            # transaction rolled back; stop the crawl instead of fetching in vain.
            logger.error("cannot write the archive %s: %s", self.db_path, exc)
            self.stats.inc_value("kantkg/archive_errors")
            if self.crawler is not None and self.crawler.engine is not None:
                deferred_from_coro(self.crawler.engine.close_spider_async(reason="archive_error"))
            raise DropItem(f"archive error: {item.get('url')}") from None
        self.stats.inc_value(f"kantkg/articles/{outcome}")
        self._progress()
        return item

    def _progress(self) -> None:
        """A one-line progress display for interactive `kantkg crawl` runs."""
        if not self.show_progress or time.monotonic() - self._last_progress < PROGRESS_EVERY:
            return
        self._last_progress = time.monotonic()
        get = self.stats.get_value
        sys.stderr.write(f"\rkantkg: {get('kantkg/articles/new', 0)} new, "
                         f"{get('kantkg/articles/updated', 0)} updated, "
                         f"{get('downloader/request_count', 0)} requests ")
        sys.stderr.flush()

    def spider_closed(self, spider, reason: str) -> None:
        if self.show_progress and self._last_progress:
            sys.stderr.write("\n")
        if self.db is None:
            return
        stats = self.stats.get_stats()
        status = crawl_status(stats, reason)
        warnings = drift_warnings(stats)
        for warning in warnings:
            logger.warning("extraction drift: %s", warning)
        archive.finish_crawl(self.db, self.crawl_id, status, reason, crawl_counts(stats), stats,
                             warnings)
        logger.info("crawl #%s %s (%s): %s", self.crawl_id, status, reason, crawl_counts(stats))
        self.db.close()
        self.db = None
