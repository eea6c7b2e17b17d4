"""Page extraction in a process beside the crawl's own, with the standard library.

The crawl's process runs Scrapy's event loop, reads sitemaps and writes SQLite; reading
a page is CPU work. One worker process does that meanwhile, which is what takes a crawl
with politeness off past its throughput target (bench/TIMING_NOTES.md, make bench).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor


def _leave_with(parent: int) -> None:
    """In the worker: exit once the crawl that started it is gone (killed with -9 too;
    a pool's worker otherwise waits on its queue forever)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="kantkg-parent-watch", daemon=True).start()


def extraction_pool() -> ProcessPoolExecutor | None:
    """One worker process, or None on a single core (extract inline there)."""
    if (os.cpu_count() or 1) < 2:
        return None
    return ProcessPoolExecutor(
        1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_leave_with,
        initargs=(os.getpid(),),
    )
