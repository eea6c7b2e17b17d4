"""Logging for `kantkg crawl`: a rotating log file for the record, a quiet console.

Cron mails whatever a job prints, so the console gets kantkg's own warnings and errors
(errors only with --quiet) -- not one line per failed request, which the final summary
counts -- while everything at INFO goes to the log file, rotated by size.

A log file that cannot be written is a failure of the crawl, not a stream of
"--- Logging error ---" blocks on stderr: it is tried once at setup (one line, the crawl
does not start) and a later failure (a full disk) is remembered and reported at the end.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import stat
import sys
from pathlib import Path

LOG_MAX_BYTES = 5 * 1024 * 1024
LOG_BACKUPS = 5
FORMAT = "%(asctime)s [%(name)s] %(levelname)s: %(message)s"


class LogFileError(Exception):
    """The log file cannot be opened or written (the message is one line)."""


def default_log_file(db_path: str | Path) -> Path:
    """data/kant.db -> data/logs/kantkg.log"""
    return Path(db_path).parent / "logs" / "kantkg.log"


OWN_LOGGERS = ("kantkg", "pipelines", "spiders")


def _own_or_critical(record: logging.LogRecord) -> bool:
    return record.name.startswith(OWN_LOGGERS) or record.levelno >= logging.CRITICAL


class LogFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating file handler that remembers its first failed write instead of printing
    a traceback to stderr for every record it loses."""

    failure: str | None = None

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        if self.failure is None:
            exc = sys.exc_info()[1]
            self.failure = (
                exc.strerror
                if isinstance(exc, OSError) and exc.strerror
                else str(exc) or type(exc).__name__
            )


def _open_log(log_file: Path) -> LogFileHandler:
    """The handler, or LogFileError: a FIFO would block the crawl until a reader came."""
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        mode = log_file.stat().st_mode if log_file.exists() else stat.S_IFREG
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            raise LogFileError(f"cannot write log {log_file}: not a regular file")
        return LogFileHandler(
            log_file, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
        )
    except OSError as exc:
        raise LogFileError(f"cannot write log {log_file}: {exc.strerror or exc}") from None


def setup_logging(log_file: str | Path, quiet: bool) -> LogFileHandler:
    """Install the file and console handlers; the file handler is returned so the crawl
    can ask it at the end whether every record was written (`failure`)."""
    log_file = Path(log_file)
    file_handler = _open_log(log_file)
    file_handler.setLevel(logging.INFO)
    file_handler.setFormatter(logging.Formatter(FORMAT))
    # One real record, written and flushed now: /dev/full or a full disk fails here.
    file_handler.handle(
        logging.LogRecord(
            "kantkg",
            logging.INFO,
            __file__,
            0,
            "log opened by kantkg crawl (pid %d)",
            (os.getpid(),),
            None,
        )
    )
    if file_handler.failure:
        with contextlib.suppress(OSError):  # (closing flushes again, and fails again)
            file_handler.close()
        raise LogFileError(f"cannot write log {log_file}: {file_handler.failure}")
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    console = logging.StreamHandler()
    console.setLevel(logging.ERROR if quiet else logging.WARNING)
    console.setFormatter(logging.Formatter("kantkg: %(levelname)s: %(message)s"))
    console.addFilter(_own_or_critical)
    root.addHandler(file_handler)
    root.addHandler(console)
    return file_handler


def log_failure(handler: LogFileHandler) -> str | None:
    """Why some records never reached the log file (flushed first), or None."""
    try:
        handler.flush()
    except OSError as exc:
        handler.failure = handler.failure or exc.strerror or str(exc)
    return handler.failure
