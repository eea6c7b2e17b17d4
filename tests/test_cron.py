"""What cron relies on: `kantkg crawl` exit codes, the lock, quiet runs, logs, health,
and a killed backfill that resumes without fetching again what it archived."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from kantkg import archive
from kantkg.archive.sqlite import sqlite3
from kantkg.crawl.lock import CrawlLock
from kantkg.replica import Replica
from tests.conftest import ROOT, run_kantkg

kantkg = run_kantkg


@pytest.fixture(scope="module")
def site():
    with Replica(articles=40, seed=4) as replica:
        yield replica


def test_quiet_crawl_prints_nothing_logs_everything_and_records_exit_code(site, tmp_path):
    db = tmp_path / "kant.db"
    result = kantkg(
        "crawl", "--base-url", site.base_url, "--db", str(db), "--no-throttle", "--quiet"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
    log = (tmp_path / "logs" / "kantkg.log").read_text()
    assert "Spider opened" in log and "Spider closed (finished)" in log
    assert " DEBUG: " not in log  # not a line per request and item (the items' whole text)
    with sqlite3.connect(db) as conn:
        code, status = conn.execute("SELECT exit_code, status FROM crawls").fetchone()
    assert (code, status) == (0, "ok")
    loud = kantkg(
        "crawl",
        "--base-url",
        site.base_url,
        "--db",
        str(db),
        "--no-throttle",
        "--log-file",
        str(tmp_path / "other.log"),
    )
    assert loud.returncode == 0
    assert loud.stderr.startswith("crawl #2: 0 new, 0 updated")
    assert (tmp_path / "other.log").exists()


def test_second_crawl_is_refused_while_the_lock_is_held(site, tmp_path):
    db = tmp_path / "kant.db"
    with CrawlLock(db):
        result = kantkg("crawl", "--base-url", site.base_url, "--db", str(db))
    assert result.returncode == 7
    assert result.stderr.startswith("kantkg: another crawl holds")
    assert f"pid {os.getpid()}" in result.stderr
    # Released (or its holder killed): the next crawl runs.
    assert (
        kantkg("crawl", "--base-url", site.base_url, "--db", str(db), "--no-throttle").returncode
        == 0
    )


def test_lock_of_a_killed_crawl_is_not_stale(site, tmp_path):
    db = tmp_path / "kant.db"
    script = (
        f"import sys, time; sys.path.insert(0, {str(ROOT)!r})\n"
        "from kantkg.crawl.lock import CrawlLock\n"
        f"CrawlLock({str(db)!r}).acquire(); print('locked', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    assert kantkg("crawl", "--base-url", site.base_url, "--db", str(db)).returncode == 7
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert (
        kantkg("crawl", "--base-url", site.base_url, "--db", str(db), "--no-throttle").returncode
        == 0
    )


def test_unwritable_archive_is_exit_5(site, tmp_path):
    if os.geteuid() == 0:
        # root ignores file modes: an archive path SQLite cannot open as a file instead
        db = tmp_path / "kant.db"
        db.mkdir()
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        archive.open_archive(ro / "kant.db").close()
        (ro / "kant.db").chmod(0o444)
        ro.chmod(0o555)
        db = ro / "kant.db"
    result = kantkg("crawl", "--base-url", site.base_url, "--db", str(db))
    assert result.returncode == 5 and result.stderr.count("\n") == 1, result.stderr


def test_an_sqlite_uri_as_archive_path_is_refused_before_anything_is_created(tmp_path):
    before = set(ROOT.iterdir())
    result = kantkg(
        "crawl", "--base-url", "http://127.0.0.1:9", "--db", f"file:{tmp_path / 'kant.db'}?mode=ro"
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "not an SQLite URI" in result.stderr
    assert set(ROOT.iterdir()) == before  # no directory named `file:` in the cwd


def test_health_exit_codes(tmp_path):
    db_path = tmp_path / "kant.db"
    db = archive.open_archive(db_path)
    assert not archive.health(db, timedelta(hours=2)).healthy  # nothing yet
    crawl_id = archive.start_crawl(db, "https://kant.kg")
    archive.finish_crawl(db, crawl_id, {"status": "ok", "finish_reason": "finished", "new": 3})
    archive.set_exit_code(db, crawl_id, 0, "ok")
    db.close()
    ok = kantkg("health", "--db", str(db_path), "--max-age", "2h")
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, "", "")  # cron mails nothing
    said = kantkg("health", "--db", str(db_path), "--max-age", "2h", "-v")
    assert said.returncode == 0 and said.stdout.startswith("ok: last crawl #1 finished")
    now = datetime.now(UTC)
    db = archive.open_archive(db_path)
    assert not archive.health(db, timedelta(hours=2), now=now + timedelta(hours=3)).healthy
    failed = archive.start_crawl(db, "https://kant.kg")
    archive.finish_crawl(db, failed, {"status": "failed", "finish_reason": "shutdown"})
    archive.set_exit_code(db, failed, 8, "failed")
    db.close()
    bad = kantkg("health", "--db", str(db_path), "--max-age", "2h")
    assert bad.returncode == 1
    assert bad.stderr.startswith("kantkg: unhealthy: last crawl #2 failed (shutdown, exit code 8)")
    stale = kantkg("health", "--db", str(db_path), "--max-age", "soon")
    assert stale.returncode == 2 and "not a duration" in stale.stderr


def test_killed_backfill_resumes_without_refetching(tmp_path):
    db = tmp_path / "kant.db"
    with Replica(articles=1500, seed=13) as big:
        wanted = {a.url for a in big.truth() if a.published >= "2015-01-01"}
        argv = [
            sys.executable,
            "-m",
            "kantkg",
            "crawl",
            "--base-url",
            big.base_url,
            "--db",
            str(db),
            "--since",
            "2015-01-01",
            "--no-throttle",
            "--quiet",
        ]
        first = subprocess.Popen(
            argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        archived = 0
        deadline = time.monotonic() + 60
        while archived < 200 and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.05)
            if db.exists():
                try:
                    with sqlite3.connect(db, timeout=10) as conn:
                        archived = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
                except sqlite3.OperationalError:  # the file is there, its schema not yet
                    continue
        first.send_signal(signal.SIGKILL)
        first.wait()
        with sqlite3.connect(db, timeout=10) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            before = {u for (u,) in conn.execute("SELECT url FROM articles")}
        assert 0 < len(before) < len(wanted)
        fetched_first = {p for p, n in big.requests.items() if big.corpus.find(p)}
        big.reset_counts()
        second = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert second.returncode == 0, second.stderr
        refetched = {big.base_url + p for p, n in big.requests.items() if big.corpus.find(p)}
    with sqlite3.connect(db) as conn:
        after = {u for (u,) in conn.execute("SELECT url FROM articles")}
        (urls, distinct) = conn.execute(
            "SELECT count(url), count(DISTINCT url) FROM articles"
        ).fetchone()
    assert after == wanted and urls == distinct
    assert not (refetched & before)  # nothing archived before the kill is fetched again
    assert len(refetched) == len(wanted) - len(before)
    assert len(fetched_first) >= len(before)


def test_retry_after_is_honoured(tmp_path):
    from kantkg.crawl.retry import retry_after_seconds

    assert retry_after_seconds(b"3") == 3.0
    assert (
        retry_after_seconds(
            "Wed, 21 Oct 2015 07:28:00 GMT", datetime(2015, 10, 21, 7, 27, 30, tzinfo=UTC)
        )
        == 30.0
    )
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
    db = tmp_path / "kant.db"
    with Replica(articles=5, seed=2) as small:
        target = small.truth()[2]
        small.fail_next(target.path, 429, headers={"Retry-After": "2"})
        small.fail_next(target.path, 503, headers={"Retry-After": "1"})
        result = kantkg("crawl", "--base-url", small.base_url, "--db", str(db), "--no-throttle")
        hits = [(t, status) for t, path, status in small.log if path == target.path]
    assert result.returncode == 0, result.stderr
    assert [status for _, status in hits] == [429, 503, 200]
    assert hits[1][0] - hits[0][0] >= 1.9 and hits[2][0] - hits[1][0] >= 0.9
    with sqlite3.connect(db) as conn:
        assert (
            conn.execute("SELECT count(*) FROM articles WHERE url = ?", [target.url]).fetchone()[0]
            == 1
        )
    assert "with Retry-After: pausing the crawl 2.0 s" in result.stderr


def test_retries_back_off_exponentially(tmp_path):
    from tests.conftest import run_scrapy_crawl

    db = tmp_path / "kant.db"
    with Replica(articles=5, seed=2) as small:
        target = small.truth()[1]
        small.fail_next(target.path, 503, times=3)  # no Retry-After: our own backoff
        result = run_scrapy_crawl(
            small.base_url, db, KANT_BACKOFF_BASE="0.3", KANT_BACKOFF_MAX="10", RETRY_TIMES="3"
        )
        hits = [t for t, path, _ in small.log if path == target.path]
    assert result.returncode == 0
    gaps = [b - a for a, b in zip(hits, hits[1:], strict=False)]
    assert len(gaps) == 3
    assert gaps[0] >= 0.27 and gaps[1] >= 0.54 and gaps[2] >= 1.08  # 0.3, 0.6, 1.2 s
    with sqlite3.connect(db) as conn:
        assert (
            conn.execute("SELECT count(*) FROM articles WHERE url = ?", [target.url]).fetchone()[0]
            == 1
        )


def test_a_bare_scrapy_crawl_takes_the_lock_too(site, tmp_path):
    """`scrapy crawl kant` (not only `kantkg crawl`) refuses to run beside another crawl
    of the same archive: no request, no `crawls` row, one error line saying who holds it;
    once the lock is free it crawls and then leaves the lock free."""
    from tests.conftest import run_scrapy_crawl

    db = tmp_path / "kant.db"
    with CrawlLock(db):
        refused = run_scrapy_crawl(site.base_url, db)
    assert "another crawl holds" in refused.stderr and f"pid {os.getpid()}" in refused.stderr
    assert "'finish_reason': 'locked'" in refused.stderr
    assert "downloader/request_count" not in refused.stderr
    assert (
        not db.exists()
        or sqlite3.connect(db)
        .execute("SELECT count(*) FROM sqlite_master WHERE name = 'crawls'")
        .fetchone()[0]
        == 0
    )
    ran = run_scrapy_crawl(site.base_url, db)
    assert ran.returncode == 0, ran.stderr[-2000:]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status FROM crawls").fetchall() == [("ok",)]
    CrawlLock(db).acquire().release()  # free again


def test_a_crawl_the_lock_stopped_exits_7_like_one_refused_up_front():
    """Two crawls started together: the loser's CrawlLog closes it as `locked`."""
    from kantkg.crawl import outcome
    from kantkg.crawl import stats as keys

    assert outcome.exit_code({keys.FINISH_REASON: outcome.LOCKED}) == outcome.EXIT_LOCKED


