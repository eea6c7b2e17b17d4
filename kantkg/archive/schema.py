"""The archive's tables, created and migrated by code, and its one transaction rule.

Built on sqlite-utils. WAL mode so searches never block the crawler; one transaction per
article so a crash mid-crawl leaves every row whole. `PRAGMA user_version` records the
schema version; `open_archive` creates or migrates.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from kantkg import urls
from kantkg.archive import textsearch
from kantkg.archive.search import create_search_index, index_article
from kantkg.archive.sqlite import sqlite3  # pysqlite3 or stdlib: as sqlite-utils opens the file

SCHEMA_VERSION = 5

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
# Every fetched article response as received (kantkg.archive.captures).
CAPTURE_COLUMNS = {
    "id": int,
    "url": str,  # the article's URL in its one spelling (kantkg.urls.article_url)
    "target_url": str,  # the URL that answered (WARC-Target-URI)
    "requested_url": str,  # the URL first asked for, when redirects led to target_url
    "fetched_at": str,  # ISO 8601 UTC
    "status": int,
    "reason": str,  # the status line's reason phrase, if known
    "http_version": str,  # HTTP/1.1
    "request_headers": str,  # JSON [[name, value], ...] as sent
    "headers": str,  # JSON [[name, value], ...] as received
    "content_type": str,  # (from headers: what conditional requests and reparse read)
    "etag": str,
    "last_modified": str,
    "payload_digest": str,  # sha1:BASE32 of the body (WARC-Payload-Digest)
    "body_length": int,  # bytes of the body as received
    "body": bytes,  # the body as received, compressed (codec); NULL for a revisit
    "codec": str,  # how `body` is compressed: zlib
    "revisit_of": int,  # the capture holding this one's body (a revisit)
    "revisit_reason": str,  # not-modified (304) | identical-payload
    "reencoded": int,  # 1: migrated from a schema-4 page (UTF-8, no headers)
    "source": str,  # crawl <id> | warc <file> | cdx <server>
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
    "exit_code": int,  # what the run means, as `kantkg crawl` exits (kantkg.crawl.outcome)
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


def open_archive(path: str | Path, max_mb: str | float | None = None) -> sqlite_utils.Database:
    """Open (creating directory, file and schema as needed) an archive in WAL mode, its
    size capped at `max_mb` (the KANT_DB_MAX_MB setting) if given."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite_utils.Database(path)
        db.conn.execute("PRAGMA busy_timeout = 10000")
        db.enable_wal()
        db.conn.execute("PRAGMA synchronous = NORMAL")
        _cap_size(db, max_mb)
        ensure_schema(db)
        ensure_index_rule(db)
    except sqlite3.DatabaseError as exc:
        raise ArchiveError(f"cannot open archive {path}: {exc}") from None
    except OSError as exc:
        raise ArchiveError(f"cannot open archive {path}: {exc.strerror or exc}") from None
    return db


# The tables that make a SQLite file a kantkg archive (any schema version).
ARCHIVE_TABLES = {"articles", "crawls"}


def open_readonly(path: str | Path) -> sqlite_utils.Database:
    """An existing archive, for reading only: never created, migrated or written (the
    file stays byte for byte as it was), and refused unless it is a kantkg archive of
    this version's schema. Readers see the crawl's commits as they land (WAL)."""
    path = Path(path)
    try:
        uri = path.resolve().as_uri() + "?mode=ro"
        conn = sqlite3.connect(uri, uri=True)
        conn.execute("PRAGMA busy_timeout = 10000")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as exc:
        raise ArchiveError(f"cannot open archive {path}: {exc}") from None
    except (OSError, ValueError) as exc:
        raise ArchiveError(f"cannot open archive {path}: {exc}") from None
    missing = ARCHIVE_TABLES - tables
    if missing:
        conn.close()
        names = ", ".join(sorted(missing))
        raise ArchiveError(f"{path} is not a kantkg archive (no {names} table)")
    if version != SCHEMA_VERSION:
        conn.close()
        newer = version > SCHEMA_VERSION
        raise ArchiveError(
            f"archive {path} has schema version {version}, "
            + (
                f"newer than this kantkg's ({SCHEMA_VERSION}): upgrade kantkg"
                if newer
                else f"older than this kantkg's ({SCHEMA_VERSION}): the next `kantkg crawl` (or "
                "`kantkg reparse`) upgrades it"
            )
        )
    return sqlite_utils.Database(conn)


