"""What a finished crawl's stats mean: success or failure, and the counts worth keeping.

`scrapy crawl` exits 0 even when nothing could be fetched, so cron wrappers and the
`crawls` table decide from these rules instead.
"""

from __future__ import annotations


def crawl_counts(stats: dict) -> dict[str, int]:
    def get(key: str) -> int:
        return int(stats.get(key, 0) or 0)

    return {
        "requests": get("downloader/request_count"),
        "responses": get("downloader/response_count"),
        "articles_seen": get("kantkg/article_pages"),
        "new": get("kantkg/articles/new"),
        "updated": get("kantkg/articles/updated"),
        "unchanged": get("kantkg/articles/unchanged"),
        "dropped": get("kantkg/dropped"),
        "errors": get("log_count/ERROR") + get("downloader/exception_count"),
    }


def crawl_status(stats: dict, finish_reason: str) -> str:
    """'ok' when the spider finished and the site answered at all, else 'failed'."""
    if finish_reason != "finished":
        return "failed"
    if not stats.get("downloader/response_count"):
        return "failed"
    return "ok"
