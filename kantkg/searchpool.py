"""Exact bm25 top-k of a large FTS5 table, ranked in disjoint rowid ranges concurrently.

Why: ranking a common word costs ~0.5 us per matching row inside FTS5 (bm25 reads each
row's docsize), ~85 ms for a word in 135k of 200k articles, while finding the rows takes
~3 ms. bm25's IDF and average document length are table-wide (FTS5 computes them over the
whole index, whatever rowid constraint the statement has), so a row scores the same in a
`rowid >= ? AND rowid < ?` statement as in the whole-table one: the top `limit` of each
disjoint range, merged by (score, rowid), is exactly the whole-table top `limit`. Python's
sqlite3 releases the GIL inside sqlite3_step, so ranges rank in parallel threads, each on
its own read-only connection (a WAL reader: never blocks a crawl writing), opened by the
same DB-API module as the archive's own connection (kantkg.db): two SQLite copies with one
file open in a process break each other's locks.

Gain depends on the SQLite library: Debian's libsqlite3 3.40 (the stdlib sqlite3's here) is
built without lookaside and with memory statistics, so every malloc inside bm25's per-row
docsize lookup takes one process-wide mutex and two threads reach ~1.4x, not 2x (separate
processes do reach 2x; so does a bundled SQLite 3.51 with lookaside, in threads: the
pysqlite3-binary that kantkg.db uses where it is installed).

Only `parallel_top` is meant to be called; it returns None whenever the caller should run
its single statement instead (small or in-memory archive, open write transaction, or any
worker failure), so using it can never make a search fail: a real error in the statement
is raised by that single statement.
"""

from __future__ import annotations

import atexit
import heapq
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from urllib.parse import quote

from kantkg.db import sqlite3

# Measured on synthetic archives, 2 cores, common words: 5k articles 3.5 ms either way,
# 10k 5.3 -> 4.1 ms, 20k 9.3 -> 7.1 ms, 200k 87 -> 61 ms. Below 10k there is nothing to win.
PARALLEL_MIN_ROWID = 10_000


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # what this process may use (containers)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# Ranking is CPU-bound: one range per usable core (on 2 cores, 3 or 4 ranges measured
# slower than 2), at most 4: every range pays its own IDF pass and statement.
PARTITIONS = max(1, min(_cores(), 4))
BUSY_TIMEOUT_MS = 10_000  # as open_archive: wait out a checkpoint rather than fail

Row = tuple[int, float]  # (rowid, score)


class ReaderPool:
    """Idle read-only connections to one database file, reused across searches so each
    search skips the open and finds the connection's page cache warm. Thread-safe; at most
    `max_idle` are kept, extras (concurrent searches) are closed on release."""

    def __init__(self, path: str, max_idle: int,
                 factory: type[sqlite3.Connection] = sqlite3.Connection) -> None:
        if not issubclass(factory, sqlite3.Connection):  # two SQLite copies break locks
            raise TypeError(f"{factory!r} is not a {sqlite3.__name__} connection")
        self.uri = f"file:{quote(path)}?mode=ro"
        self.factory = factory
        self.max_idle = max_idle
        self._idle: list[sqlite3.Connection] = []
        self._closed = False
        self._lock = threading.Lock()

    def acquire(self) -> sqlite3.Connection:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        conn = sqlite3.connect(self.uri, uri=True, check_same_thread=False,
                               factory=self.factory)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return conn

    def release(self, conn: sqlite3.Connection, *, broken: bool = False) -> None:
        with self._lock:
            if not (broken or self._closed or conn.in_transaction) and \
                    len(self._idle) < self.max_idle:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        """Close the idle connections now, those in use when they are released."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


# Keyed by (pid, path, device, inode): a file replaced at the same path gets a new pool,
# and a forked child never uses (or closes) its parent's connections and threads.
_pools: dict[tuple[int, str, int, int], ReaderPool] = {}
_executors: dict[int, ThreadPoolExecutor] = {}
_lock = threading.Lock()


def _pool_for(path: str, factory: type[sqlite3.Connection]) -> ReaderPool:
    stat = os.stat(path)  # FileNotFoundError if gone: the caller falls back
    key = (os.getpid(), path, stat.st_dev, stat.st_ino)
    with _lock:
        pool = _pools.get(key)
        if pool is None:
            for old in [k for k in _pools if k[:2] == key[:2]]:  # the file was replaced
                _pools.pop(old).close()
            pool = _pools[key] = ReaderPool(path, max_idle=PARTITIONS, factory=factory)
        return pool


def close_pools() -> None:
    """Close this process's pooled connections. Registered at exit: it runs before the
    archive's own connection is closed at interpreter shutdown, so that one, the last,
    still checkpoints and removes -wal/-shm as it did before pooling (a read-only
    connection cannot)."""
    with _lock:
        mine = [key for key in _pools if key[0] == os.getpid()]
        pools = [_pools.pop(key) for key in mine]
    for pool in pools:
        pool.close()


atexit.register(close_pools)


def _executor() -> ThreadPoolExecutor:
    with _lock:
        pid = os.getpid()
        if pid not in _executors:
            _executors[pid] = ThreadPoolExecutor(max(1, PARTITIONS - 1),
                                                 thread_name_prefix="kantkg-search")
        return _executors[pid]


def database_path(conn: sqlite3.Connection) -> str | None:
    """The file behind `conn`'s main database, None for :memory: and temp databases."""
    for _, name, path in conn.execute("PRAGMA database_list"):
        if name == "main":
            return path or None
    return None