def max_megabytes(limit: str | float | None) -> float | None:
    """The KANT_DB_MAX_MB setting as a number, None when unset; a ValueError (a setting
    that is wrong, not a file: exit 2) when it is no size."""
    if limit is None or limit == "":
        return None
    try:
        megabytes = float(limit)
    except ValueError:
        megabytes = float("nan")
    if not 0 < megabytes < float("inf"):  # also false for nan
        raise ValueError(
            f"KANT_DB_MAX_MB={limit!r} is not a size in MB (a number above 0, e.g. 500)"
        )
    return megabytes


def _cap_size(db: sqlite_utils.Database, limit: str | float | None) -> None:
    """KANT_DB_MAX_MB caps the archive's size (a small server's disk): past it, writes fail
    as on a full disk -- the article's transaction rolls back, the crawl stops, exit 5."""
    megabytes = max_megabytes(limit)
    if megabytes is None:
        return
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
    articles = db.table("articles")
    articles.create(ARTICLE_COLUMNS, pk="id", not_null={"url", "title", "body"})
    _create_article_indexes(db)
    create_search_index(db)
    _create_captures(db)
    db.table("revisions").create(REVISION_COLUMNS, pk="id")
    db.table("revisions").create_index(["article_id"])
    db.table("crawls").create(CRAWL_COLUMNS, pk="id")
    db.table("unseen").create(UNSEEN_COLUMNS, pk="url")


def _create_captures(db: sqlite_utils.Database) -> None:
    captures = db.table("captures")
    captures.create(CAPTURE_COLUMNS, pk="id", not_null={"url", "fetched_at"}, if_not_exists=True)
    captures.create_index(["url", "fetched_at"], if_not_exists=True)
    captures.create_index(["fetched_at"], if_not_exists=True)


def _create_article_indexes(db: sqlite_utils.Database) -> None:
    articles = db.table("articles")
    articles.create_index(["url"], unique=True, if_not_exists=True)
    articles.create_index(["published_utc"], if_not_exists=True)
    articles.create_index(["published_date"], if_not_exists=True)
    articles.create_index(["section", "published_utc"], if_not_exists=True)


def _migrate_to_2(db: sqlite_utils.Database) -> None:
    """v1 indexed raw words with triggers: no stemming, no ё/е folding. v2 indexes stems,
    written from Python; crawls gain a `warnings` column."""
    for trigger in ("articles_ai", "articles_ad", "articles_au"):
        db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    db.execute("DROP TABLE IF EXISTS articles_fts")  # (v4 indexes anew)
    _create_article_indexes(db)
    for column, kind in CRAWL_COLUMNS.items():
        if column not in db.table("crawls").columns_dict:
            db.table("crawls").add_column(column, kind)


def _migrate_to_3(db: sqlite_utils.Database) -> None:
    """v3 remembers what a crawl could not see (`unseen`), and why a crawl was incomplete;
    rows are keyed by the one spelling of their URL (kantkg.urls.article_url)."""
    db.table("unseen").create(UNSEEN_COLUMNS, pk="url", if_not_exists=True)
    for column, kind in CRAWL_COLUMNS.items():
        if column not in db.table("crawls").columns_dict:
            db.table("crawls").add_column(column, kind)
    _rekey_articles(db)


def _rekey_articles(db: sqlite_utils.Database) -> None:
    """Rows keyed by another spelling of the URL (`?utm_campaign=z`, no trailing slash)
    take the one spelling. Where that row exists already, this one is a duplicate of it:
    its text becomes a revision of that article (nothing is dropped), and it goes."""
    rows = db.execute(
        "SELECT id, url, title, body, content_hash, first_seen, last_seen FROM articles ORDER BY id"
    ).fetchall()
    pages = db["pages"].exists()  # (until v5, whose captures carry the one spelling)
    for article_id, url, title, body, digest, first_seen, last_seen in rows:
        key = urls.article_url(url)
        if key == url:
            continue
        kept = db.execute("SELECT id, content_hash FROM articles WHERE url = ?", [key]).fetchone()
        if kept is None:
            db.execute("UPDATE articles SET url = ? WHERE id = ?", [key, article_id])
            db.execute("UPDATE revisions SET url = ? WHERE article_id = ?", [key, article_id])
            if pages and not db.execute("SELECT 1 FROM pages WHERE url = ?", [key]).fetchone():
                db.execute("UPDATE pages SET url = ? WHERE url = ?", [key, url])
            continue
        kept_id, kept_digest = kept
        db.execute(
            "UPDATE revisions SET article_id = ?, url = ? WHERE article_id = ?",
            [kept_id, key, article_id],
        )
        if digest != kept_digest:
            insert(
                db,
                "revisions",
                {
                    "article_id": kept_id,
                    "url": key,
                    "title": title,
                    "body": body,
                    "content_hash": digest,
                    "valid_from": first_seen,
                    "replaced_at": last_seen,
                },
            )
        db.execute("DELETE FROM articles WHERE id = ?", [article_id])  # (v4 indexes anew)
        if pages:
            db.execute("DELETE FROM pages WHERE url = ?", [url])


