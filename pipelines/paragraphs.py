"""Adapter: kantkg.paragraphs.clean_item (dedupe, boilerplate) on every item."""

from __future__ import annotations

from kantkg.crawl import stats as keys
from kantkg.items import ArticleItem
from kantkg.paragraphs import clean_item


class ParagraphsPipeline:
    def __init__(self, stats=None):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_item(self, item: ArticleItem) -> ArticleItem:
        clean_item(item)
        if self.stats is not None:
            self.stats.inc_value(keys.DUPLICATES_REMOVED, item["duplicates_removed"])
            self.stats.inc_value(keys.BOILERPLATE_REMOVED, item["boilerplate_removed"])
        return item
