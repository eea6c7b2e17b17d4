"""A page our own code fails on is a hole like any other: recorded, retried, and the rest
of the crawl (the sitemap chain above all) goes on."""

from __future__ import annotations

import pytest
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, TextResponse
from scrapy.utils.test import get_crawler

from kantkg.crawl.outcome import incompleteness
from spiders.kant import KantSpider
from spiders.middlewares import CallbackErrorMiddleware

BASE = "http://127.0.0.1:8123"


@pytest.fixture
def spider(tmp_path):
    crawler = get_crawler(KantSpider, {"KANT_BASE_URL": BASE, "KANT_DB": str(tmp_path / "kant.db")})
    crawler._apply_settings()
    crawler.spider = KantSpider.from_crawler(crawler)
    return crawler.spider


def response(path: str, kind: str) -> TextResponse:
    url = BASE + path
    return TextResponse(
        url,
        body=b"<urlset/>",
        encoding="utf-8",
        request=Request(url, meta={"kantkg_kind": kind, "kantkg_url": url}),
    )


def test_a_sitemap_whose_reading_raises_is_unseen_and_the_next_one_is_asked_for(spider):
    spider.pending_sitemaps.append(f"{BASE}/post-sitemap2.xml")
    middleware = CallbackErrorMiddleware(spider.crawler)
    out = list(
        middleware.process_spider_exception(
            response("/post-sitemap1.xml", "sitemap"), ValueError("boom")
        )
    )
    assert [r.url for r in out] == [f"{BASE}/post-sitemap2.xml"]
    assert spider.failed == {f"{BASE}/post-sitemap1.xml": ("sitemap", "ValueError (ours)")}
    assert incompleteness(spider.crawler.stats.get_stats())


def test_robots_txt_whose_reading_raises_falls_back_to_the_usual_sitemaps(spider):
    middleware = CallbackErrorMiddleware(spider.crawler)
    out = list(
        middleware.process_spider_exception(response("/robots.txt", "robots"), ValueError("boom"))
    )
    assert [r.url for r in out] == [
        f"{BASE}/sitemap_index.xml",
        f"{BASE}/wp-sitemap.xml",
        f"{BASE}/sitemap.xml",
    ]


def test_errors_that_errbacks_handle_are_left_to_them(spider):
    middleware = CallbackErrorMiddleware(spider.crawler)
    assert (
        middleware.process_spider_exception(response("/x/", "article"), IgnoreRequest("no")) is None
    )
    assert spider.failed == {}