def _migrate_to_4(db: sqlite_utils.Database) -> None:
    """v4's search index is the articles' own as Datasette and sqlite-utils see it
    (external content, `content='articles'`) and holds each word's other forms beside the
    stems (kantkg.archive.search.create_search_index): written anew for every article."""
    reindex(db)


def ensure_index_rule(db: sqlite_utils.Database) -> None:
    """Write the search index anew when the rule its terms were made by changed (a new
    stemmer or dictionary, a changed kantkg.archive.textsearch.index_text): its rows can
    only leave it by the terms they were written with."""
    rule = textsearch.index_rule()
    db.execute("CREATE TABLE IF NOT EXISTS kantkg_meta (key TEXT PRIMARY KEY, value TEXT)")
    row = db.execute("SELECT value FROM kantkg_meta WHERE key = 'index_rule'").fetchone()
    if row is not None and row[0] == rule:
        return
    with transaction(db):
        reindex(db)
        db.execute(
            "INSERT INTO kantkg_meta (key, value) VALUES ('index_rule', ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [rule],
        )


def reindex(db: sqlite_utils.Database) -> None:
    """Write the search index anew from the articles (in the caller's transaction)."""
    db.execute("DROP TABLE IF EXISTS articles_fts")
    create_search_index(db)
    for article_id, title, body in db.execute("SELECT id, title, body FROM articles"):
        index_article(db, article_id, title, body)


def _migrate_to_5(db: sqlite_utils.Database) -> None:
    """v5 keeps every article response as received (`captures`, kantkg.archive.captures)
    instead of one page per URL re-encoded to UTF-8 (`pages`). Each page becomes a
    capture marked `reencoded` (its bytes are UTF-8 whatever its Content-Type says; its
    headers are the few `pages` kept), with its body and digest as stored."""
    import json

    from kantkg.archive.captures import CODEC, decode_body, payload_digest

    _create_captures(db)
    if not db["pages"].exists():
        return
    rows = db.execute(
        # (a page without its fetch time takes its article's first sighting: every
        # capture has a date, as a WARC record must)
        "SELECT p.url, coalesce(p.fetched_at, a.first_seen, a.last_seen), p.status,"
        " p.content_type, p.etag, p.last_modified, p.html_zlib"
        " FROM pages p LEFT JOIN articles a ON a.url = p.url ORDER BY p.url"
    )
    for url, fetched_at, status, content_type, etag, last_modified, blob in rows:  # (streamed)
        body = decode_body(blob, CODEC) if blob is not None else None  # (pages' zlib)
        named = (("Content-Type", content_type), ("ETag", etag), ("Last-Modified", last_modified))
        headers = [[name, value] for name, value in named if value]
        digest = payload_digest(body) if body is not None else None
        insert(
            db,
            "captures",
            {
                "url": url,
                "target_url": url,
                "fetched_at": fetched_at or "1970-01-01T00:00:00+00:00",
                "status": status or 200,
                "http_version": "HTTP/1.1",
                "request_headers": "[]",
                "headers": json.dumps(headers, ensure_ascii=False),
                "content_type": content_type,
                "etag": etag,
                "last_modified": last_modified,
                "payload_digest": digest,
                "body_length": len(body) if body is not None else None,
                "body": blob,  # (as captures keep bodies: the same zlib)
                "codec": CODEC if blob is not None else None,
                "reencoded": 1,
                "source": "pages (schema 4)",
            },
        )
    db.execute("DROP TABLE pages")  # (the file keeps its size until a VACUUM)


MIGRATIONS = {2: _migrate_to_2, 3: _migrate_to_3, 4: _migrate_to_4, 5: _migrate_to_5}


def insert(db: sqlite_utils.Database, table: str, row: dict) -> int:
    """Plain INSERT: sqlite-utils' insert() commits on its own, which would split an
    article's rows over several transactions. Column names come from our schema."""
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    rowid = db.execute(
        f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(row.values())
    ).lastrowid
    assert rowid is not None  # (set by every INSERT of one row)
    return rowid


def update(db: sqlite_utils.Database, table: str, key: str, value, row: dict) -> None:
    assignments = ", ".join(f"{column} = ?" for column in row)
    db.execute(f"UPDATE {table} SET {assignments} WHERE {key} = ?", [*row.values(), value])
