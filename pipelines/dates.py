"""Adapter: kantkg.dates.normalize_dates on every item, anchored at its fetch time."""

from __future__ import annotations

from datetime import datetime

from kantkg.dates import normalize_dates


class DatesPipeline:
    def __init__(self, stats=None):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_item(self, item: dict) -> dict:
        fetched = item.get("fetched_at")
        normalize_dates(item, datetime.fromisoformat(fetched) if fetched else None)
        if self.stats is not None:
            layer = item["method"].get("published") or "none"
            self.stats.inc_value(f"kantkg/layer/published/{layer}")
            if item.get("date_warnings"):
                self.stats.inc_value("kantkg/date_disagreements")
        return item
