"""Adapter: items -> kantkg.archive (upsert by canonical URL), one `crawls` row per run."""

from __future__ import annotations

import logging

from scrapy import signals
from scrapy.exceptions import DropItem, NotConfigured

from kantkg import archive
from kantkg.outcome import crawl_counts, crawl_status, drift_warnings

logger = logging.getLogger(__name__)


class ArchivePipeline:
    def __init__(self, db_path: str, base_url: str, stats, crawler=None):
        self.db_path = db_path
        self.base_url = base_url.rstrip("/")
        self.stats = stats
        self.crawler = crawler
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
            since=rng.since.isoformat() if rng and rng.since else None,
            until=rng.until.isoformat() if rng and rng.until else None,
            full=bool(getattr(spider, "full", False)))
        self.stats.set_value("kantkg/crawl_id", self.crawl_id)
        logger.info("archiving into %s (crawl #%s)", self.db_path, self.crawl_id)

    def process_item(self, item: dict) -> dict:
        reason = archive.unarchivable_reason(item)
        if reason:
            self.stats.inc_value("kantkg/dropped")
            self.stats.inc_value(f"kantkg/dropped/{reason}")
            raise DropItem(f"{reason}: {item.get('url')}")
        outcome = archive.upsert_article(self.db, item)
        self.stats.inc_value(f"kantkg/articles/{outcome}")
        return item

    def spider_closed(self, spider, reason: str) -> None:
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
