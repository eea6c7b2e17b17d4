"""Page extraction in worker processes, so that a crawl uses more than one core.

A crawl's process runs Scrapy's event loop, the pipelines and the SQLite writes on one
core. Extraction -- parsing a page and reading its fields, ~0.5-1 ms of pure CPU -- takes
bytes and returns a small dict, cheap to ship between processes (~50 µs), so it runs in
a worker while the loop goes on fetching and archiving. With no workers (a one-core
machine, or KANT_EXTRACT_WORKERS=0) it runs inline, with the same results.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from kantkg.extract import extract_raw

logger = logging.getLogger(__name__)
PARENT_CHECK_SECONDS = 1.0


def default_workers() -> int:
    """One core stays with the crawl's own process; at most two workers are useful (a
    crawl fetches a few hundred pages a second)."""
    return max(0, min(2, (os.cpu_count() or 1) - 1))


def _start_worker(parent: int) -> None:
    """Run once in each worker: leave with the crawl (a SIGKILLed crawl cannot shut its
    pool down, and a worker waiting for pages would wait forever), then pay imports and
    first-call costs before the first page."""
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    extract_raw(b"<html><body><h1>x</h1><p>warm up</p></body></html>", "https://x/")


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


class Extractor:
    """extract_raw, awaited: in a worker process when there are any, else inline."""

    def __init__(self, workers: int) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self.workers = max(0, workers)
        if self.workers:
            # spawn, not fork: the crawl's process has threads and open files by now.
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker, initargs=(os.getpid(),))

    async def extract(self, body: bytes, url: str, declared: str | None) -> dict | None:
        if self._pool is not None:
            try:
                return await asyncio.wrap_future(
                    self._pool.submit(extract_raw, body, url, declared))
            except BrokenProcessPool:  # a worker died (killed, out of memory): go inline
                logger.warning("extraction worker died; extracting in the crawl's process")
                self._pool, self.workers = None, 0
        return extract_raw(body, url, declared)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool, self.workers = None, 0
