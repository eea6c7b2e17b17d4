"""Extraction in worker processes gives what inline extraction gives, and never
outlives the crawl."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from kantkg.encoding import utf8_bytes
from kantkg.offload import Extractor, extract_for_archive
from kantkg.replica import Corpus, Replica
from kantkg.replica.render import article_page
from tests.conftest import ROOT, run_scrapy_crawl

CONTENT = "SELECT url, title, published, author, section, tags, body, method FROM articles"


def _replica_pages(articles: int, seed: int) -> list[tuple[bytes, str]]:
    corpus = Corpus(articles, seed=seed, base_url="https://kant.kg")
    return [(article_page(t, corpus.base_url, [])[0], t.url) for t in corpus.all()]


def test_a_worker_returns_exactly_what_inline_extraction_returns():
    pages = _replica_pages(12, seed=5)

    async def in_workers():
        extractor = Extractor(1)
        try:
            return await asyncio.gather(*(extractor.extract(b, u, None) for b, u in pages))
        finally:
            extractor.close()

    assert asyncio.run(in_workers()) == [extract_for_archive(b, u, None) for b, u in pages]
    assert Extractor(0).workers == 0


def test_the_page_comes_back_as_the_archive_keeps_it():
    truth = Corpus(30, seed=5, base_url="https://kant.kg").all()
    legacy = next(t for t in truth if t.markup == "legacy_cp1251")
    body, _ = article_page(legacy, "https://kant.kg", [])
    item = extract_for_archive(body, legacy.url, "windows-1251")
    assert zlib.decompress(item["html_zlib"]) == utf8_bytes(body, "windows-1251")
    assert legacy.title in zlib.decompress(item["html_zlib"]).decode("utf-8")
    assert extract_for_archive(b"<html><body></body></html>", legacy.url, None) is None


def test_a_dead_worker_leaves_extraction_to_the_crawl_process_with_the_same_results():
    pages = _replica_pages(6, seed=6)

    async def killed_midway():
        extractor = Extractor(1)
        try:
            first = await extractor.extract(*pages[0], None)
            worker = extractor._workers[0].process
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()
            rest = await asyncio.gather(*(extractor.extract(b, u, None) for b, u in pages[1:]))
            return [first, *rest], extractor.workers
        finally:
            extractor.close()

    got, workers_left = asyncio.run(killed_midway())
    assert got == [extract_for_archive(b, u, None) for b, u in pages]
    assert workers_left == 0


def test_an_error_in_the_worker_is_raised_in_the_crawl_process_and_the_worker_stays():
    async def bad_then_good():
        extractor = Extractor(1)
        try:
            with pytest.raises(AttributeError):
                await extractor.extract(12345, "https://kant.kg/x", None)  # not bytes
            page = b"<html><body><h1>Title here</h1><p>" + b"Text. " * 30 + b"</p></body></html>"
            return await extractor.extract(page, "https://kant.kg/news/1", None), \
                extractor.workers, extractor._workers[0].process
        finally:
            extractor.close()

    item, workers, process = asyncio.run(bad_then_good())
    assert item is not None and item["title"] == "Title here"
    assert workers == 1
    assert process.returncode == 0  # it left when closed (was not killed after a wait)


def test_crawls_with_and_without_workers_archive_the_same(replica, tmp_path):
    results = []
    for workers in ("0", "1"):
        db = tmp_path / f"w{workers}.db"
        done = run_scrapy_crawl(replica.base_url, db, KANT_EXTRACT_WORKERS=workers)
        assert done.returncode == 0, done.stderr[-2000:]
        with sqlite3.connect(db) as conn:
            results.append(sorted(conn.execute(CONTENT).fetchall()))
    assert results[0] and results[0] == results[1]


def _children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry))
    return found


def test_workers_of_a_killed_crawl_exit_too(tmp_path):
    with Replica(articles=3000, seed=21) as big:
        crawl = subprocess.Popen(
            [sys.executable, "-m", "kantkg", "crawl", "--base-url", big.base_url, "--db",
             str(tmp_path / "kant.db"), "--no-throttle", "--quiet"],
            cwd=ROOT, env={**os.environ, "KANT_EXTRACT_WORKERS": "1"},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while not workers and time.monotonic() < deadline and crawl.poll() is None:
            time.sleep(0.1)
            workers = {p for child in _children(crawl.pid) for p in {child, *_children(child)}}
        crawl.send_signal(signal.SIGKILL)
        crawl.wait()
    assert workers, "the crawl started no worker process"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") for p in workers):
        time.sleep(0.2)
    alive = [p for p in workers if os.path.exists(f"/proc/{p}")
             and Path(f"/proc/{p}/stat").read_text().split()[2] != "Z"]
    assert not alive
