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
