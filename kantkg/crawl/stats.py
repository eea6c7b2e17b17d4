"""The crawl's stats keys, in one place.

The spider, the pipelines, the middlewares and the crawl log count under these names in
Scrapy's stats collector; kantkg.crawl.outcome reads them back to judge the run, and the
`crawls.stats` column keeps them all. A key spelled anywhere else is a second home that
can drift (tests/test_layout.py looks for one).

Plain keys are constants; families (`kantkg/unseen/<kind>/<reason>`, ...) are a prefix
and a function that makes one member.
"""

from __future__ import annotations

# --- Scrapy's own keys that kantkg reads
REQUESTS = "downloader/request_count"
RESPONSES = "downloader/response_count"
DOWNLOAD_EXCEPTIONS = "downloader/exception_count"
ERRORS_LOGGED = "log_count/ERROR"
FINISH_REASON = "finish_reason"
DOWNLOAD_EXCEPTION_TYPES_PREFIX = "downloader/exception_type_count/"
RETRY_REASONS_PREFIX = "retry/reason_count/"
RETRY_GAVE_UP = "retry/max_reached"
HTTP_IGNORED_PREFIX = "httperror/response_ignored_status_count/"
OFFSITE_FILTERED = "offsite/filtered"

# --- one count each
CRAWL_ID = "kantkg/crawl_id"  # the run's `crawls` row
EXIT_CODE = "kantkg/exit_code"  # what the run made of itself (kantkg.crawl.outcome)
ARTICLE_REQUESTS = "kantkg/article_requests"  # article pages asked for
ARTICLES_ANSWERED = "kantkg/articles_answered"  # ... that got an answer or failed for good
ARTICLE_PAGES = "kantkg/article_pages"  # ... that answered with HTML
EXTRACTED = "kantkg/extracted"  # ... that gave an article
NOT_MODIFIED = "kantkg/not_modified"  # 304 on a conditional request
DROPPED = "kantkg/dropped"  # items the archive refused (by reason below)
ARCHIVE_ERRORS = "kantkg/archive_errors"  # writes that failed (a full disk...)
DATE_DISAGREEMENTS = "kantkg/date_disagreements"
DUPLICATES_REMOVED = "kantkg/paragraphs/duplicates_removed"
BOILERPLATE_REMOVED = "kantkg/paragraphs/boilerplate_removed"
LINKS_IGNORED = "kantkg/links/ignored"  # hrefs no URL can be made of
SITEMAPS_FALLBACK = "kantkg/sitemaps/fallback"  # robots.txt named none: guessed
SITEMAPS_URLSET = "kantkg/sitemaps/urlset"  # post sitemaps read whole
SITEMAPS_OUT_OF_RANGE = "kantkg/sitemaps/out_of_range"
SITEMAPS_UNCHANGED = "kantkg/sitemaps/unchanged"
SKIPPED_KNOWN = "kantkg/skipped/known"  # archived and unchanged: not fetched
SKIPPED_NOT_HTML = "kantkg/skipped/not_html"
SKIPPED_NOT_ARTICLE = "kantkg/skipped/not_article"
BACKOFF = "kantkg/backoff"  # pauses after failures in a row
RETRY_AFTER = "kantkg/retry_after"  # pauses a Retry-After asked for
REFUSED_NOT_ON_SITE = "kantkg/refused/not_on_site"

# --- families: a prefix, and the key of one member
ARTICLES_PREFIX = "kantkg/articles/"  # + new | updated | unchanged (durable rows)
DROPPED_PREFIX = "kantkg/dropped/"  # + the reason (kantkg.archive.unarchivable_reason)
FAILED_PREFIX = "kantkg/failed/"  # + why an article request failed
UNSEEN_PREFIX = "kantkg/unseen/"  # + <kind>/<reason>: a hole in this run
CAPPED_PREFIX = "kantkg/capped/"  # + what a bound stopped (sitemaps, listings)
REFUSED_PREFIX = "kantkg/refused/"  # + a kind of URL never requested
SKIPPED_PREFIX = "kantkg/skipped/"
LAYER_PREFIX = "kantkg/layer/"  # + <field>/<layer>: where each field came from
SITEMAPS_PREFIX = "kantkg/sitemaps/"  # + index | urlset | ...
DISCOVERED_PREFIX = "kantkg/discovered/"  # + the source of an article link
FETCH_PREFIX = "kantkg/fetch/"  # + the incremental decision
REPEATED_PREFIX = "kantkg/repeated/"  # + kind: a discovery URL asked for again
RETRY_UNSEEN_PREFIX = "kantkg/retry_unseen/"  # + kind: an earlier run's hole asked again


def articles(outcome: str) -> str:
    return ARTICLES_PREFIX + outcome


def dropped(reason: str) -> str:
    return DROPPED_PREFIX + reason


def failed(reason: str) -> str:
    return FAILED_PREFIX + reason


def unseen(kind: str, reason: str) -> str:
    return f"{UNSEEN_PREFIX}{kind}/{reason}"


def capped(what: str) -> str:
    return CAPPED_PREFIX + what


def refused(kind: str) -> str:
    return REFUSED_PREFIX + kind


def layer(field: str, name: str) -> str:
    return f"{LAYER_PREFIX}{field}/{name}"


def sitemaps(kind: str) -> str:
    return SITEMAPS_PREFIX + kind


def discovered(source: str) -> str:
    return DISCOVERED_PREFIX + source


def fetch(decision: str) -> str:
    return FETCH_PREFIX + decision


def repeated(kind: str) -> str:
    return REPEATED_PREFIX + kind


def retry_unseen(kind: str) -> str:
    return RETRY_UNSEEN_PREFIX + kind


def members(stats: dict, prefix: str) -> dict[str, int]:
    """The counts of one family, by what follows its prefix (zeros and non-counts left
    out): members(stats, DROPPED_PREFIX) -> {"no-body": 2, ...}."""
    return {
        key[len(prefix) :]: value
        for key, value in stats.items()
        if key.startswith(prefix) and isinstance(value, int) and value
    }