def test_too_many_failures_is_one_status_everywhere(tmp_path):
    """A crawl that exits 9 (more requests failed than KANT_MAX_ERROR_RATE allows) is
    'failed' in its crawls row, in `kantkg crawls` and for `health`: one vocabulary with
    the exit code, for `kantkg crawl` and a bare `scrapy crawl kant` alike."""
    from tests.conftest import run_scrapy_crawl

    with Replica(articles=10, seed=5) as small:
        for truth in small.truth()[:4]:
            small.fail_next(truth.path, 500, times=50)
        db = tmp_path / "kant.db"
        result = kantkg(
            "crawl",
            "--base-url",
            small.base_url,
            "--db",
            str(db),
            "--no-throttle",
            "--max-error-rate",
            "0.05",
        )
        assert result.returncode == 9, result.stderr
        bare = tmp_path / "bare.db"
        ran = run_scrapy_crawl(small.base_url, bare, KANT_MAX_ERROR_RATE="0.05")
        assert ran.returncode == 0  # (scrapy crawl's own exit says nothing: see the row)
    for path in (db, bare):
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT status, exit_code FROM crawls").fetchall() == [
                ("failed", 9)
            ]
        rows = json.loads(kantkg("crawls", "--db", str(path), "--json").stdout)
        assert (rows[0]["status"], rows[0]["exit_code"]) == ("failed", 9)
        health = kantkg("health", "--db", str(path))
        assert health.returncode == 1 and "failed" in health.stderr


