"""End to end: replica -> `scrapy crawl kant` (subprocess) -> pipelines -> SQLite."""

from __future__ import annotations

import json
from datetime import UTC

import pytest

from kantkg.archive.sqlite import sqlite3
from kantkg.replica import Replica
from kantkg.replica.render import SHOWS
from tests.conftest import indexed_articles, run_scrapy_crawl

SEED_PATH = (
    "/2021-05-25/sostoyalas-vstrecha-prezidenta-sadyra-zhaparova"
    "-s-prezidentom-rossii-vladimirom-putinym/"
)


def rows(db_path) -> list[dict]:
    with sqlite3.connect(db_path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM articles ORDER BY id")]


def crawls(db_path) -> list[dict]:
    with sqlite3.connect(db_path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM crawls ORDER BY id")]


@pytest.fixture(scope="module")
def crawled(replica, tmp_path_factory):
    db = tmp_path_factory.mktemp("e2e") / "kant.db"
    first = run_scrapy_crawl(replica.base_url, db)
    assert first.returncode == 0, first.stderr[-3000:]
    after_first = rows(db)
    second = run_scrapy_crawl(replica.base_url, db)
    assert second.returncode == 0, second.stderr[-3000:]
    return db, after_first, first


def test_seed_article_is_archived_clean(crawled, replica):
    db, after_first, _ = crawled
    by_url = {r["url"]: r for r in after_first}
    seed = by_url[replica.base_url + SEED_PATH]
    assert seed["title"] == (
        "Состоялась встреча Президента Садыра Жапарова с Президентом России Владимиром Путиным"
    )
    assert seed["body"].split("\n\n") == list(replica.seed_article.paragraphs)
    assert seed["paragraph_count"] == 12
    assert "Ссылка на новость" not in seed["body"]
    assert seed["duplicates_removed"] == 2
    assert seed["published"].startswith("2021-05-25T")
    assert seed["published"].endswith("+06:00")
    assert seed["published_date"] == "2021-05-25"


def test_every_article_archived_exactly_once(crawled, replica):
    _, after_first, _ = crawled
    urls = [r["url"] for r in after_first]
    assert len(urls) == len(set(urls))
    assert set(urls) == {t.url for t in replica.truth()}


def test_archived_fields_match_what_the_site_published(crawled, replica):
    _, after_first, _ = crawled
    by_url = {r["url"]: r for r in after_first}
    wrong = []
    for truth in replica.truth():
        row = by_url[truth.url]
        shows = SHOWS[truth.markup]
        precision = 19 if "seconds" in shows else 16  # some pages show only minutes
        want_utc = truth.published_dt.astimezone(UTC).isoformat()
        got = {
            "title": row["title"],
            "paragraphs": row["body"].split("\n\n"),
            "section": row["section"],
            "published_utc": row["published_utc"][:precision],
        }
        want = {
            "title": truth.title,
            "paragraphs": list(truth.paragraphs),
            "section": truth.section,
            "published_utc": want_utc[:precision],
        }
        if "author" in shows:
            got["author"], want["author"] = row["author"], truth.author
        if "tags" in shows:
            got["tags"], want["tags"] = sorted(json.loads(row["tags"])), sorted(truth.tags)
        if got != want:
            diff = {k: (got[k], want[k]) for k in got if got[k] != want[k]}
            wrong.append((truth.markup, truth.url, diff))
    assert not wrong, wrong[:3]


def test_second_run_adds_no_rows(crawled):
    db, after_first, _ = crawled
    assert len(rows(db)) == len(after_first)
    first, second = crawls(db)
    assert first["status"] == second["status"] == "ok"
    assert first["new"] == len(after_first)
    assert second["new"] == 0 and second["updated"] == 0
    assert json.loads(second["stats"])["finish_reason"] == "finished"
    assert json.loads(first["warnings"]) == []  # mixed markups: no drift


def test_a_crawl_that_falls_back_to_generic_says_so(tmp_path):
    db = tmp_path / "drift.db"
    with Replica(articles=12, seed=5, markups=("legacy_cp1251",)) as site:
        result = run_scrapy_crawl(site.base_url, db)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "extraction drift: paragraphs: 12 of 13 articles" in result.stderr  # seed: wp
    (row,) = crawls(db)
    assert row["status"] == "ok" and row["new"] == 13
    warnings = json.loads(row["warnings"])
    assert any(w.startswith("title: 12 of 13") for w in warnings)
    assert any(w.startswith("paragraphs: 12 of 13") for w in warnings)


def test_since_until_limits_the_crawl(replica, tmp_path):
    db = tmp_path / "range.db"
    result = run_scrapy_crawl(replica.base_url, db, since="2021-01-01", until="2021-12-31")
    assert result.returncode == 0, result.stderr[-3000:]
    expected = {t.url for t in replica.truth() if t.published.startswith("2021-")}
    assert {r["url"] for r in rows(db)} == expected
    assert expected  # the seed at least


def test_unreachable_site_is_a_failed_crawl_row(tmp_path):
    db = tmp_path / "down.db"
    result = run_scrapy_crawl("http://127.0.0.1:9", db, RETRY_TIMES="0", DOWNLOAD_TIMEOUT="5")
    assert result.returncode == 0  # scrapy crawl always exits 0: the crawls row tells
    (row,) = crawls(db)
    assert row["status"] == "failed"
    assert rows(db) == []


def test_searching_while_a_crawl_writes_sees_whole_articles(tmp_path):
    import subprocess
    import time

    from kantkg import archive
    from kantkg.crawl.process import LOOPBACK_SETTINGS, scrapy_crawl_argv, scrapy_env
    from tests.conftest import ROOT

    db_path = tmp_path / "busy.db"
    archive.open_archive(db_path).close()
    with Replica(articles=400, seed=9) as site:
        argv = scrapy_crawl_argv(site.base_url, str(db_path), settings=LOOPBACK_SETTINGS)
        crawl = subprocess.Popen(
            argv, cwd=ROOT, env=scrapy_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        seen_counts = set()
        try:
            while crawl.poll() is None:
                with sqlite3.connect(db_path, timeout=10) as conn:
                    conn.execute("BEGIN")  # one snapshot for both counts
                    articles = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
                    indexed = indexed_articles(conn)
                    conn.execute("COMMIT")
                assert articles == indexed  # never an article without its index row
                seen_counts.add(articles)
                db = archive.open_archive(db_path)
                archive.search(db, "Бишкек")
                db.close()
                time.sleep(0.02)
        finally:
            crawl.wait(timeout=120)
    assert crawl.returncode == 0
    assert len(seen_counts) > 2  # we really read while it wrote
    assert rows(db_path) and len(rows(db_path)) == 401
