"""The SQLite archive: schema by code, upsert by canonical URL, crawls log, search.

Built on sqlite-utils. WAL mode so searches never block the crawler; one transaction per
article so a crash mid-crawl leaves every row whole. `PRAGMA user_version` records the
schema version; `open_archive` creates or migrates.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlite_utils

from kantkg import bounds, clock, site, textsearch, urls
from kantkg.db import sqlite3  # pysqlite3 or stdlib: as sqlite-utils opens the file
from kantkg.outcome import failures_by_kind

SCHEMA_VERSION = 3

ARTICLE_COLUMNS = {
    "id": int,
    "url": str,
    "title": str,
    "published": str,
    "published_utc": str,
    "published_date": str,
    "modified": str,
    "modified_utc": str,
    "author": str,
    "section": str,
    "tags": str,  # JSON list
    "body": str,  # paragraphs joined by a blank line
    "paragraph_count": int,
    "duplicates_removed": int,
    "boilerplate_removed": int,
    "method": str,  # JSON: field -> extraction layer
    "date_warnings": str,  # JSON list
    "content_hash": str,
    "fetched_url": str,
    "first_seen": str,
    "last_seen": str,
}
PAGE_COLUMNS = {
    "url": str,
    "fetched_at": str,
    "status": int,
    "content_type": str,
    "etag": str,
    "last_modified": str,
    "html_zlib": bytes,  # raw page as fetched (decoded text, UTF-8, zlib): for reparse
}
REVISION_COLUMNS = {
    "id": int,
    "article_id": int,
    "url": str,
    "title": str,
    "body": str,
    "content_hash": str,
    "valid_from": str,  # first_seen of that version
    "replaced_at": str,
}
CRAWL_COLUMNS = {
    "id": int,
    "started": str,
    "finished": str,
    "base_url": str,
    "status": str,  # running | ok | incomplete (part of the site not seen) | failed
    "finish_reason": str,
    "requests": int,
    "responses": int,
    "articles_seen": int,
    "new": int,
    "updated": int,
    "unchanged": int,
    "dropped": int,
    "errors": int,
    "article_requests": int,  # article pages requested (incremental runs: few)
    "not_modified": int,  # conditional GETs answered 304
    "since": str,  # the run's date range (backfills), NULL = unbounded
    "until": str,
    "full": int,  # 1 = --full: known articles fetched again
    "exit_code": int,  # what `kantkg crawl` exited with (NULL for bare `scrapy crawl`)
    "dropped_reasons": str,  # JSON: reason -> items dropped for it
    "failures": str,  # JSON: kind of failure -> count (timeouts, http 404, retried: ...)
    "warnings": str,  # JSON list: extraction drift and other signs worth a look
    "incomplete": str,  # JSON list: why the crawl did not see the whole site ([] = it did)
    "stats": str,  # JSON of the crawler's whole stats dict
}
# What a crawl could not see (a sitemap that failed, an article answered 503 or 403...):
# the next crawl asks for these first, and a success removes them.
UNSEEN_COLUMNS = {
    "url": str,
    "kind": str,  # sitemap | listing | article
    "reason": str,  # the last failure: "http 503", "TimeoutError", ...
    "first_failed": str,
    "last_failed": str,
    "attempts": int,
    "crawl_id": int,  # the last crawl that failed to see it
}


class ArchiveError(Exception):
    """A one-line, user-facing problem with the archive file."""


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """All or nothing, explicitly: BEGIN IMMEDIATE (take the write lock up front, so two
    writers queue instead of deadlocking) ... COMMIT, ROLLBACK on any error. Python's
    implicit transactions are not relied on: they did not hold an article's rows
    together."""
    conn = db.conn
    if conn.in_transaction:  # nested: a savepoint inside the caller's transaction
        conn.execute("SAVEPOINT kantkg")
        try:
            yield
        except BaseException:
            if conn.in_transaction:  # (a full disk may make SQLite roll back everything)
                conn.execute("ROLLBACK TO kantkg")
                conn.execute("RELEASE kantkg")
            raise
        conn.execute("RELEASE kantkg")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def utc_now() -> str:
    return clock.now_iso()


def open_archive(path: str | Path) -> sqlite_utils.Database:
    """Open (creating directory, file and schema as needed) an archive in WAL mode."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite_utils.Database(path)
        db.conn.execute("PRAGMA busy_timeout = 10000")
        db.enable_wal()
        db.conn.execute("PRAGMA synchronous = NORMAL")
        _cap_size(db)
        ensure_schema(db)
    except sqlite3.DatabaseError as exc:
        raise ArchiveError(f"cannot open archive {path}: {exc}") from None
    except OSError as exc:
        raise ArchiveError(f"cannot open archive {path}: {exc.strerror or exc}") from None
    return db


