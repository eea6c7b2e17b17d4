"""The crawl's bookkeeping as a Scrapy extension: everything around the archiving itself.

One `CrawlLog` per crawl, `scrapy crawl kant` and `kantkg crawl` alike: it takes the
archive's lock (one crawl at a time), opens the archive (one connection: the spider reads
what it knows, the archive pipeline writes through `batch`), opens the run's `crawls`
row, commits the batch on a clock, shows progress, and at the end judges the run from its
own stats (kantkg.crawl.outcome: status, drift, holes), records what it could not see
and closes the row. The judging and writing are plain functions in kantkg/.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider
from scrapy.spiders import Spider
from scrapy.utils.asyncio import create_looping_call
from scrapy.utils.defer import deferred_from_coro

from kantkg import archive, urls
from kantkg import settings as kant_settings
from kantkg.archive.sqlite import sqlite3
from kantkg.crawl import outcome
from kantkg.crawl import stats as keys
from kantkg.crawl.lock import CrawlLock, LockHeld
from kantkg.items import Capture

if TYPE_CHECKING:
    import sqlite_utils
    from scrapy.utils.asyncio import AsyncioLoopingCall
    from twisted.internet.task import LoopingCall

logger = logging.getLogger(__name__)
COMMIT_EVERY = 1.0  # seconds: the most a crash can lose (those pages are fetched again)


class CrawlLog:
    def __init__(self, crawler: Crawler, db_path: str, base_url: str) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.db_path = db_path
        self.base_url = base_url.rstrip("/")
        # What no KANT_* setting can be is said in spider_opened, which stops the crawl.
        self.problems = kant_settings.setting_problems(
            {name: crawler.settings.get(name) for name in kant_settings.kant_settings()}
        )
        self.show_progress, self.max_error_rate = False, 0.2
        if not self.problems:
            self.show_progress = crawler.settings.getbool("KANT_PROGRESS")
            self.max_error_rate = crawler.settings.getfloat("KANT_MAX_ERROR_RATE", 0.2)
        self.lock = CrawlLock(db_path)
        self.locked = False
        self.db: sqlite_utils.Database | None = None
        self.batch: archive.Batch | None = None
        self.crawl_id: int | None = None
        self._clock: AsyncioLoopingCall | LoopingCall | None = None
        self._bar: Any = None  # a tqdm bar, while KANT_PROGRESS shows one

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlLog:
        # (an empty KANT_DB is one of the problems spider_opened stops the crawl for)
        log = cls(
            crawler, crawler.settings.get("KANT_DB") or "", crawler.settings.get("KANT_BASE_URL")
        )
        crawler.signals.connect(log.spider_opened, signal=signals.spider_opened)
        # spider_closed: by then CoreStats has set finish_reason.
        crawler.signals.connect(log.spider_closed, signal=signals.spider_closed)
        return log

    # ------------------------------------------------------------------ opening

    def spider_opened(self, spider: Spider) -> None:
        """Check, lock, open, start the row -- or close the crawl before its first
        request."""
        if self.problems:
            for problem in self.problems:
                logger.error("%s", urls.redact_credentials(problem))
            raise CloseSpider(outcome.BAD_SETTING)
        try:
            self.lock.acquire()
        except LockHeld as exc:
            logger.error("%s", exc)
            raise CloseSpider(outcome.LOCKED) from None
        except OSError as exc:
            logger.error("cannot lock %s: %s", self.db_path, exc.strerror or exc)
            raise CloseSpider(outcome.ARCHIVE_ERROR) from None
        self.locked = True
        try:
            self.db = archive.open_archive(
                self.db_path, self.crawler.settings.get("KANT_DB_MAX_MB")
            )
        except (archive.ArchiveError, ValueError) as exc:  # ValueError: bad KANT_DB_MAX_MB
            logger.error("cannot open the archive %s: %s", self.db_path, exc)
            self.stats.inc_value(keys.ARCHIVE_ERRORS)
            raise CloseSpider(outcome.ARCHIVE_ERROR) from None
        rng = getattr(spider, "date_range", None)
        try:
            self.crawl_id = archive.start_crawl(
                self.db,
                self.base_url,
                since=rng.since_iso if rng else None,
                until=rng.until_iso if rng else None,
                full=bool(getattr(spider, "full", False)),
            )
        except sqlite3.DatabaseError as exc:  # read-only, disk full: nothing could be kept
            logger.error("cannot write the archive %s: %s", self.db_path, exc)
            self.stats.inc_value(keys.ARCHIVE_ERRORS)
            raise CloseSpider(outcome.ARCHIVE_ERROR) from None
        self.stats.set_value(keys.CRAWL_ID, self.crawl_id)
        self.batch = archive.Batch(self.db, max_seconds=COMMIT_EVERY)
        if self.show_progress:
            self._progress()  # (the bar's clock starts with the crawl)
        # Commit on a clock too, so a slow or paused crawl never sits on the write lock.
        self._clock = create_looping_call(self._tick)
        self._clock.start(COMMIT_EVERY, now=False)
        logger.info(
            "archiving %s into %s (crawl #%s)",
            urls.without_credentials(self.base_url),
            self.db_path,
            self.crawl_id,
        )

    # ------------------------------------------------------------------ running

    def commit(self, only_if_due: bool = False, ending: bool = False) -> None:
        """Commit the open batch and count its articles (counts are of durable rows)."""
        if self.batch is None or (only_if_due and not self.batch.due):
            return
        try:
            done = self.batch.commit()
        except archive.CommitError as exc:  # what its replay kept is durable all the same
            self.archive_error(exc.error, stop=not ending)
            done = exc.committed
        self.count(done)

    def record_capture(self, capture: Capture, url: str) -> None:
        """Keep a response that makes no article row (a 304: a revisit) in the open
        group; a write error stops the crawl as an article's would."""
        if self.batch is None:
            return
        try:
            self.batch.add_capture(capture, url)
        except archive.CommitError as exc:
            self.archive_error(exc.error)
            self.count(exc.committed)
        except sqlite3.DatabaseError as exc:
            self.archive_error(exc)
            self.commit()
            return
        self.commit(only_if_due=True)

    def count(self, done: Counter[str]) -> None:
        for result, count in done.items():
            self.stats.inc_value(keys.articles(result), count)

    def archive_error(self, exc: Exception, stop: bool = True) -> None:
        """Disk full, file gone read-only: nothing more can be archived; stop fetching
        (unless the crawl is ending anyway). The exit code will say 5."""
        logger.error("cannot write the archive %s: %s", self.db_path, exc)
        self.stats.inc_value(keys.ARCHIVE_ERRORS)
        if not stop:
            return
        try:
            engine = self.crawler.engine
        except RuntimeError:  # no crawl running (an archive pipeline used on its own)
            return
        if engine.spider is not None:
            deferred_from_coro(engine.close_spider_async(reason=outcome.ARCHIVE_ERROR))

    def _tick(self) -> None:
        self.commit(only_if_due=True)
        self._progress()

    def _progress(self) -> None:
        """A progress bar for interactive `kantkg crawl` runs (KANT_PROGRESS): article
        requests answered of those made so far (the total grows while the sitemaps are
        read), with the rate and the time left; nothing for cron."""
        if not self.show_progress:
            return
        from tqdm import tqdm

        get = self.stats.get_value
        if self._bar is None:
            self._bar = tqdm(desc="kantkg: articles", unit=" art", total=0, leave=True)
        self._bar.total = get(keys.ARTICLE_REQUESTS, 0)
        self._bar.update(get(keys.ARTICLES_ANSWERED, 0) - self._bar.n)
        self._bar.set_postfix_str(
            f"{get(keys.articles('new'), 0)} new, {get(keys.articles('updated'), 0)} updated,"
            f" {get(keys.REQUESTS, 0)} requests",
            refresh=True,
        )

    # ------------------------------------------------------------------ closing

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self._bar is not None:
            self._progress()
            self._bar.close()
            self._bar = None
        if self._clock is not None and self._clock.running:
            self._clock.stop()
        try:
            if self.db is not None and self.crawl_id is not None:
                self.commit(ending=True)  # the last group first: its failure is in the verdict
                self._finish(spider, reason)
        except sqlite3.DatabaseError as exc:  # the crawls row itself cannot be written
            self.archive_error(exc, stop=False)
        finally:
            # The run's verdict, for `kantkg crawl`'s exit and the crawls row alike.
            judged = {**self.stats.get_stats(), keys.FINISH_REASON: reason}
            self.stats.set_value(keys.EXIT_CODE, outcome.exit_code(judged, self.max_error_rate))
            if self.db is not None:
                self.db.close()
                self.db = None
            if self.locked:
                self.lock.release()
                self.locked = False

    def _finish(self, spider: Spider, reason: str) -> None:
        stats = self.stats.get_stats()
        record = outcome.crawl_record(stats, reason, self.max_error_rate)
        for warning in record["warnings"]:
            logger.warning("extraction drift: %s", warning)
        for hole in record["incomplete"]:
            logger.warning("crawl incomplete: %s", hole)
        assert self.db is not None and self.crawl_id is not None  # (spider_closed checks)
        resolved = spider.resolved_unseen() if hasattr(spider, "resolved_unseen") else set()
        archive.record_unseen(self.db, self.crawl_id, getattr(spider, "failed", {}), resolved)
        archive.finish_crawl(self.db, self.crawl_id, record)
        logger.info(
            "crawl #%s %s (%s): %s",
            self.crawl_id,
            record["status"],
            reason,
            outcome.crawl_counts(stats),
        )