def test_a_bare_scrapy_crawl_of_a_url_without_scheme_is_a_setting_error(tmp_path):
    """`scrapy crawl kant -s KANT_BASE_URL=kant.kg` says what is wrong with the setting
    and stops before any request, instead of "unreachable"."""
    from tests.conftest import run_scrapy_crawl

    result = run_scrapy_crawl("kant.kg", tmp_path / "kant.db")
    assert "KANT_BASE_URL='kant.kg': not an http:// or https:// URL" in result.stderr
    assert "'finish_reason': 'bad_setting'" in result.stderr
    assert "downloader/request_count" not in result.stderr


def test_progress_has_a_total_and_a_rate_only_when_asked(site, tmp_path):
    """KANT_PROGRESS (kantkg crawl turns it on at a terminal): a bar of article requests
    answered of those made, with the rate; a run without it (cron) shows none."""
    from tests.conftest import run_scrapy_crawl

    shown = run_scrapy_crawl(site.base_url, tmp_path / "a.db", KANT_PROGRESS="True")
    total = len(site.truth())
    assert "kantkg: articles: 100%" in shown.stderr
    assert f"{total}/{total} [" in shown.stderr and " art/s" in shown.stderr
    hidden = run_scrapy_crawl(site.base_url, tmp_path / "b.db")
    assert "kantkg: articles" not in hidden.stderr


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("KANT_MAX_SITEMAPS", "abc", "not a whole number of 1 or more"),
        ("KANT_FULL", "maybe", "not true or false"),
        ("KANT_BACKOFF_BASE", "x", "not a number of seconds"),
        ("KANT_DB_MAX_MB", "0", "not a size in MB"),
    ],
)
def test_a_bare_scrapy_crawl_with_a_bad_setting_says_which_and_stops(tmp_path, name, value, said):
    """`scrapy crawl kant -s NAME=bad`: a traceback from deep in Scrapy before; now the
    setting named, and no request."""
    from tests.conftest import run_scrapy_crawl

    result = run_scrapy_crawl("http://127.0.0.1:9", tmp_path / "kant.db", **{name: value})
    assert f"{name}={value!r}: {said}" in result.stderr
    assert "'finish_reason': 'bad_setting'" in result.stderr
    assert "Traceback" not in result.stderr
    assert "downloader/request_count" not in result.stderr
