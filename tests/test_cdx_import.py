"""`kantkg import --cdx`: a backfill from the replica's web archive recovers exactly the
articles its live site removed, leaves the others as they were (earlier versions become
revisions), fetches nothing again on a second run, and an import that could not fetch
some records says so, exits non-zero, and completes when run again."""

from __future__ import annotations

import os
import shutil
from collections import Counter

import pytest

from kantkg.archive.sqlite import sqlite3
from kantkg.crawl.cdx import Fetcher, default_warc_prefix
from kantkg.replica import Replica
from kantkg.replica.webarchive import WEBARCHIVE_PREFIX
from tests.conftest import archived, run_kantkg, run_scrapy_crawl

ROW = ("title", "published", "published_utc", "modified", "author", "section", "tags", "body")
ENV = {**os.environ, "KANT_BACKOFF_BASE": "0"}  # retries without waiting


@pytest.fixture(scope="module")
def site():
    with Replica(articles=12, seed=5, removed=3) as replica:
        yield replica


@pytest.fixture(scope="module")
def live(site, tmp_path_factory):
    """An archive crawled from the live site (which no longer serves the removed)."""
    db = tmp_path_factory.mktemp("cdx") / "live.db"
    done = run_scrapy_crawl(site.base_url, db)
    assert done.returncode == 0, done.stderr[-2000:]
    return db


def import_cdx(site, db) -> tuple[int, str]:
    done = run_kantkg(
        "import", "--cdx", site.base_url + "/webarchive/cdx", "--db", str(db),
        "--base-url", site.base_url, "--delay", "0", env=ENV,
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stderr.strip()


def warc_requests(site) -> int:
    return sum(n for path, n in site.requests.items() if path.endswith(".warc.gz"))


def fields(row: dict) -> tuple:
    return tuple(row[c] for c in ROW)


def test_backfill_recovers_exactly_the_removed_articles(site, live, tmp_path):
    db = tmp_path / "kant.db"
    shutil.copyfile(live, db)
    before = archived(db)
    removed = {t.url: t for t in site.removed_truth()}
    assert len(removed) == 3 and not set(removed) & set(before)

    code, said = import_cdx(site, db)
    assert code == 0, said
    after = archived(db)
    assert set(after) == set(before) | set(removed)
    for url, truth in removed.items():  # as the site published them
        row = after[url]
        assert (row["title"], row["body"].split("\n\n")) == (truth.title, list(truth.paragraphs))
        assert row["published_date"] == truth.published[:10]
        assert row["first_seen"] < min(r["first_seen"] for r in before.values())  # captured then
    for url, row in before.items():  # the live text stands
        assert fields(after[url]) == fields(row), url
    edited = {site.base_url + p for p in site.webarchive.edited_paths}
    with sqlite3.connect(db) as conn:
        revisions = Counter(u for (u,) in conn.execute("SELECT url FROM revisions"))
        titles = [t for (t,) in conn.execute("SELECT title FROM revisions")]
    assert set(revisions) == edited and set(revisions.values()) == {1}
    assert all(t.startswith("Предварительно:") for t in titles)
    assert f"{len(removed)} new" in said and f"{len(edited)} revision" in said

    # again: no WARC record fetched, nothing added
    site.reset_counts()
    code, again = import_cdx(site, db)
    assert code == 0, again
    assert warc_requests(site) == 0 and "0 WARC records fetched" in again
    assert "new" not in again and "revision" not in again
    assert archived(db) == after


def test_an_interrupted_import_says_so_and_a_rerun_completes(site, tmp_path):
    db = tmp_path / "kant.db"
    first, second = site.webarchive.filenames
    site.fail_next(WEBARCHIVE_PREFIX + first, 404, times=2)  # two records, not retried
    site.fail_next(WEBARCHIVE_PREFIX + second, 503, times=1)  # retried: fetched
    code, said = import_cdx(site, db)
    assert code == 10, said
    assert said.count("\n") == 0 and "import incomplete: 2 not fetched (2 http 404)" in said
    partial = archived(db)

    site.reset_counts()
    code, said = import_cdx(site, db)
    assert code == 0, said
    assert warc_requests(site) == 2 and "2 WARC records fetched" in said
    everything = {t.url for t in site.truth()} | {t.url for t in site.removed_truth()}
    assert set(archived(db)) == everything and len(everything) - len(partial) <= 2


def test_an_unreachable_cdx_server_is_one_line(tmp_path):
    done = run_kantkg(
        "import", "--cdx", "http://127.0.0.1:9/cdx", "--db", str(tmp_path / "k.db"),
        "--delay", "0", env=ENV,
    )  # fmt: skip
    assert done.returncode == 8 and done.stderr.count("\n") == 1, done.stderr
    assert "unreachable" in done.stderr


def test_the_warc_prefix_defaults_beside_the_cdx_api_and_to_common_crawl():
    assert default_warc_prefix("http://h:1/webarchive/cdx") == "http://h:1/webarchive/"
    assert (
        default_warc_prefix("https://index.commoncrawl.org/CC-MAIN-2024-10-index")
        == "https://data.commoncrawl.org/"
    )


def test_the_fetcher_honours_retry_after_and_gives_up(site):
    waits: list[float] = []
    fetcher = Fetcher(delay=0, retries=2, backoff_base=0.5, sleep=waits.append)
    path = "/webarchive/collinfo.json"
    site.fail_next(path, 429, times=1, headers={"Retry-After": "7"})
    assert fetcher.get(site.base_url + path)[0] == 200 and waits == [7.0]
    site.fail_next(path, 500, times=3)
    waits.clear()
    with pytest.raises(Exception, match="http 500"):
        fetcher.get(site.base_url + path)
    assert waits == [0.5, 1.0]
