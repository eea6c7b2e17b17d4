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


# --- what each KANT_* setting may be (checked by `kantkg crawl` before anything starts)
_BOOLS = ("1", "0", "True", "False", "true", "false")  # what Scrapy's getbool takes


def _number(
    value: object,
    *,
    low: float,
    high: float = float("inf"),
    whole: bool = False,
    above: bool = False,
) -> str | None:
    try:
        number = int(str(value)) if whole else float(str(value))
    except ValueError:
        return "not a whole number" if whole else "not a number"
    if not (low < number if above else low <= number) or not number <= high:
        bound = f"above {low:g}" if above else f"at least {low:g}"
        return f"not {bound}" + (f" and at most {high:g}" if high != float("inf") else "")
    return None


def setting_problem(name: str, value: object) -> str | None:
    """Why `value` cannot be the KANT_* setting `name`, or None."""
    from kantkg import archive, urls  # (the rules live with what they guard)

    text = "" if value is None else str(value)
    if name == "KANT_BASE_URL":
        return urls.base_url_problem(text)
    if name == "KANT_DB":
        return "empty" if not text else None
    if name == "KANT_DB_MAX_MB":
        try:
            archive.max_megabytes(value if value != "" else None)  # type: ignore[arg-type]
        except ValueError:
            return "not a size in MB (a number above 0, e.g. 500)"
        return None
    if name == "KANT_CONTACT":
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "not one line of UTF-8 text"
        return (
            "not one line of UTF-8 text"
            if any(ord(c) < 32 or ord(c) == 127 for c in text)
            else None
        )
    if name in ("KANT_FULL", "KANT_PROGRESS"):
        return (
            None
            if isinstance(value, bool) or text in _BOOLS
            else "not true or false (1/0, true/false)"
        )
    if name in ("KANT_RETRY_AFTER_MAX", "KANT_BACKOFF_BASE", "KANT_BACKOFF_MAX"):
        return _number(value, low=0, high=1e9) and "not a number of seconds (0 or more)"
    if name == "KANT_MAX_ERROR_RATE":
        return _number(value, low=0, high=1) and "not a share between 0 and 1 (e.g. 0.2)"
    if name in ("KANT_GIVE_UP_AFTER", "KANT_MAX_SITEMAPS", "KANT_MAX_LISTING_PAGES"):
        return _number(value, low=1, whole=True) and "not a whole number of 1 or more"
    return None


def setting_problems(values: dict[str, object]) -> list[str]:
    """`NAME=value: why` for every KANT_* setting in `values` that cannot be."""
    return [
        f"{name}={value!r}: {problem}"
        for name, value in values.items()
        if name.startswith("KANT_") and (problem := setting_problem(name, value))
    ]


def kant_settings() -> dict[str, object]:
    """This module's KANT_* settings: the environment's, else the defaults."""
    return {name: value for name, value in globals().items() if name.startswith("KANT_")}