def _cap_size(db: sqlite_utils.Database) -> None:
    """KANT_DB_MAX_MB caps the archive's size (a small server's disk): past it, writes fail
    as on a full disk -- the article's transaction rolls back, the crawl stops, exit 5."""
    limit = os.environ.get("KANT_DB_MAX_MB")
    if not limit:
        return
    try:
        megabytes = float(limit)
    except ValueError:
        megabytes = float("nan")
    if not 0 < megabytes < float("inf"):  # also false for nan
        # A ValueError, not an ArchiveError: the setting is wrong, not the file (exit 2).
        raise ValueError(f"KANT_DB_MAX_MB={limit!r} is not a size in MB (a number above 0,"
                         " e.g. 500)")
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    pages = min(max(1, int(megabytes * 1024 * 1024 / page_size)), 4294967294)  # SQLite's max
    db.execute(f"PRAGMA max_page_count = {pages}")


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Create the schema in a new file, migrate an older one, refuse a newer one."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise ArchiveError(
            f"archive schema version {version} is newer than this kantkg ({SCHEMA_VERSION}):"
            " upgrade kantkg"
        )
    if version == SCHEMA_VERSION:
        return
    with transaction(db):  # all or nothing: a failed migration leaves the old schema
        if version == 0 and not db["articles"].exists():
            _create_schema(db)
        else:
            for target in range(max(version, 1) + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[target](db)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _create_schema(db: sqlite_utils.Database) -> None:
    articles = db["articles"]
    articles.create(ARTICLE_COLUMNS, pk="id", not_null={"url", "title", "body"})
    _create_article_indexes(db)
    _create_search_index(db)
    db["pages"].create(PAGE_COLUMNS, pk="url")
    db["revisions"].create(REVISION_COLUMNS, pk="id")
    db["revisions"].create_index(["article_id"])
    db["crawls"].create(CRAWL_COLUMNS, pk="id")
    db["unseen"].create(UNSEEN_COLUMNS, pk="url")


def _create_article_indexes(db: sqlite_utils.Database) -> None:
    articles = db["articles"]
    articles.create_index(["url"], unique=True, if_not_exists=True)
    articles.create_index(["published_utc"], if_not_exists=True)
    articles.create_index(["published_date"], if_not_exists=True)
    articles.create_index(["section", "published_utc"], if_not_exists=True)


def _create_search_index(db: sqlite_utils.Database) -> None:
    """`articles_fts`: FTS5 over the *stems* of title and body (kantkg.textsearch),
    rowid = articles.id, written in the article's transaction (a Batch's: in its group's)."""
    db.execute(
        "CREATE VIRTUAL TABLE articles_fts USING fts5(title, body, tokenize='unicode61')"
    )


def _index_article(db: sqlite_utils.Database, article_id: int, title: str, body: str) -> None:
    db.execute("DELETE FROM articles_fts WHERE rowid = ?", [article_id])
    db.execute("INSERT INTO articles_fts (rowid, title, body) VALUES (?, ?, ?)",
               [article_id, textsearch.index_text(title), textsearch.index_text(body)])


def _migrate_to_2(db: sqlite_utils.Database) -> None:
    """v1 indexed raw words with triggers: no stemming, no ё/е folding. v2 indexes stems,
    written from Python; crawls gain a `warnings` column."""
    for trigger in ("articles_ai", "articles_ad", "articles_au"):
        db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    db.execute("DROP TABLE IF EXISTS articles_fts")
    _create_search_index(db)
    for article_id, title, body in db.execute("SELECT id, title, body FROM articles"):
        _index_article(db, article_id, title, body)
    _create_article_indexes(db)
    for column, kind in CRAWL_COLUMNS.items():
        if column not in db["crawls"].columns_dict:
            db["crawls"].add_column(column, kind)


def _migrate_to_3(db: sqlite_utils.Database) -> None:
    """v3 remembers what a crawl could not see (`unseen`), and why a crawl was incomplete;
    rows are keyed by the one spelling of their URL (kantkg.urls.article_url)."""
    db["unseen"].create(UNSEEN_COLUMNS, pk="url", if_not_exists=True)
    for column, kind in CRAWL_COLUMNS.items():
        if column not in db["crawls"].columns_dict:
            db["crawls"].add_column(column, kind)
    _rekey_articles(db)


def _rekey_articles(db: sqlite_utils.Database) -> None:
    """Rows keyed by another spelling of the URL (`?utm_campaign=z`, no trailing slash)
    take the one spelling. Where that row exists already, this one is a duplicate of it:
    its text becomes a revision of that article (nothing is dropped), and it goes."""
    rows = db.execute("SELECT id, url, title, body, content_hash, first_seen, last_seen"
                      " FROM articles ORDER BY id").fetchall()
    for article_id, url, title, body, digest, first_seen, last_seen in rows:
        key = urls.article_url(url)
        if key == url:
            continue
        kept = db.execute("SELECT id, content_hash FROM articles WHERE url = ?",
                          [key]).fetchone()
        if kept is None:
            db.execute("UPDATE articles SET url = ? WHERE id = ?", [key, article_id])
            db.execute("UPDATE revisions SET url = ? WHERE article_id = ?", [key, article_id])
            if not db.execute("SELECT 1 FROM pages WHERE url = ?", [key]).fetchone():
                db.execute("UPDATE pages SET url = ? WHERE url = ?", [key, url])
            continue
        kept_id, kept_digest = kept
        db.execute("UPDATE revisions SET article_id = ?, url = ? WHERE article_id = ?",
                   [kept_id, key, article_id])
        if digest != kept_digest:
            _insert(db, "revisions", {"article_id": kept_id, "url": key, "title": title,
                                      "body": body, "content_hash": digest,
                                      "valid_from": first_seen, "replaced_at": last_seen})
        db.execute("DELETE FROM articles_fts WHERE rowid = ?", [article_id])
        db.execute("DELETE FROM articles WHERE id = ?", [article_id])
        db.execute("DELETE FROM pages WHERE url = ?", [url])


MIGRATIONS = {2: _migrate_to_2, 3: _migrate_to_3}


# ------------------------------------------------------------------ articles


def article_key(item: dict) -> str:
    """The archive's identity of an article: the one spelling of the URL it was fetched
    at (kantkg.urls.article_url). Not its canonical link: a page naming another article
    as canonical would overwrite that article."""
    return urls.article_url(item["url"])


def unarchivable_reason(item: dict) -> str | None:
    """Why an item cannot become an article row (the pipeline drops and counts it): junk
    beyond a sanity bound (kantkg.bounds; checked first, as a page refused unread has no
    title either), or no title or body."""
    if junk := bounds.junk_reason(item):
        return junk
    if not (item.get("title") or "").strip():
        return "no-title"
    if not item.get("paragraphs"):
        return "no-body"
    return None


def body_of(paragraphs: list[str]) -> str:
    return "\n\n".join(paragraphs)


def content_hash(title: str, body: str) -> str:
    return hashlib.sha256(f"{title}\n\n{body}".encode()).hexdigest()


def _article_row(item: dict) -> dict:
    body = body_of(item["paragraphs"])
    return {
        "url": article_key(item),
        "title": item["title"].strip(),
        "published": item.get("published"),
        "published_utc": item.get("published_utc"),
        "published_date": item.get("published_date"),
        "modified": item.get("modified"),
        "modified_utc": item.get("modified_utc"),
        "author": item.get("author"),
        "section": item.get("section"),
        "tags": json.dumps(item.get("tags") or [], ensure_ascii=False),
        "body": body,
        "paragraph_count": len(item["paragraphs"]),
        "duplicates_removed": item.get("duplicates_removed", 0),
        "boilerplate_removed": item.get("boilerplate_removed", 0),
        "method": json.dumps(item.get("method") or {}, ensure_ascii=False, sort_keys=True),
        "date_warnings": json.dumps(item.get("date_warnings") or [], ensure_ascii=False),
        "content_hash": content_hash(item["title"].strip(), body),
        "fetched_url": item["url"],
    }


def _insert(db: sqlite_utils.Database, table: str, row: dict) -> int:
    """Plain INSERT: sqlite-utils' insert() commits on its own, which would split an
    article's rows over several transactions. Column names come from our schema."""
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    return db.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})",
                      list(row.values())).lastrowid


