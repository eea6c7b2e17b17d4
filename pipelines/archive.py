"""Adapter: items -> kantkg.archive (upsert by canonical URL), one `crawls` row per run."""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter

from scrapy import signals
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.utils.asyncio import create_looping_call
from scrapy.utils.defer import deferred_from_coro

from kantkg import archive, urls
from kantkg.db import sqlite3  # the archive's SQLite: its errors, not the stdlib's
from kantkg.outcome import crawl_counts, crawl_status, drift_warnings, incompleteness

logger = logging.getLogger(__name__)
PROGRESS_EVERY = 2.0  # seconds between progress lines
COMMIT_EVERY = 1.0  # seconds: the most a crash can lose (those pages are fetched again)


class ArchivePipeline:
    def __init__(self, db_path: str, base_url: str, stats, crawler=None):
        self.db_path = db_path
        self.base_url = base_url.rstrip("/")
        self.stats = stats
        self.crawler = crawler
        self.show_progress = bool(crawler and crawler.settings.getbool("KANT_PROGRESS"))
        self._last_progress = 0.0
        self.db = None
        self.batch: archive.Batch | None = None
        self._committer = None
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
        try:
            self.db = archive.open_archive(self.db_path)
        except (archive.ArchiveError, ValueError) as exc:  # ValueError: a bad KANT_DB_MAX_MB
            # One line; the spider cannot open it either and ends the crawl unstarted.
            logger.error("cannot open the archive %s: %s", self.db_path, exc)
            self.stats.inc_value("kantkg/archive_errors")
            return
        spider = getattr(self.crawler, "spider", None)
        rng = getattr(spider, "date_range", None)
        self.crawl_id = archive.start_crawl(
            self.db, self.base_url,
            since=rng.since_iso if rng else None,
            until=rng.until_iso if rng else None,
            full=bool(getattr(spider, "full", False)))
        self.stats.set_value("kantkg/crawl_id", self.crawl_id)
        self.batch = archive.Batch(self.db, max_seconds=COMMIT_EVERY)
        # Commit on a clock too, so a slow or paused crawl never sits on the write lock.
        self._committer = create_looping_call(self._commit, only_if_due=True)
        self._committer.start(COMMIT_EVERY, now=False)
        logger.info("archiving %s into %s (crawl #%s)", urls.without_credentials(self.base_url),
                    self.db_path, self.crawl_id)

    def process_item(self, item: dict) -> dict:
        if self.batch is None:
            raise DropItem(f"archive not open: {item.get('url')}")
        reason = archive.unarchivable_reason(item)
        if reason:
            self.stats.inc_value("kantkg/dropped")
            self.stats.inc_value(f"kantkg/dropped/{reason}")
            raise DropItem(f"{reason}: {item.get('url')}")
        try:
            self.batch.upsert(item)
        except archive.CommitError as exc:  # the error undid the group: its replay counts
            self._archive_error(exc.error)
            self._count(exc.committed)
            raise DropItem(f"archive error: {item.get('url')}") from None
        except sqlite3.DatabaseError as exc:
            # Disk full, file gone read-only: nothing more can be archived. The article's
            # savepoint rolled back; keep what the batch holds, stop fetching in vain.
            self._archive_error(exc)
            self._commit()
            raise DropItem(f"archive error: {item.get('url')}") from None
        if self.batch.due:
            self._commit()
        self._progress()
        return item

    def _commit(self, only_if_due: bool = False) -> None:
        """Commit the open batch and count its articles (counts are of durable rows)."""
        if self.batch is None or (only_if_due and not self.batch.due):
            return
        try:
            done = self.batch.commit()
        except archive.CommitError as exc:  # what its replay kept is durable all the same
            self._archive_error(exc.error)
            done = exc.committed
        self._count(done)

    def _count(self, done: Counter[str]) -> None:
        for outcome, count in done.items():
            self.stats.inc_value(f"kantkg/articles/{outcome}", count)

    def _archive_error(self, exc: Exception) -> None:
        logger.error("cannot write the archive %s: %s", self.db_path, exc)
        self.stats.inc_value("kantkg/archive_errors")
        if self.crawler is not None and self.crawler.engine is not None and \
                self.crawler.engine.spider is not None:
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="archive_error"))

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
        if self._committer is not None and self._committer.running:
            self._committer.stop()
        if self.db is None:
            return
        self._commit()
        stats = self.stats.get_stats()
        status = crawl_status(stats, reason)
        warnings = drift_warnings(stats)
        for warning in warnings:
            logger.warning("extraction drift: %s", warning)
        holes = incompleteness({**stats, "finish_reason": reason})
        for hole in holes:
            logger.warning("crawl incomplete: %s", hole)
        resolved = spider.resolved_unseen() if hasattr(spider, "resolved_unseen") else set()
        archive.record_unseen(self.db, self.crawl_id, getattr(spider, "failed", {}), resolved)
        archive.finish_crawl(self.db, self.crawl_id, status, reason, crawl_counts(stats), stats,
                             warnings, holes)
        logger.info("crawl #%s %s (%s): %s", self.crawl_id, status, reason, crawl_counts(stats))
        self.db.close()
        self.db = None
