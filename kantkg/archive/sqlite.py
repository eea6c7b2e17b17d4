"""The DB-API module the archive runs on: the one sqlite-utils opens every connection with,
pysqlite3 (a bundled SQLite 3.5x: the `fast-sqlite` extra) when installed, else the
standard library's sqlite3. Why the extra: search at 200,000 articles meets its targets
on SQLite 3.5x and not on Debian's 3.40 (measured: bench/TIMING_NOTES.md, make bench).

sqlite-utils makes that choice (sqlite_utils.utils.sqlite3) and opens every archive
connection with it; taking it from there means our code and sqlite-utils never disagree.
It matters: pysqlite3's errors are not subclasses of the stdlib's, so an
`except sqlite3.DatabaseError` on the stdlib module silently stops catching; and two SQLite
library copies with the same file open in one process break each other's POSIX locks.
Import SQLite from here (`from kantkg.archive.sqlite import sqlite3`), never `import sqlite3`.
"""

from __future__ import annotations

from sqlite_utils.utils import sqlite3

Connection = sqlite3.Connection
Row = sqlite3.Row
Error = sqlite3.Error
DatabaseError = sqlite3.DatabaseError
OperationalError = sqlite3.OperationalError
IntegrityError = sqlite3.IntegrityError
sqlite_version: str = sqlite3.sqlite_version  # of the SQLite library itself
connect = sqlite3.connect

__all__ = [
    "Connection",
    "DatabaseError",
    "Error",
    "IntegrityError",
    "OperationalError",
    "Row",
    "connect",
    "sqlite3",
    "sqlite_version",
]
