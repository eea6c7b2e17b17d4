"""The SQLite archive: schema by code, upsert by canonical URL, crawls log, search.

Built on sqlite-utils. WAL mode so searches never block the crawler; one transaction per
article so a crash mid-crawl leaves every row whole. `PRAGMA user_version` records the
schema version; `open_archive` creates or migrates.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import sqlite_utils

from kantkg import site

SCHEMA_VERSION = 1

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
    "status": str,  # running | ok | failed
    "finish_reason": str,
    "requests": int,
    "responses": int,
    "articles_seen": int,
    "new": int,
    "updated": int,
    "unchanged": int,
    "dropped": int,
    "errors": int,
    "warnings": str,  # JSON list: extraction drift and other signs worth a look
    "stats": str,  # JSON of the crawler's whole stats dict
}


class ArchiveError(Exception):
    """A one-line, user-facing problem with the archive file."""


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def open_archive(path: str | Path) -> sqlite_utils.Database:
    """Open (creating directory, file and schema as needed) an archive in WAL mode."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite_utils.Database(path)
        db.conn.execute("PRAGMA busy_timeout = 10000")
        db.enable_wal()
        db.conn.execute("PRAGMA synchronous = NORMAL")
        ensure_schema(db)
    except sqlite3.DatabaseError as exc:
        raise ArchiveError(f"cannot open archive {path}: {exc}") from None
    except OSError as exc:
        raise ArchiveError(f"cannot open archive {path}: {exc.strerror or exc}") from None
    return db


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Create missing tables and indexes; refuse databases from a newer kantkg."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise ArchiveError(
            f"archive schema version {version} is newer than this kantkg ({SCHEMA_VERSION})"
        )
    articles = db["articles"]
    if not articles.exists():
        articles.create(ARTICLE_COLUMNS, pk="id", not_null={"url", "title", "body"})
        articles.create_index(["url"], unique=True)
        articles.create_index(["published_utc"])
        articles.create_index(["section", "published_utc"])
        articles.enable_fts(["title", "body"], create_triggers=True, tokenize="unicode61")
    if not db["pages"].exists():
        db["pages"].create(PAGE_COLUMNS, pk="url")
    if not db["revisions"].exists():
        db["revisions"].create(REVISION_COLUMNS, pk="id")
        db["revisions"].create_index(["article_id"])
    if not db["crawls"].exists():
        db["crawls"].create(CRAWL_COLUMNS, pk="id")
    for name, table in (("crawls", CRAWL_COLUMNS),):
        missing = {c: t for c, t in table.items() if c not in db[name].columns_dict}
        for column, kind in missing.items():  # columns added since the table was made
            db[name].add_column(column, kind)
    if version != SCHEMA_VERSION:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


# ------------------------------------------------------------------ articles


def article_key(item: dict) -> str:
    """The archive's identity of an article: its canonical URL when the page's canonical
    is an article URL of the same site, else the URL fetched; fragment dropped."""
    url = item["url"]
    canonical = item.get("canonical_url")
    if canonical and site.same_site(canonical, url) and site.is_article_url(canonical):
        url = canonical
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


def unarchivable_reason(item: dict) -> str | None:
    """Why an item cannot become an article row (the pipeline drops and counts it)."""
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


def upsert_article(db: sqlite_utils.Database, item: dict, now: str | None = None) -> str:
    """Insert or update one article in one transaction; returns new|updated|unchanged.

    A changed title or body moves the previous version to `revisions`.
    """
    now = now or utc_now()
    row = _article_row(item)
    with db.conn:
        existing = db.execute(
            "SELECT id, title, body, content_hash, first_seen FROM articles WHERE url = ?",
            [row["url"]],
        ).fetchone()
        if existing is None:
            db["articles"].insert({**row, "first_seen": now, "last_seen": now})
            outcome = "new"
        else:
            article_id, old_title, old_body, old_hash, first_seen = existing
            if old_hash == row["content_hash"]:
                db.execute(
                    "UPDATE articles SET last_seen = ? WHERE id = ?", [now, article_id]
                )
                outcome = "unchanged"
            else:
                db["revisions"].insert({
                    "article_id": article_id,
                    "url": row["url"],
                    "title": old_title,
                    "body": old_body,
                    "content_hash": old_hash,
                    "valid_from": first_seen,
                    "replaced_at": now,
                })
                db["articles"].update(article_id, {**row, "last_seen": now})
                outcome = "updated"
        if item.get("html") is not None:
            _store_page(db, row["url"], item, now)
    return outcome