def _update(db: sqlite_utils.Database, table: str, key: str, value, row: dict) -> None:
    assignments = ", ".join(f"{column} = ?" for column in row)
    db.execute(f"UPDATE {table} SET {assignments} WHERE {key} = ?", [*row.values(), value])


def upsert_article(db: sqlite_utils.Database, item: dict, now: str | None = None) -> str:
    """Insert or update one article -- row, search index, revision, raw page -- in one
    transaction; returns new|updated|unchanged. A changed title or body moves the
    previous version to `revisions`."""
    return _upsert(db, item, now or utc_now(), lambda *row: _index_article(db, *row))


IndexWrite = Callable[[int, str, str], None]  # (article id, title, body)


def _upsert(db: sqlite_utils.Database, item: dict, now: str, index: IndexWrite) -> str:
    """upsert_article, with the search index row handed to `index` inside the article's
    transaction rather than written there (a Batch writes it at commit)."""
    row = _article_row(item)
    with transaction(db):
        existing = db.execute(
            "SELECT id, title, body, content_hash, first_seen FROM articles WHERE url = ?",
            [row["url"]],
        ).fetchone()
        if existing is None:
            article_id = _insert(db, "articles", {**row, "first_seen": now, "last_seen": now})
            index(article_id, row["title"], row["body"])
            outcome = "new"
        else:
            article_id, old_title, old_body, old_hash, first_seen = existing
            if old_hash == row["content_hash"]:
                _update(db, "articles", "id", article_id, {"last_seen": now})
                outcome = "unchanged"
            else:
                _insert(db, "revisions", {
                    "article_id": article_id,
                    "url": row["url"],
                    "title": old_title,
                    "body": old_body,
                    "content_hash": old_hash,
                    "valid_from": first_seen,
                    "replaced_at": now,
                })
                _update(db, "articles", "id", article_id, {**row, "last_seen": now})
                index(article_id, row["title"], row["body"])
                outcome = "updated"
        if item.get("html") is not None:
            _store_page(db, row["url"], item, now)
    return outcome


