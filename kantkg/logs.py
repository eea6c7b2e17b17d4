"""Logging for `kantkg crawl`: a rotating log file for the record, a quiet console.

Cron mails whatever a job prints, so the console gets kantkg's own warnings and errors
(errors only with --quiet) -- not one line per failed request, which the final summary
counts -- while everything at INFO goes to the log file, rotated by size.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

LOG_MAX_BYTES = 5 * 1024 * 1024
LOG_BACKUPS = 5
FORMAT = "%(asctime)s [%(name)s] %(levelname)s: %(message)s"


def default_log_file(db_path: str | Path) -> Path:
    """data/kant.db -> data/logs/kantkg.log"""
    return Path(db_path).parent / "logs" / "kantkg.log"


OWN_LOGGERS = ("kantkg", "pipelines", "spiders")


def _own_or_critical(record: logging.LogRecord) -> bool:
    return record.name.startswith(OWN_LOGGERS) or record.levelno >= logging.CRITICAL


def setup_logging(log_file: str | Path, quiet: bool) -> None:
    log_file = Path(log_file)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    file_handler = logging.handlers.RotatingFileHandler(
        log_file, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8")
    file_handler.setLevel(logging.INFO)
    file_handler.setFormatter(logging.Formatter(FORMAT))
    console = logging.StreamHandler()
    console.setLevel(logging.ERROR if quiet else logging.WARNING)
    console.setFormatter(logging.Formatter("kantkg: %(levelname)s: %(message)s"))
    console.addFilter(_own_or_critical)
    root.addHandler(file_handler)
    root.addHandler(console)
