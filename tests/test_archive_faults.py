"""The archive under faults: killed crawls, read-only or full files, files that are not
archives. It opens, it is consistent, and nothing already archived is lost."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest

from kantkg import archive
from kantkg.archive.sqlite import sqlite3
from kantkg.crawl.process import LOOPBACK_SETTINGS, scrapy_crawl_argv, scrapy_env
from kantkg.replica import Replica
from tests.conftest import ROOT, assert_index_exact, run_kantkg, run_scrapy_crawl

kantkg = run_kantkg


def consistent(db) -> set[str]:
    """integrity_check passes; every article has its index row and its capture; no URL twice.
    Returns the archived URLs."""
    with sqlite3.connect(db, timeout=10) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        urls = [u for (u,) in conn.execute("SELECT url FROM articles")]
        assert len(urls) == len(set(urls))
        assert_index_exact(conn)
        assert conn.execute(
            "SELECT count(DISTINCT a.url) FROM articles a JOIN captures c ON c.url = a.url"
        ).fetchone()[0] == len(urls)
        assert (
            conn.execute("SELECT count(*) FROM articles WHERE body = '' OR title = ''").fetchone()[
                0
            ]
            == 0
        )
    return set(urls)


@pytest.fixture(scope="module")
def site():
    with Replica(articles=500, seed=8) as replica:
        yield replica


def test_kill_9_at_random_points_then_a_new_crawl_completes_the_set(site, tmp_path):
    db = tmp_path / "kant.db"
    rng = random.Random(2026)
    argv = scrapy_crawl_argv(site.base_url, str(db), settings=LOOPBACK_SETTINGS)
    seen = set()
    for _ in range(3):
        crawl = subprocess.Popen(
            argv, cwd=ROOT, env=scrapy_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.8, 2.5))  # Scrapy's start-up is ~0.7 s
        crawl.send_signal(signal.SIGKILL)
        crawl.wait()
        urls = consistent(db) if db.exists() else set()
        assert seen <= urls  # a kill never takes back what an earlier run archived
        seen = urls
    result = run_scrapy_crawl(site.base_url, db)
    assert result.returncode == 0
    assert consistent(db) == {a.url for a in site.truth()}


def make_read_only(path) -> None:
    if os.geteuid() != 0:
        path.chmod(0o444)
        return
    if (
        shutil.which("chattr") is None
        or subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0
    ):
        pytest.skip("running as root on a filesystem without immutable files")


def undo_read_only(path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)
    path.chmod(0o644)


def test_read_only_archive_is_exit_5_and_untouched(site, tmp_path):
    db = tmp_path / "kant.db"
    assert run_scrapy_crawl(site.base_url, db).returncode == 0
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = db.read_bytes()
    make_read_only(db)
    try:
        result = kantkg("crawl", "--base-url", site.base_url, "--db", str(db))
        assert result.returncode == 5
        assert result.stderr.startswith("kantkg: ") and result.stderr.count("\n") == 1
        assert "Traceback" not in result.stderr
        assert db.read_bytes() == before
        search = kantkg("search", "Бишкек", "--db", str(db))  # reading still works
        assert search.returncode == 0 and search.stdout
    finally:
        undo_read_only(db)


def test_missing_directory_is_created_but_a_file_in_the_way_is_exit_5(site, tmp_path):
    nested = tmp_path / "new" / "sub" / "kant.db"
    result = kantkg(
        "crawl", "--base-url", site.base_url, "--db", str(nested), "--no-throttle", "--quiet"
    )
    assert result.returncode == 0 and nested.exists()
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a directory")
    result = kantkg("crawl", "--base-url", site.base_url, "--db", str(blocker / "kant.db"))
    assert result.returncode == 5 and result.stderr.count("\n") == 1
    assert blocker.read_text() == "not a directory"


def test_disk_full_stops_the_crawl_with_exit_5_and_loses_nothing(site, tmp_path):
    db = tmp_path / "kant.db"
    env = {**os.environ, "KANT_DB_MAX_MB": "1"}
    result = kantkg("crawl", "--base-url", site.base_url, "--db", str(db), "--no-throttle", env=env)
    assert result.returncode == 5, result.stderr
    assert result.stderr.splitlines()[-1].startswith("kantkg: archive not writable")
    urls = consistent(db)
    assert 0 < len(urls) < len(site.truth())
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT status, finish_reason, exit_code, new FROM crawls").fetchone()
    assert row == ("failed", "archive_error", 5, len(urls))  # counts are of durable rows
    # Room again: the next crawl completes the set, keeping what was archived.
    assert (
        kantkg(
            "crawl", "--base-url", site.base_url, "--db", str(db), "--no-throttle", "--quiet"
        ).returncode
        == 0
    )
    assert consistent(db) == {a.url for a in site.truth()}


def test_newer_schema_and_not_sqlite_are_refused_untouched(site, tmp_path):
    newer = tmp_path / "newer.db"
    db = archive.open_archive(newer)
    db.execute(f"PRAGMA user_version = {archive.SCHEMA_VERSION + 1}")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    before = newer.read_bytes()
    result = kantkg("crawl", "--base-url", site.base_url, "--db", str(newer))
    assert result.returncode == 5 and "newer than this kantkg" in result.stderr
    assert newer.read_bytes() == before
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"SQLite format 2\x00" + os.urandom(5000))
    before = junk.read_bytes()
    result = kantkg("crawl", "--base-url", site.base_url, "--db", str(junk))
    assert result.returncode == 5 and result.stderr.count("\n") == 1
    assert junk.read_bytes() == before


_FULL_AT_THE_END = """
import sys
sys.path.insert(0, {root!r})
import spiders.extensions as ext

ext.COMMIT_EVERY = 3600.0  # one group: the crawl's last commit holds every article
original = ext.CrawlLog.commit


def commit(self, only_if_due=False, ending=False):
    if ending:  # the disk fills just before the last group's commit
        pages = self.db.execute("PRAGMA page_count").fetchone()[0]
        self.db.execute(f"PRAGMA max_page_count = {{pages}}")
    original(self, only_if_due, ending)
    if ending:
        self.db.execute("PRAGMA max_page_count = 1000000")


ext.CrawlLog.commit = commit
from kantkg.cli.main import main

main(["crawl", "--base-url", sys.argv[1], "--db", sys.argv[2], "--no-throttle", "--quiet"])
"""


def test_a_last_commit_that_fails_is_exit_5_and_the_next_run_catches_up(tmp_path):
    """A full disk at the crawl's very last commit: articles are lost from this run, so
    it must not say ok (it said ok, exit 0, and counted only what had fitted); the row
    says failed, exit 5, and the next run archives everything."""
    db = tmp_path / "kant.db"
    with Replica(articles=30, seed=6) as site:
        script = _FULL_AT_THE_END.format(root=str(ROOT))
        result = subprocess.run(
            [sys.executable, "-c", script, site.base_url, str(db)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert result.returncode == 5, result.stderr[-2000:]
        assert "cannot write the archive" in result.stderr
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT status, exit_code FROM crawls").fetchall() == [
                ("failed", 5)
            ]
        again = run_kantkg("crawl", "--base-url", site.base_url, "--db", str(db), "--no-throttle")
        assert again.returncode == 0, again.stderr
        assert consistent(db) == {t.url for t in site.truth()}