class CommitError(sqlite3.DatabaseError):
    """A Batch's group could not be committed, and was written again article by article
    up to the first that failed: `committed` counts the articles that are durable now."""

    def __init__(self, error: sqlite3.DatabaseError, committed: Counter[str]) -> None:
        super().__init__(str(error))
        self.error = error
        self.committed = committed


class Batch:
    """Articles written in groups with one commit each, for a crawl.

    Each upsert inside stays all or nothing (a savepoint, see `transaction`); what the
    group shares is the commit, the costliest part of a small write in WAL mode (~30% of
    archiving an article). A crash loses the open group -- those pages are fetched again
    next run -- never part of an article. Readers see a group when it commits.

    The group's search index rows are written just before its commit, outside the
    articles' savepoints: FTS5 flushes its pending terms at every savepoint (it could not
    roll them back otherwise), ~90 µs and one index segment an article. When the group
    cannot be committed (a full disk: at its index rows, its commit, or an article after
    which SQLite rolled the whole group back), it is written again the plain way, one
    transaction an article, up to the first that fails: the articles that fit are kept,
    as if they had been written one by one, and CommitError counts them.
    """

    def __init__(self, db: sqlite_utils.Database, max_items: int = 100,
                 max_seconds: float = 1.0) -> None:
        self.db = db
        self.max_items = max_items
        self.max_seconds = max_seconds
        self.pending: Counter[str] = Counter()  # outcomes not yet committed
        self._written: list[tuple[dict, str]] = []  # (item, time) of the group: the replay
        self._unindexed: dict[int, tuple[str, str]] = {}  # article id -> (title, body)
        self._opened_at = 0.0

    def upsert(self, item: dict) -> str:
        """Write one article into the open group (opening one if needed); -> its outcome.
        On a database error the article is not written; CommitError when that error
        also undid the group."""
        if not self.db.conn.in_transaction:
            self.db.conn.execute("BEGIN IMMEDIATE")
            self._opened_at = time.monotonic()
        now = utc_now()
        rows: list[tuple[int, str, str]] = []
        try:
            outcome = _upsert(self.db, item, now, lambda *row: rows.append(row))
        except sqlite3.DatabaseError as exc:
            if self.db.conn.in_transaction or not self._written:
                raise  # the article's savepoint undid it; the group stands
            _, written, _ = self._take()  # SQLite rolled the whole group back: write it again
            raise CommitError(exc, self._replay(written)) from exc
        self._written.append((item, now))
        for article_id, title, body in rows:
            self._unindexed[article_id] = (title, body)  # an article twice: its last text
        self.pending[outcome] += 1
        return outcome

    @property
    def due(self) -> bool:
        return bool(self.pending) and (
            self.pending.total() >= self.max_items
            or time.monotonic() - self._opened_at >= self.max_seconds)

    def commit(self) -> Counter[str]:
        """Index and make the open group durable; -> its outcomes. On failure nothing
        half-written stays: CommitError says what the replay kept."""
        done, written, unindexed = self._take()
        if not self.db.conn.in_transaction:
            return done
        try:
            for article_id, (title, body) in unindexed.items():
                _index_article(self.db, article_id, title, body)
            self.db.conn.execute("COMMIT")
        except BaseException as exc:  # (not only SQLite's: rows must never commit unindexed)
            if self.db.conn.in_transaction:
                self.db.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.DatabaseError):
                raise CommitError(exc, self._replay(written)) from exc
            raise
        return done

    def _take(self) -> tuple[Counter[str], list[tuple[dict, str]], dict[int, tuple[str, str]]]:
        """The open group's outcomes, articles and index rows, leaving the batch empty."""
        taken = self.pending, self._written, self._unindexed
        self.pending, self._written, self._unindexed = Counter(), [], {}
        return taken

    def _replay(self, written: list[tuple[dict, str]]) -> Counter[str]:
        """Write a rolled-back group one transaction an article (each durable on its
        own, whatever SQLite rolls back next), up to the first that fails."""
        done: Counter[str] = Counter()
        for item, now in written:
            try:
                done[upsert_article(self.db, item, now)] += 1
            except sqlite3.DatabaseError:
                break
        return done


