"""Every fault the replica can produce, against the real crawl: what the crawler does,
that nothing is lost that could be had, and that no error page becomes an article."""

from __future__ import annotations

import json

import pytest

from kantkg.archive.sqlite import sqlite3
from kantkg.replica import Replica
from tests.conftest import archived, run_scrapy_crawl
from tests.conftest import last_crawl as crawl_row

FAST = {"DOWNLOAD_TIMEOUT": "2", "RETRY_TIMES": "2", "KANT_RETRY_AFTER_MAX": "2"}


def crawl_with(tmp_path, *faults, articles=12, **replica_options):
    db = tmp_path / "kant.db"
    with Replica(articles=articles, seed=17, faults=list(faults), **replica_options) as site:
        result = run_scrapy_crawl(site.base_url, db, **FAST)
        assert result.returncode == 0, result.stderr[-3000:]
        truth = {a.url: a for a in site.truth()}
        return site, truth, archived(db), crawl_row(db)


def assert_clean(rows, truth):
    """Whatever was archived is the article the site published, not an error page."""
    for url, row in rows.items():
        assert row["title"] == truth[url].title, url
        assert row["body"].split("\n\n") == list(truth[url].paragraphs), url


def one_article(markup=None, seed=17, articles=12):
    from kantkg.replica import Corpus

    corpus = Corpus(articles, seed)
    return next(a for a in corpus.all() if a.index >= 0 and (markup is None or a.markup == markup))


# Faults the crawl gets past: everything ends up archived, exactly as published.
@pytest.mark.parametrize(
    "fault, failure",
    [
        ("status=503:article:3", "retried: 503 Service Unavailable"),
        ("status=500:article:2", "retried: 500 Internal Server Error"),
        ("status=502:article:2", "retried: 502 Bad Gateway"),
        ("retry-after=429:article:2", "retried: 429 Unknown Status"),
        ("reset:article:2", None),
        ("redirect-chain=3:article", None),
        ("content-type=none:article", None),
        ("content-type=text/plain:article", None),
        ("malformed:article", None),
        ("mislabel:article", None),
        ("bad-xml:sitemap", None),
        ("gzip:post-sitemap", None),
        ("bad-dates:feed", None),
    ],
)
def test_recoverable_faults_lose_nothing(tmp_path, fault, failure):
    _, truth, rows, row = crawl_with(tmp_path, fault)
    assert set(rows) == set(truth)  # articles lost: 0
    assert_clean(rows, truth)
    # Unreadable sitemaps are a hole even when the listing walk found every article.
    assert row["status"] == ("incomplete" if fault.startswith("bad-xml") else "ok")
    failures = json.loads(row["failures"])
    if failure:
        assert any(k.startswith(failure.split(" ")[0]) for k in failures), failures


# Faults of one page: that page is not archived (there is nothing right to archive), the
# failure is recorded by kind, every other article is archived. A page that is gone or
# refused by the crawl's own rules leaves the crawl "ok"; one that got no usable answer
# (5xx after retries, a timeout, a reset) leaves it "incomplete", remembered as unseen.
@pytest.mark.parametrize(
    "kind, failure, status",
    [
        ("status=500", "gave up after retries", "incomplete"),
        ("status=404", "http 404", "ok"),
        ("status=410", "http 410", "ok"),
        ("stall=5", "TimeoutError", "incomplete"),
        ("truncate", "ResponseDataLossError", "incomplete"),
        ("reset", "DownloadFailedError", "incomplete"),
        ("pdf", "skipped: not_html", "ok"),
        ("png", "skipped: not_html", "ok"),
        ("redirect-loop", "failed: max redirections reached", "ok"),
        ("redirect-offsite", "off-site link not followed", "ok"),
        ("huge=20", "skipped", "ok"),
        ("empty", "skipped: not_article", "ok"),
    ],
)
def test_a_broken_page_is_skipped_and_recorded(tmp_path, kind, failure, status):
    victim = one_article()
    site, truth, rows, row = crawl_with(tmp_path, f"{kind}:^{victim.path}$")
    victim_url = site.base_url + victim.path
    assert victim_url in truth and victim_url not in rows
    assert set(rows) == set(truth) - {victim_url}
    assert_clean(rows, truth)
    assert row["status"] == status, row["incomplete"]
    failures = json.loads(row["failures"])
    if failure in ("retried", "skipped"):
        assert failures, row
    else:
        assert any(failure in k for k in failures), failures
    with sqlite3.connect(tmp_path / "kant.db") as conn:
        unseen = [url for (url,) in conn.execute("SELECT url FROM unseen")]
    # Unseen pages are asked for again; so is a 404/410 for a few runs (it may pass).
    asked_again = status == "incomplete" or kind in ("status=404", "status=410")
    assert unseen == ([victim_url] if asked_again else [])


def test_robots_disallow_is_obeyed(tmp_path):
    site, truth, rows, _ = crawl_with(tmp_path, robots_disallow=("/2015-", "/2016-"))
    barred = {u for u in truth if "/2015-" in u or "/2016-" in u}
    assert barred and not (set(rows) & barred)
    assert set(rows) == set(truth) - barred
    assert not [p for p in site.requests if p.startswith(("/2015-", "/2016-"))]


def test_unreachable_site_archives_nothing_and_fails(tmp_path):
    db = tmp_path / "kant.db"
    with Replica(articles=3, faults=["reset:all"]) as site:
        result = run_scrapy_crawl(site.base_url, db, **FAST)
    assert result.returncode == 0
    row = crawl_row(db)
    assert row["status"] == "failed" and row["new"] == 0
