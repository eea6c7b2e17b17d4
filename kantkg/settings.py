"""Scrapy settings for the `kant` spider: polite by default, quiet for cron.

Every KANT_* setting is read here, once: `scrapy crawl kant -s NAME=value` wins over the
environment variable NAME, which wins over the default below (kantkg crawl's options set
them the same way).
"""

from __future__ import annotations

import os

from kantkg import site

BOT_NAME = "kantkg"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

# --- kantkg's own settings
KANT_BASE_URL = os.environ.get("KANT_BASE_URL", site.DEFAULT_BASE_URL)
KANT_DB = os.environ.get("KANT_DB", "data/kant.db")
# A cap on the archive's size in MB (a small server's disk); unset: none.
KANT_DB_MAX_MB = os.environ.get("KANT_DB_MAX_MB")
# Who to contact about this crawler; goes into the User-Agent (see spiders/kant.py).
KANT_CONTACT = os.environ.get("KANT_CONTACT", "https://github.com/kantkg/kantkg")

# --- politeness
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0.25
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
DOWNLOAD_TIMEOUT = 30
# One item per article page and synchronous SQLite pipelines: parallel item processing
# buys nothing, and Scrapy starts 2 x CONCURRENT_ITEMS asyncio tasks for every response
# (a large share of a crawl's CPU at the default 100: bench/TIMING_NOTES.md).
CONCURRENT_ITEMS = 1
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024  # a news page is < 1 MB; bigger is a fault
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# Scrapy's retry ignores Retry-After; ours pauses the crawl as asked, at most this long.
KANT_RETRY_AFTER_MAX = os.environ.get("KANT_RETRY_AFTER_MAX", 300.0)
# Other retryable failures wait 1, 2, 4 ... s (per failure in a row), at most 60 s.
KANT_BACKOFF_BASE = os.environ.get("KANT_BACKOFF_BASE", 1.0)
KANT_BACKOFF_MAX = os.environ.get("KANT_BACKOFF_MAX", 60.0)
# A crawl in which more than this share of requests failed is "failed" (exit 9).
KANT_MAX_ERROR_RATE = os.environ.get("KANT_MAX_ERROR_RATE", 0.2)
# This many failures in a row before any response: the site is down, stop (exit 8).
KANT_GIVE_UP_AFTER = os.environ.get("KANT_GIVE_UP_AFTER", 8)
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "spiders.middlewares.RetryAfterMiddleware": 550,
    # After Scrapy's offsite filter (50): only http(s) of the crawled host *and port*,
    # redirects included.
    "spiders.middlewares.SameSiteMiddleware": 60,
}
# A callback that raises records its page as unseen (and the sitemap chain goes on).
SPIDER_MIDDLEWARES = {"spiders.middlewares.CallbackErrorMiddleware": 100}
# Only the web: a `Sitemap: file:///dev/zero` (or ftp://, s3://, data:) in robots.txt or a
# redirect is never fetched.
DOWNLOAD_HANDLERS = {"file": None, "ftp": None, "s3": None, "data": None}
# Article pages need no session; 1,000 cookies of 4 KB set by a page would otherwise ride
# along on every later request (a 4 MB Cookie header, and 400s from the server).
COOKIES_ENABLED = False
# Every crawl ends: at most this long (seconds; then it stops as "incomplete", exit 10, and
# the next run goes on), at most this many sitemaps and listing pages.
CLOSESPIDER_TIMEOUT = 6 * 3600
KANT_MAX_SITEMAPS = os.environ.get("KANT_MAX_SITEMAPS", 1000)
KANT_MAX_LISTING_PAGES = os.environ.get("KANT_MAX_LISTING_PAGES", 5000)
# The spider dedupes article URLs itself (and the archive remembers across runs), so
# Scrapy's fingerprint set -- one entry per request, kept in memory -- is not needed.
DUPEFILTER_CLASS = "scrapy.dupefilters.BaseDupeFilter"
# Fetch everything again, known articles included (kantkg crawl --full).
KANT_FULL = os.environ.get("KANT_FULL", False)
# A progress line on stderr (kantkg crawl turns it on when stderr is a terminal).
KANT_PROGRESS = os.environ.get("KANT_PROGRESS", False)

# --- a cron job wants no listening ports
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# The crawl's bookkeeping: lock, archive connection, `crawls` row, commit clock, progress.
EXTENSIONS = {"spiders.extensions.CrawlLog": 0}

ITEM_PIPELINES = {
    "pipelines.dates.DatesPipeline": 100,
    "pipelines.paragraphs.ParagraphsPipeline": 200,
    "pipelines.archive.ArchivePipeline": 300,
}

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