def compress_page(html: bytes | str) -> bytes:
    """The raw page as `pages.html_zlib` keeps it: UTF-8, zlib."""
    return zlib.compress(html if isinstance(html, bytes) else html.encode("utf-8"), 6)


def decompress_page(blob: bytes) -> str:
    """The page `compress_page` stored, as text: the one reader of `pages.html_zlib`."""
    return zlib.decompress(blob).decode("utf-8")


def _store_page(db: sqlite_utils.Database, url: str, item: dict, now: str) -> None:
    page = {
        "url": url,
        "fetched_at": item.get("fetched_at") or now,
        "status": item.get("status", 200),
        "content_type": item.get("content_type"),
        "etag": item.get("etag"),
        "last_modified": item.get("last_modified"),
        "html_zlib": compress_page(item["html"]),
    }
    db.execute("DELETE FROM pages WHERE url = ?", [url])
    _insert(db, "pages", page)


EXPORT_COLUMNS = ("id", "url", "title", "published", "published_utc", "published_date",
                  "modified", "author", "section", "tags", "body", "paragraph_count",
                  "duplicates_removed", "first_seen", "last_seen")


def article_filters(table: str, since: str | None = None, until: str | None = None,
                    section: str | None = None) -> tuple[list[str], list[str]]:
    """WHERE clauses (and their parameters) for a local publication-date range and a
    section, on the articles table known as `table` in the query."""
    where, params = [], []
    for clause, value in (("published_date >= ?", since), ("published_date <= ?", until),
                          ("section = ?", section)):
        if value:
            where.append(f"{table}.{clause}")
            params.append(value)
    return where, params


def export_rows(db: sqlite_utils.Database, *, since: str | None = None,
                until: str | None = None, section: str | None = None) -> Iterator[dict]:
    """Articles oldest first, tags as a list, for JSONL/CSV export (streamed)."""
    where, params = article_filters("articles", since, until, section)
    sql = f"SELECT {', '.join(EXPORT_COLUMNS)} FROM articles"
    if where:
        sql += " WHERE " + " AND ".join(where)
    cursor = db.execute(sql + " ORDER BY published_utc, id", params)
    for values in cursor:
        row = dict(zip(EXPORT_COLUMNS, values, strict=True))
        row["tags"] = json.loads(row["tags"] or "[]")
        yield row


