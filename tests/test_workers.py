"""Extraction in a worker process beside the crawl (kantkg.crawl.workers): the same results as
inline, and no worker outlives its crawl."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from kantkg.crawl.process import LOOPBACK_SETTINGS, scrapy_crawl_argv, scrapy_env
from kantkg.crawl.workers import extraction_pool
from kantkg.extract import extract_raw
from kantkg.replica import Corpus, Replica
from kantkg.replica.render import article_page
from tests.conftest import ROOT


def test_a_worker_extracts_exactly_what_inline_extraction_does():
    pages = [
        (article_page(t, "https://kant.kg", [])[0], t.url)
        for t in Corpus(10, seed=3, base_url="https://kant.kg").all()
    ]
    pool = extraction_pool()
    assert pool is not None  # the machines here have 2 cores
    try:
        results = list(pool.map(extract_raw, *zip(*pages, strict=True)))
    finally:
        pool.shutdown()
    assert results == [extract_raw(body, url) for body, url in pages]


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(child) for child in out.split()]


def test_the_worker_of_a_killed_crawl_exits_too(tmp_path):
    with Replica(articles=3000, seed=1) as site:
        argv = scrapy_crawl_argv(
            site.base_url, str(tmp_path / "kant.db"), settings=LOOPBACK_SETTINGS
        )
        crawl = subprocess.Popen(
            argv, cwd=ROOT, env=scrapy_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while not _children(crawl.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        children = _children(crawl.pid)
        os.kill(crawl.pid, signal.SIGKILL)
        crawl.wait()
    assert children
    deadline = time.monotonic() + 10
    while (
        any(os.path.exists(f"/proc/{child}") for child in children) and time.monotonic() < deadline
    ):
        time.sleep(0.2)
    alive = [child for child in children if os.path.exists(f"/proc/{child}")]
    for child in alive:  # (the test's own mess is not left behind)
        os.kill(child, signal.SIGKILL)
    assert not alive
