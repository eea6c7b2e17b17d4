"""The crawls log and what crawls leave for the next one: a `crawls` row per run, the
pages' validators for conditional requests, the `unseen` list, and health."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from kantkg import clock, site, urls
from kantkg.archive.schema import ArchiveError, insert, transaction, update
from kantkg.archive.sqlite import sqlite3

# -------------------------------------------------------------------- crawls


def check_writable(db: sqlite_utils.Database) -> None:
    """Fail now, in one line, if a crawl could not write (read-only file or directory)."""
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute("CREATE TABLE IF NOT EXISTS _kantkg_write_check (x)")
        db.execute("ROLLBACK")
    except sqlite3.DatabaseError as exc:
        if db.conn.in_transaction:
            db.execute("ROLLBACK")
        raise ArchiveError(f"archive not writable: {exc}") from None


def start_crawl(
    db: sqlite_utils.Database,
    base_url: str,
    *,
    since: str | None = None,
    until: str | None = None,
    full: bool = False,
) -> int:
    with transaction(db):
        return insert(
            db,
            "crawls",
            {
                "started": clock.now_iso(),
                "base_url": urls.without_credentials(base_url),
                "status": "running",
                "since": since,
                "until": until,
                "full": int(full),
            },
        )


def set_exit_code(db: sqlite_utils.Database, crawl_id: int, code: int, status: str) -> None:
    """A crawl's final exit code and the status that goes with it (kantkg.crawl.outcome),
    when something after the crawl changed them (its log could not be written)."""
    with transaction(db):
        update(db, "crawls", "id", crawl_id, {"exit_code": code, "status": status})
        # (a row the crawl could not close -- its own write failed -- is closed here)
        db.execute(
            "UPDATE crawls SET finished = ? WHERE id = ? AND finished IS NULL",
            [clock.now_iso(), crawl_id],
        )


def last_complete_crawl_start(db: sqlite_utils.Database, base_url: str) -> str | None:
    """When the last successful crawl of the whole site (no date range) began: a
    sitemap not modified since then holds nothing new. Only crawls that checked what
    they saw count (`incomplete` set, schema 3 on): an older 'ok' may hide a failed
    sitemap."""
    row = db.execute(
        "SELECT started FROM crawls WHERE status = 'ok' AND base_url = ? AND since IS NULL"
        " AND until IS NULL AND incomplete IS NOT NULL ORDER BY id DESC LIMIT 1",
        [urls.without_credentials(base_url)],
    ).fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class PageState:
    """What the archive knows of one fetched article page, for conditional requests."""

    fetched_at: str | None
    etag: str | None
    last_modified: str | None


def page_state(db: sqlite_utils.Database, url: str) -> PageState | None:
    """From the article's captures: when it was last fetched (a 304 counts: the page was
    checked then) and the validators of its last page."""
    key = urls.article_url(url)
    page = db.execute(
        "SELECT etag, last_modified FROM captures WHERE url = ? AND status = 200"
        " ORDER BY fetched_at DESC, id DESC LIMIT 1",
        [key],
    ).fetchone()
    if page is None:
        return None
    (checked,) = db.execute(
        "SELECT max(fetched_at) FROM captures WHERE url = ? AND status IN (200, 304)", [key]
    ).fetchone()
    return PageState(checked, *page)


def unseen_urls(db: sqlite_utils.Database, base_url: str) -> list[tuple[str, str, int]]:
    """(url, kind, attempts) of what earlier crawls of this site could not see, oldest
    first."""
    rows = db.execute("SELECT url, kind, attempts FROM unseen ORDER BY first_failed, url")
    return [(url, kind, attempts) for url, kind, attempts in rows if site.same_site(url, base_url)]


def record_unseen(
    db: sqlite_utils.Database,
    crawl_id: int | None,
    failed: dict[str, tuple[str, str]],
    seen: set[str],
) -> None:
    """Remember what this crawl could not see (url -> (kind, reason)) and forget what it
    saw after all, in one transaction."""
    now = clock.now_iso()
    with transaction(db):
        for url in seen - failed.keys():
            db.execute("DELETE FROM unseen WHERE url = ?", [url])
        for url, (kind, reason) in failed.items():
            db.execute(
                "INSERT INTO unseen (url, kind, reason, first_failed, last_failed, attempts,"
                " crawl_id) VALUES (?, ?, ?, ?, ?, 1, ?) ON CONFLICT(url) DO UPDATE SET"
                " kind = excluded.kind, reason = excluded.reason, last_failed = excluded."
                "last_failed, attempts = attempts + 1, crawl_id = excluded.crawl_id",
                [url, kind, reason, now, now, crawl_id],
            )


def finish_crawl(db: sqlite_utils.Database, crawl_id: int, row: dict) -> None:
    """Close a crawl's row with what the crawl made of its run (kantkg.crawl.outcome's
    crawl_record): plain columns as they are, lists and dicts as JSON."""
    columns = {
        column: json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
        if isinstance(value, list | dict)
        else value
        for column, value in row.items()
    }
    with transaction(db):
        update(db, "crawls", "id", crawl_id, {"finished": clock.now_iso(), **columns})


@dataclass(frozen=True)
class Health:
    healthy: bool
    message: str


def _ago(when: str, now: datetime) -> str:
    seconds = int((now - datetime.fromisoformat(when)).total_seconds())
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


def health(db: sqlite_utils.Database, max_age: timedelta, now: datetime | None = None) -> Health:
    """Is the archive being kept up to date? The last finished crawl must have succeeded
    and the last successful one must have finished within max_age."""
    now = now or clock.now()
    finished = db.execute(
        "SELECT id, status, finish_reason, exit_code, finished, incomplete FROM crawls"
        " WHERE finished IS NOT NULL ORDER BY id DESC LIMIT 1"
    ).fetchone()
    if finished is None:
        return Health(False, "no finished crawl recorded in this archive")
    crawl_id, status, reason, code, when, incomplete = finished
    if status != "ok" or code not in (None, 0):
        why = "; ".join(json.loads(incomplete or "[]")) or reason
        return Health(
            False,
            f"last crawl #{crawl_id} {status} ({why}, exit code {code}) finished {_ago(when, now)}",
        )
    ok = db.execute(
        "SELECT id, finished, new, updated FROM crawls WHERE status = 'ok' AND"
        " (exit_code IS NULL OR exit_code = 0) ORDER BY id DESC LIMIT 1"
    ).fetchone()
    crawl_id, when, new, updated = ok
    age = now - datetime.fromisoformat(when)
    if age > max_age:
        return Health(
            False,
            f"last successful crawl #{crawl_id} finished {_ago(when, now)},"
            f" longer ago than {max_age}",
        )
    return Health(
        True, f"last crawl #{crawl_id} finished {_ago(when, now)}: {new} new, {updated} updated"
    )


HISTORY_COLUMNS = (
    "id",
    "started",
    "finished",
    "status",
    "exit_code",
    "finish_reason",
    "requests",
    "article_requests",
    "new",
    "updated",
    "unchanged",
    "dropped",
    "errors",
    "incomplete",
    "warnings",
)


def crawl_history(db: sqlite_utils.Database, limit: int = 20) -> list[dict]:
    """The last `limit` crawls, newest first; incomplete and warnings as lists."""
    cursor = db.execute(
        f"SELECT {', '.join(HISTORY_COLUMNS)} FROM crawls ORDER BY id DESC LIMIT ?", [limit]
    )
    rows = []
    for values in cursor:
        row = dict(zip(HISTORY_COLUMNS, values, strict=True))
        for column in ("incomplete", "warnings"):
            row[column] = json.loads(row[column] or "[]")
        rows.append(row)
    return rows


def last_crawl(db: sqlite_utils.Database) -> dict | None:
    return next(iter(db["crawls"].rows_where(order_by="id desc", limit=1)), None)