def count_articles(db: sqlite_utils.Database) -> int:
    return db["articles"].count


SQLITE_MAX_INT = 2**63 - 1


def get_article(db: sqlite_utils.Database, url_or_id: str | int) -> dict | None:
    """An article by id (ASCII digits) or by any spelling of its URL; None for digits no
    id can be (beyond SQLite's 64-bit integers, 5,000 of them, superscripts like ²)."""
    text = str(url_or_id).strip()
    if isinstance(url_or_id, int) or (text.isascii() and text.isdigit()):
        digits = text.lstrip("0") or "0"  # (int() refuses more than 4,300 digits)
        if len(digits) > 19 or int(digits) > SQLITE_MAX_INT:
            return None
        rows = db["articles"].rows_where("id = ?", [int(digits)])
    else:
        rows = db["articles"].rows_where("url = ?", [urls.article_url(text)])
    return next(iter(rows), None)


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


def start_crawl(db: sqlite_utils.Database, base_url: str, *, since: str | None = None,
                until: str | None = None, full: bool = False) -> int:
    with transaction(db):
        return _insert(db, "crawls", {
            "started": utc_now(), "base_url": urls.without_credentials(base_url),
            "status": "running",
            "since": since, "until": until, "full": int(full),
        })


def set_exit_code(db: sqlite_utils.Database, crawl_id: int, code: int) -> None:
    with transaction(db):
        _update(db, "crawls", "id", crawl_id, {"exit_code": code})


def last_complete_crawl_start(db: sqlite_utils.Database, base_url: str) -> str | None:
    """When the last successful crawl of the whole site (no date range) began: a
    sitemap not modified since then holds nothing new. Only crawls that checked what
    they saw count (`incomplete` set, schema 3 on): an older 'ok' may hide a failed
    sitemap."""
    row = db.execute(
        "SELECT started FROM crawls WHERE status = 'ok' AND base_url = ? AND since IS NULL"
        " AND until IS NULL AND incomplete IS NOT NULL ORDER BY id DESC LIMIT 1",
        [urls.without_credentials(base_url)]).fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class PageState:
    """What the archive knows of one fetched article page, for conditional requests."""

    fetched_at: str | None
    etag: str | None
    last_modified: str | None


def page_state(db: sqlite_utils.Database, url: str) -> PageState | None:
    row = db.execute("SELECT fetched_at, etag, last_modified FROM pages WHERE url = ?",
                     [urls.article_url(url)]).fetchone()
    return PageState(*row) if row else None


def unseen_urls(db: sqlite_utils.Database, base_url: str) -> list[tuple[str, str, int]]:
    """(url, kind, attempts) of what earlier crawls of this site could not see, oldest
    first."""
    rows = db.execute("SELECT url, kind, attempts FROM unseen ORDER BY first_failed, url")
    return [(url, kind, attempts) for url, kind, attempts in rows
            if site.same_site(url, base_url)]


def record_unseen(db: sqlite_utils.Database, crawl_id: int | None,
                  failed: dict[str, tuple[str, str]], seen: set[str]) -> None:
    """Remember what this crawl could not see (url -> (kind, reason)) and forget what it
    saw after all, in one transaction."""
    now = utc_now()
    with transaction(db):
        for url in seen - failed.keys():
            db.execute("DELETE FROM unseen WHERE url = ?", [url])
        for url, (kind, reason) in failed.items():
            db.execute(
                "INSERT INTO unseen (url, kind, reason, first_failed, last_failed, attempts,"
                " crawl_id) VALUES (?, ?, ?, ?, ?, 1, ?) ON CONFLICT(url) DO UPDATE SET"
                " kind = excluded.kind, reason = excluded.reason, last_failed = excluded."
                "last_failed, attempts = attempts + 1, crawl_id = excluded.crawl_id",
                [url, kind, reason, now, now, crawl_id])


