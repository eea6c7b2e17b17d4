"""Incremental crawling: an unchanged site costs a handful of requests, N new articles
about N more, M edited ones M conditional re-fetches that end in revisions."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from kantkg.archive import PageState, captures
from kantkg.archive.sqlite import sqlite3
from kantkg.crawl.incremental import Fetch, conditional_headers, decide, sitemap_may_have_changed
from kantkg.replica import Replica
from tests.conftest import get, run_scrapy_crawl

STATE = PageState("2024-01-02T10:00:00+00:00", '"abc"', "Tue, 02 Jan 2024 10:00:00 GMT")


def test_decide():
    assert decide(None, None) is Fetch.NEW
    assert decide(STATE, None) is Fetch.KNOWN
    assert decide(STATE, "2024-01-01T00:00:00+06:00") is Fetch.KNOWN
    assert decide(STATE, "2024-01-02T17:00:01+06:00") is Fetch.CHANGED  # 11:00:01 UTC
    assert decide(STATE, None, full=True) is Fetch.CHANGED
    assert conditional_headers(STATE) == {
        "If-None-Match": '"abc"',
        "If-Modified-Since": "Tue, 02 Jan 2024 10:00:00 GMT",
    }
    assert sitemap_may_have_changed(None, "2024-01-02T10:00:00+00:00")
    assert sitemap_may_have_changed("2024-01-02T10:00:00+00:00", None)
    assert not sitemap_may_have_changed("2024-01-01T00:00:00+00:00", "2024-01-02T10:00:00+00:00")


def last_crawl(db) -> dict:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return dict(conn.execute("SELECT * FROM crawls ORDER BY id DESC LIMIT 1").fetchone())


def count(db, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.fixture(scope="module")
def site():
    with Replica(articles=150, seed=21) as replica:
        yield replica


def crawl(site, db, **settings):
    site.reset_counts()
    result = run_scrapy_crawl(site.base_url, db, **settings)
    assert result.returncode == 0, result.stderr[-3000:]
    return last_crawl(db)


def test_unchanged_new_and_edited(site, tmp_path):
    db = tmp_path / "kant.db"
    first = crawl(site, db)
    total = len(site.truth())
    assert first["article_requests"] == total == first["new"]
    assert site.article_requests() == total

    unchanged = crawl(site, db)
    assert unchanged["article_requests"] == 0 and site.article_requests() == 0
    assert unchanged["requests"] <= 10, json.loads(unchanged["stats"])
    assert unchanged["new"] == unchanged["updated"] == 0 and unchanged["status"] == "ok"

    time.sleep(1.1)  # lastmod and fetch times have 1 s resolution: edit after the fetch
    added = site.add_articles(7)
    edited = [site.edit_article(a.path) for a in site.truth()[10:13]]
    changed = crawl(site, db)
    assert changed["new"] == 7 and changed["updated"] == 3
    assert changed["article_requests"] == 10 and site.article_requests() == 10
    assert changed["requests"] <= 10 + 10
    assert count(db, "articles") == total + 7
    assert count(db, "revisions") == 3
    with sqlite3.connect(db) as conn:
        bodies = dict(conn.execute("SELECT url, body FROM articles"))
    assert all(bodies[a.url].endswith(a.paragraphs[-1]) for a in edited)
    assert all(a.url in bodies for a in added)
    # Each edited article keeps both pages as received, not only the last.
    with sqlite3.connect(db) as conn:
        kept = dict(
            conn.execute(
                "SELECT url, count(body) FROM captures GROUP BY url HAVING count(body) > 1"
            )
        )
    assert kept == {a.url: 2 for a in edited}

    again = crawl(site, db)
    assert again["article_requests"] == 0 and again["requests"] <= 10


def test_unchanged_page_listed_as_changed_costs_a_304(site, tmp_path):
    db = tmp_path / "kant.db"
    crawl(site, db)
    # The site bumps a sitemap lastmod without changing the page: a conditional GET.
    target = site.truth()[5]
    # (two seconds on: lastmod must be later than our fetch, which has 1 s resolution)
    site.corpus.meta(target.path)["modified"] = datetime.now(UTC).replace(
        microsecond=0
    ) + timedelta(seconds=2)
    run = crawl(site, db)
    assert run["article_requests"] == 1 and run["not_modified"] == 1
    assert run["updated"] == 0 and count(db, "revisions") == 0
    # The 304 is kept as a revisit of the page it confirmed, without a body.
    with sqlite3.connect(db) as conn:
        revisits = conn.execute(
            "SELECT c.url, c.status, c.body, c.revisit_reason, o.status FROM captures c"
            " JOIN captures o ON o.id = c.revisit_of"
        ).fetchall()
    assert revisits == [(target.url, 304, None, "not-modified", 200)]


def test_full_fetches_everything_again(site, tmp_path):
    db = tmp_path / "kant.db"
    crawl(site, db)
    full = crawl(site, db, KANT_FULL="1")
    assert full["article_requests"] == len(site.truth()) and full["full"] == 1
    assert full["new"] == 0
    # Every page came back the same: recorded as revisits, no body stored twice.
    with sqlite3.connect(db) as conn:
        kinds = conn.execute(
            "SELECT revisit_reason, count(*), count(body) FROM captures GROUP BY 1 ORDER BY 1"
        ).fetchall()
    total = len(site.truth())
    assert kinds == [(None, total, total), ("identical-payload", total, 0)]


def test_a_capture_is_the_response_as_received(site, tmp_path):
    """Bytes in the charset the site sent (not re-encoded), its headers and ours."""
    db = tmp_path / "kant.db"
    crawl(site, db)
    cp1251 = next(a for a in site.truth() if "1251" in site.site.article(a).content_type)
    sent = get(site, cp1251.path)
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM captures WHERE url = ?", [cp1251.url]).fetchone()
    assert captures.decode_body(row["body"]) == sent.body
    assert (row["status"], row["reason"], row["http_version"]) == (200, "OK", "HTTP/1.1")
    assert row["content_type"] == sent.headers["Content-Type"]
    headers = dict(json.loads(row["headers"]))
    assert headers["Content-Type"] == sent.headers["Content-Type"]
    request = dict(json.loads(row["request_headers"]))
    assert request["User-Agent"].startswith("kantkg")
    assert row["payload_digest"] == captures.payload_digest(captures.decode_body(row["body"]))
    assert row["source"].startswith("crawl ")


def test_backfill_without_sitemaps_walks_the_listings(tmp_path):
    db = tmp_path / "kant.db"
    with Replica(articles=120, seed=31, sitemaps=False) as bare:
        recent = run_scrapy_crawl(bare.base_url, db, since="2024-01-01")
        assert recent.returncode == 0, recent.stderr[-2000:]
        result = run_scrapy_crawl(bare.base_url, db, since="2016-01-01")
        assert result.returncode == 0, result.stderr[-2000:]
        wanted = {a.url for a in bare.truth() if a.published[:10] >= "2016-01-01"}
        assert bare.requests["/sitemap_index.xml"] == 2  # asked (fallback), not there
    with sqlite3.connect(db) as conn:
        assert {u for (u,) in conn.execute("SELECT url FROM articles")} == wanted
    stats = json.loads(last_crawl(db)["stats"])
    assert stats.get("kantkg/sitemaps/fallback") == 1
