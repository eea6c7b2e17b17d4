"""Running the `kant` spider: as a subprocess (`scrapy crawl kant`) or in-process.

One home for the command line the demo, the tests and the benchmarks run, and for the
settings that suit the loopback replica (no politeness delays against 127.0.0.1).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

# Politeness protects a real site; against the loopback replica it only wastes time.
LOOPBACK_SETTINGS: dict[str, str] = {
    "AUTOTHROTTLE_ENABLED": "False",
    "DOWNLOAD_DELAY": "0",
    "CONCURRENT_REQUESTS": "32",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "32",
    "KANT_BACKOFF_BASE": "0.05",
    "KANT_BACKOFF_MAX": "0.5",
}


def scrapy_env() -> dict[str, str]:
    """Environment in which `scrapy crawl kant` finds the project from any directory."""
    env = dict(os.environ)
    env.setdefault("SCRAPY_SETTINGS_MODULE", "kantkg.settings")
    return env


def scrapy_crawl_argv(
    base_url: str,
    db: str,
    *,
    since: str | None = None,
    until: str | None = None,
    settings: Mapping[str, str] | None = None,
) -> list[str]:
    """`scrapy crawl kant ...` for this interpreter, with the given settings."""
    argv = [
        sys.executable,
        "-m",
        "scrapy",
        "crawl",
        "kant",
        "-s",
        f"KANT_BASE_URL={base_url}",
        "-s",
        f"KANT_DB={db}",
    ]
    for name, value in (settings or {}).items():
        argv += ["-s", f"{name}={value}"]
    if since:
        argv += ["-a", f"since={since}"]
    if until:
        argv += ["-a", f"until={until}"]
    return argv


def run_in_process(
    *,
    base_url: str | None = None,
    db: str | None = None,
    since: str | None = None,
    until: str | None = None,
    settings: Mapping[str, object] | None = None,
) -> dict:
    """Run one crawl in this process (a Twisted reactor runs once per process) and
    return its final stats."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "kantkg.settings")
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    project = get_project_settings()
    if base_url:
        project.set("KANT_BASE_URL", base_url, priority="cmdline")
    if db:
        project.set("KANT_DB", db, priority="cmdline")
    for name, value in (settings or {}).items():
        project.set(name, value, priority="cmdline")
    # kantkg crawl sets up its own handlers (rotating file, quiet console).
    project.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
    process = CrawlerProcess(project)
    # Scrapy pins its loggers at DEBUG and, without its root handler, nothing applies
    # LOG_LEVEL: every request and every scraped item (whole text) went to the log file.
    logging.getLogger("scrapy").setLevel(project.get("LOG_LEVEL"))
    crawler = process.create_crawler("kant")
    spider_args = {k: v for k, v in (("since", since), ("until", until)) if v}
    process.crawl(crawler, **spider_args)
    process.start()
    return dict(crawler.stats.get_stats() or {})