def finish_crawl(db: sqlite_utils.Database, crawl_id: int, status: str, reason: str,
                 counts: dict[str, int], stats: dict, warnings: list[str] | None = None,
                 incomplete: list[str] | None = None) -> None:
    dropped = {key.rsplit("/", 1)[1]: value for key, value in stats.items()
               if key.startswith("kantkg/dropped/")}
    with transaction(db):
        _update(db, "crawls", "id", crawl_id, {
            "finished": utc_now(),
            "status": status,
            "finish_reason": reason,
            **counts,
            "warnings": json.dumps(warnings or [], ensure_ascii=False),
            "incomplete": json.dumps(incomplete or [], ensure_ascii=False),
            "dropped_reasons": json.dumps(dropped, sort_keys=True),
            "failures": json.dumps(failures_by_kind(stats), ensure_ascii=False),
            "stats": json.dumps(stats, ensure_ascii=False, default=str, sort_keys=True),
        })


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


def health(db: sqlite_utils.Database, max_age: timedelta,
           now: datetime | None = None) -> Health:
    """Is the archive being kept up to date? The last finished crawl must have succeeded
    and the last successful one must have finished within max_age."""
    now = now or clock.now()
    finished = db.execute(
        "SELECT id, status, finish_reason, exit_code, finished, incomplete FROM crawls"
        " WHERE finished IS NOT NULL ORDER BY id DESC LIMIT 1").fetchone()
    if finished is None:
        return Health(False, "no finished crawl recorded in this archive")
    crawl_id, status, reason, code, when, incomplete = finished
    if status != "ok" or code not in (None, 0):
        why = "; ".join(json.loads(incomplete or "[]")) or reason
        return Health(False, f"last crawl #{crawl_id} {status} ({why}, exit code "
                             f"{code}) finished {_ago(when, now)}")
    ok = db.execute("SELECT id, finished, new, updated FROM crawls WHERE status = 'ok' AND"
                    " (exit_code IS NULL OR exit_code = 0) ORDER BY id DESC LIMIT 1").fetchone()
    crawl_id, when, new, updated = ok
    age = now - datetime.fromisoformat(when)
    if age > max_age:
        return Health(False, f"last successful crawl #{crawl_id} finished {_ago(when, now)},"
                             f" longer ago than {max_age}")
    return Health(True, f"last crawl #{crawl_id} finished {_ago(when, now)}: {new} new, "
                        f"{updated} updated")


def last_crawl(db: sqlite_utils.Database) -> dict | None:
    return next(iter(db["crawls"].rows_where(order_by="id desc", limit=1)), None)


# -------------------------------------------------------------------- search

# The ranking of search hits, in the CLI and in Datasette's canned query alike: bm25, a
# word in the title weighing five in the body (lower is better).
RANK = "bm25(articles_fts, 5.0, 1.0)"


def search(db: sqlite_utils.Database, query: str, limit: int = 10, *,
           since: str | None = None, until: str | None = None,
           section: str | None = None) -> list[dict]:
    """Articles matching all words of `query` (stemmed, ё=е), best bm25 first (ties by
    id), with a highlighted snippet. since/until are local publication dates (YYYY-MM-DD).

    One statement: the ranking happens inside FTS5 on (rowid, score) pairs only, and just
    the winners are joined to their articles."""
    parsed = textsearch.parse_query(query)
    if not parsed:
        return []
    filters, params = article_filters("a", since, until, section)
    # CROSS JOIN: FTS5 drives. Probing it per article (SQLite 3.51 picks that for a section
    # filter) re-runs the MATCH for every row: seconds instead of milliseconds.
    join = "CROSS JOIN articles a ON a.id = articles_fts.rowid" if filters else ""
    ranking = f"""
        SELECT articles_fts.rowid AS rowid, {RANK} AS score
        FROM articles_fts {join}
        WHERE {" AND ".join(["articles_fts MATCH ?", *filters])}"""
    params.insert(0, parsed.match)
    cursor = db.execute(f"""
        WITH top AS ({ranking} ORDER BY score, rowid LIMIT ?)
        SELECT a.id, a.url, a.title, a.published, a.section, a.body
        FROM top JOIN articles a ON a.id = top.rowid
        ORDER BY top.score, top.rowid
    """, [*params, limit])
    columns = [c[0] for c in cursor.description]
    hits = []
    for values in cursor:
        hit = dict(zip(columns, values, strict=True))
        hit["snippet"] = textsearch.snippet(hit.pop("body"), parsed)
        hits.append(hit)
    return hits
