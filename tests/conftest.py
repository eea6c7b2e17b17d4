"""Shared fixtures: a replica on an ephemeral port and `scrapy crawl kant` against it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kantkg.crawl import LOOPBACK_SETTINGS, scrapy_crawl_argv, scrapy_env

ROOT = Path(__file__).resolve().parent.parent


def run_scrapy_crawl(base_url: str, db: Path, *, since: str | None = None,
                     until: str | None = None, timeout: float = 240,
                     **settings: str) -> subprocess.CompletedProcess:
    """The real thing, as a user runs it: `scrapy crawl kant` in the project directory."""
    argv = scrapy_crawl_argv(base_url, str(db), since=since, until=until,
                             settings={**LOOPBACK_SETTINGS, **settings})
    return subprocess.run(argv, cwd=ROOT, env=scrapy_env(), capture_output=True, text=True,
                          timeout=timeout, check=False)


def run_kantkg(*args: str, timeout: float = 180,
               env: dict | None = None) -> subprocess.CompletedProcess:
    """The `kantkg` command as a user runs it (python -m kantkg), output captured."""
    return subprocess.run([sys.executable, "-m", "kantkg", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="session")
def replica():
    from kantkg.replica import Replica

    with Replica(articles=60, seed=7) as site:
        yield site
