"""Adapter: items -> kantkg.archive, through the crawl's batch (spiders.extensions.CrawlLog
owns the connection, the `crawls` row and the commit clock; this only archives)."""

from __future__ import annotations

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from kantkg import archive
from kantkg.archive.sqlite import sqlite3  # the archive's SQLite: its errors, not the stdlib's
from kantkg.crawl import stats as keys
from kantkg.items import ArticleItem
from spiders.extensions import CrawlLog


class ArchivePipeline:
    def __init__(self, log: CrawlLog) -> None:
        self.log = log
        self.stats = log.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        log = crawler.get_extension(CrawlLog)
        if log is None:
            raise RuntimeError("the archive pipeline needs spiders.extensions.CrawlLog")
        return cls(log)

    def process_item(self, item: ArticleItem) -> ArticleItem:
        batch = self.log.batch
        if batch is None:
            raise DropItem(f"archive not open: {item.get('url')}")
        reason = archive.unarchivable_reason(item)
        if reason:
            self.stats.inc_value(keys.DROPPED)
            self.stats.inc_value(keys.dropped(reason))
            raise DropItem(f"{reason}: {item.get('url')}")
        try:
            batch.upsert(item)
        except archive.CommitError as exc:  # the error undid the group: its replay counts
            self.log.archive_error(exc.error)
            self.log.count(exc.committed)
            raise DropItem(f"archive error: {item.get('url')}") from None
        except sqlite3.DatabaseError as exc:
            # Disk full, file gone read-only: the article's savepoint rolled back; keep
            # what the batch holds, stop fetching in vain.
            self.log.archive_error(exc)
            self.log.commit()
            raise DropItem(f"archive error: {item.get('url')}") from None
        if batch.due:
            self.log.commit()
        return item
