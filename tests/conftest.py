"""Shared fixtures: a replica on an ephemeral port and `scrapy crawl kant` against it."""

from __future__ import annotations

import http.client
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from kantkg.archive.sqlite import sqlite3
from kantkg.crawl.process import LOOPBACK_SETTINGS, scrapy_crawl_argv, scrapy_env

ROOT = Path(__file__).resolve().parent.parent


def run_scrapy_crawl(
    base_url: str,
    db: Path,
    *,
    since: str | None = None,
    until: str | None = None,
    timeout: float = 240,
    **settings: str,
) -> subprocess.CompletedProcess:
    """The real thing, as a user runs it: `scrapy crawl kant` in the project directory."""
    argv = scrapy_crawl_argv(
        base_url, str(db), since=since, until=until, settings={**LOOPBACK_SETTINGS, **settings}
    )
    return subprocess.run(
        argv,
        cwd=ROOT,
        env=scrapy_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_kantkg(
    *args: str, timeout: float = 180, env: dict | None = None
) -> subprocess.CompletedProcess:
    """The `kantkg` command as a user runs it (python -m kantkg), output captured."""
    return subprocess.run(
        [sys.executable, "-m", "kantkg", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def archived(db) -> dict[str, dict]:
    """The archive's articles by URL, read as a user would, with plain SQL."""
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return {r["url"]: dict(r) for r in conn.execute("SELECT * FROM articles")}


def last_crawl(db) -> dict:
    """The archive's newest `crawls` row."""
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return dict(conn.execute("SELECT * FROM crawls ORDER BY id DESC LIMIT 1").fetchone())


def get(site, path: str, headers: dict | None = None) -> http.client.HTTPResponse:
    """One GET from a replica, its body read (`response.body`)."""
    parts = urlsplit(site.base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    response.body = response.read()
    conn.close()
    return response


@pytest.fixture(scope="session")
def replica():
    from kantkg.replica import Replica

    with Replica(articles=60, seed=7) as site:
        yield site


def assert_index_exact(db) -> None:
    """The search index holds exactly the terms of the articles as they are now. (A count
    of articles_fts proves nothing: an external-content table reads `articles`.) Its terms
    are compared, as FTS5's vocabulary, with those of a fresh index of the same rows."""
    from kantkg.archive.textsearch import index_text

    db.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 0)")
    db.execute("CREATE VIRTUAL TABLE temp.expected USING fts5(title, body)")
    for article_id, title, body in db.execute("SELECT id, title, body FROM articles"):
        db.execute(
            "INSERT INTO temp.expected (rowid, title, body) VALUES (?, ?, ?)",
            [article_id, index_text(title), index_text(body)],
        )
    db.execute("CREATE VIRTUAL TABLE temp.have_v USING fts5vocab(main, articles_fts, instance)")
    db.execute("CREATE VIRTUAL TABLE temp.want_v USING fts5vocab(temp, expected, instance)")
    query = "SELECT term, doc, col, offset FROM temp.{} ORDER BY 1, 2, 3, 4"
    try:
        have = db.execute(query.format("have_v")).fetchall()
        want = db.execute(query.format("want_v")).fetchall()
    finally:
        for table in ("have_v", "want_v", "expected"):
            db.execute(f"DROP TABLE temp.{table}")
    assert have == want


def index_terms(conn) -> list[tuple]:
    """(term, article id, column, offset) of every term in the search index, in order:
    what the index holds (a SELECT from articles_fts reads the articles instead)."""
    conn.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.index_terms_v USING "
        "fts5vocab(main, articles_fts, instance)"
    )
    try:
        return conn.execute(
            "SELECT term, doc, col, offset FROM temp.index_terms_v ORDER BY 1, 2, 3, 4"
        ).fetchall()
    finally:
        conn.execute("DROP TABLE temp.index_terms_v")


def indexed_articles(conn) -> int:
    """How many articles have terms in the search index."""
    return len({doc for _, doc, _, _ in index_terms(conn)})