def _store_page(db: sqlite_utils.Database, url: str, item: dict, now: str) -> None:
    db["pages"].upsert({
        "url": url,
        "fetched_at": item.get("fetched_at") or now,
        "status": item.get("status", 200),
        "content_type": item.get("content_type"),
        "etag": item.get("etag"),
        "last_modified": item.get("last_modified"),
        "html_zlib": zlib.compress(item["html"].encode("utf-8"), 6),
    }, pk="url")


def known_urls(db: sqlite_utils.Database) -> Iterator[str]:
    for (url,) in db.execute("SELECT url FROM articles"):
        yield url


def count_articles(db: sqlite_utils.Database) -> int:
    return db["articles"].count


def get_article(db: sqlite_utils.Database, url_or_id: str | int) -> dict | None:
    if isinstance(url_or_id, int) or str(url_or_id).isdigit():
        rows = db["articles"].rows_where("id = ?", [int(url_or_id)])
    else:
        rows = db["articles"].rows_where("url = ?", [str(url_or_id)])
    return next(iter(rows), None)


# -------------------------------------------------------------------- crawls


def start_crawl(db: sqlite_utils.Database, base_url: str) -> int:
    with db.conn:
        table = db["crawls"].insert({
            "started": utc_now(), "base_url": base_url, "status": "running",
        })
    return table.last_pk


def finish_crawl(db: sqlite_utils.Database, crawl_id: int, status: str, reason: str,
                 counts: dict[str, int], stats: dict, warnings: list[str] | None = None) -> None:
    with db.conn:
        db["crawls"].update(crawl_id, {
            "finished": utc_now(),
            "status": status,
            "finish_reason": reason,
            **counts,
            "warnings": json.dumps(warnings or [], ensure_ascii=False),
            "stats": json.dumps(stats, ensure_ascii=False, default=str, sort_keys=True),
        })


def last_crawl(db: sqlite_utils.Database) -> dict | None:
    return next(iter(db["crawls"].rows_where(order_by="id desc", limit=1)), None)


# -------------------------------------------------------------------- search

_WORD_RE = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str) -> str:
    """User words -> a safe FTS5 query: each word a quoted prefix term, all required.

    Quoting makes FTS syntax characters in user input inert; the prefix star gives
    crude Russian morphology («Путин» finds «Путина»).
    """
    words = _WORD_RE.findall(text.replace("ё", "е").replace("Ё", "Е"))
    # A one- or two-letter prefix («с*») would match half the dictionary.
    return " ".join(f'"{w}"*' if len(w) > 2 else f'"{w}"' for w in words)


def search(db: sqlite_utils.Database, query: str, limit: int = 10) -> list[dict]:
    """Articles matching all words of `query`, best bm25 first, with a snippet."""
    match = fts_query(query)
    if not match:
        return []
    sql = """
        SELECT a.id, a.url, a.title, a.published, a.section,
               snippet(articles_fts, 1, '[', ']', ' … ', 12) AS snippet
        FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid
        WHERE articles_fts MATCH ?
        ORDER BY bm25(articles_fts, 5.0, 1.0)
        LIMIT ?
    """
    cursor = db.execute(sql, [match, limit])
    columns = [c[0] for c in cursor.description]
    hits = [dict(zip(columns, row, strict=True)) for row in cursor]
    for hit in hits:  # a snippet may span paragraphs: one line reads better
        hit["snippet"] = " ".join((hit["snippet"] or "").split())
    return hits
