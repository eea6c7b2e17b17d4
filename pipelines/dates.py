"""Adapter: kantkg.dates.normalize_dates on every item, anchored at its fetch time."""

from __future__ import annotations

from datetime import datetime

from kantkg.crawl import stats as keys
from kantkg.dates import normalize_dates
from kantkg.items import ArticleItem


class DatesPipeline:
    def __init__(self, stats=None):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_item(self, item: ArticleItem) -> ArticleItem:
        capture = item.get("capture")
        fetched = capture.fetched_at if capture is not None else None
        normalize_dates(item, datetime.fromisoformat(fetched) if fetched else None)
        if self.stats is not None:
            layer = item["method"].get("published") or "none"
            self.stats.inc_value(keys.layer("published", layer))
            if item.get("date_warnings"):
                self.stats.inc_value(keys.DATE_DISAGREEMENTS)
        return item