def bounds(max_rowid: int, partitions: int) -> list[tuple[int | None, int | None]]:
    """`partitions` disjoint [lo, hi) rowid ranges of about equal width covering every
    possible rowid: the first is open below, the last open above, so rows outside
    1..max_rowid (or added since it was read) still belong to exactly one range."""
    cuts = [1 + max_rowid * i // partitions for i in range(1, partitions)]
    los: list[int | None] = [None, *cuts]
    his: list[int | None] = [*cuts, None]
    return list(zip(los, his, strict=True))


def _rank_range(pool: ReaderPool, sql: str, params: Sequence, rowid: str,
                lo: int | None, hi: int | None, limit: int) -> list[Row]:
    where, args = [], list(params)
    if lo is not None:
        where.append(f"{rowid} >= ?")
        args.append(lo)
    if hi is not None:
        where.append(f"{rowid} < ?")
        args.append(hi)
    ranged = f"{sql} AND {' AND '.join(where)}" if where else sql
    conn = pool.acquire()
    try:
        rows = conn.execute(f"{ranged} ORDER BY score, rowid LIMIT ?", [*args, limit]).fetchall()
    except BaseException:
        pool.release(conn, broken=True)
        raise
    pool.release(conn)
    return rows


def parallel_top(conn: sqlite3.Connection, sql: str, params: Sequence, limit: int, *,
                 max_rowid: int, rowid: str = "rowid", partitions: int | None = None,
                 min_rowid: int | None = None) -> list[Row] | None:
    """The first `limit` (rowid, score) rows of `sql` ordered by (score, rowid), ranked in
    rowid ranges on pooled read-only connections to `conn`'s file; None when the caller
    should run the single statement itself.

    `sql` is `SELECT <rowid> AS rowid, <score> AS score FROM ... WHERE ...` (a WHERE is
    required: range conditions are ANDed to it; `rowid` names the ranged column) with
    `params`; `max_rowid` is the table's largest rowid. `partitions` and `min_rowid`
    default to PARTITIONS and PARALLEL_MIN_ROWID (tests lower them)."""
    partitions = PARTITIONS if partitions is None else partitions
    min_rowid = PARALLEL_MIN_ROWID if min_rowid is None else min_rowid
    if partitions < 2 or limit <= 0 or max_rowid < min_rowid or conn.in_transaction:
        return None  # small archive, or uncommitted rows only `conn` can see
    if not isinstance(conn, sqlite3.Connection):
        return None  # another SQLite copy's connection: ours must not open its file
    try:
        path = database_path(conn)
        if path is None:
            return None
        pool = _pool_for(path, type(conn))
        ranges = bounds(max_rowid, partitions)
        executor = _executor()
        futures: list[Future[list[Row]]] = [
            executor.submit(_rank_range, pool, sql, params, rowid, lo, hi, limit)
            for lo, hi in ranges[1:]]
        try:  # the calling thread ranks the first range itself: one hand-off fewer
            rows = _rank_range(pool, sql, params, rowid, *ranges[0], limit)
        finally:
            results = [future.exception() or future.result() for future in futures]
        for result in results:
            if isinstance(result, BaseException):
                return None
            rows.extend(result)
    except Exception:  # file gone, locked, unreadable, interpreter shutting down...
        return None  # the caller's single statement raises whatever is really wrong
    return heapq.nsmallest(limit, rows, key=lambda row: (row[1], row[0]))
