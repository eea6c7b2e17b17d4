"""One crawl at a time per archive: an advisory lock file next to the database.

`flock` locks belong to the open file, so the kernel drops them when the holder dies:
a crawl killed with -9 leaves no stale lock, only a file whose PID line says who held
it last. A second `kantkg crawl` fails at once instead of waiting.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from pathlib import Path

from kantkg import clock


class LockHeld(Exception):
    """Another process holds the crawl lock (the message names it)."""


def lock_path(db_path: str | Path) -> Path:
    return Path(f"{db_path}.lock")


class CrawlLock:
    def __init__(self, db_path: str | Path) -> None:
        self.path = lock_path(db_path)
        self._fd: int | None = None

    def acquire(self) -> CrawlLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Not through a symlink, and only a regular file: the lock file is truncated below,
        # and a link planted at <db>.lock must not make that truncate another file.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise OSError(errno.EINVAL, "not a regular file", str(self.path))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode("utf-8", "replace").strip() or "unknown process"
            os.close(fd)
            raise LockHeld(f"another crawl holds {self.path} ({holder})") from None
        os.ftruncate(fd, 0)
        started = clock.now_iso()
        os.write(fd, f"pid {os.getpid()}, started {started}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> CrawlLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
