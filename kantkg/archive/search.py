"""Reading the archive: full-text search (stems in FTS5, bm25 inside it), the filters
every reader shares, export and lookups."""

from __future__ import annotations

import json
from collections.abc import Iterator

import sqlite_utils

from kantkg import urls
from kantkg.archive import textsearch

# -------------------------------------------------------------------- search

# The ranking of search hits, in the CLI and in Datasette's canned query alike: bm25, a
# word in the title weighing five in the body (lower is better).
RANK = "bm25(articles_fts, 5.0, 1.0)"


def create_search_index(db: sqlite_utils.Database) -> None:
    """`articles_fts`: FTS5 over the *stems* of title and body (kantkg.archive.textsearch),
    rowid = articles.id, written in the article's transaction (a Batch's: in its group's)."""
    db.execute("CREATE VIRTUAL TABLE articles_fts USING fts5(title, body, tokenize='unicode61')")


def index_article(db: sqlite_utils.Database, article_id: int, title: str, body: str) -> None:
    db.execute("DELETE FROM articles_fts WHERE rowid = ?", [article_id])
    db.execute(
        "INSERT INTO articles_fts (rowid, title, body) VALUES (?, ?, ?)",
        [article_id, textsearch.index_text(title), textsearch.index_text(body)],
    )


EXPORT_COLUMNS = (
    "id",
    "url",
    "title",
    "published",
    "published_utc",
    "published_date",
    "modified",
    "author",
    "section",
    "tags",
    "body",
    "paragraph_count",
    "duplicates_removed",
    "first_seen",
    "last_seen",
)


def article_filters(
    table: str, since: str | None = None, until: str | None = None, section: str | None = None
) -> tuple[list[str], list[str]]:
    """WHERE clauses (and their parameters) for a local publication-date range and a
    section, on the articles table known as `table` in the query."""
    where, params = [], []
    for clause, value in (
        ("published_date >= ?", since),
        ("published_date <= ?", until),
        ("section = ?", section),
    ):
        if value:
            where.append(f"{table}.{clause}")
            params.append(value)
    return where, params


def export_rows(
    db: sqlite_utils.Database,
    *,
    since: str | None = None,
    until: str | None = None,
    section: str | None = None,
) -> Iterator[dict]:
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


def search(
    db: sqlite_utils.Database,
    query: str,
    limit: int = 10,
    *,
    since: str | None = None,
    until: str | None = None,
    section: str | None = None,
) -> list[dict]:
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
    cursor = db.execute(
        f"""
        WITH top AS ({ranking} ORDER BY score, rowid LIMIT ?)
        SELECT a.id, a.url, a.title, a.published, a.section, a.body
        FROM top JOIN articles a ON a.id = top.rowid
        ORDER BY top.score, top.rowid
    """,
        [*params, limit],
    )
    columns = [c[0] for c in cursor.description]
    hits = []
    for values in cursor:
        hit = dict(zip(columns, values, strict=True))
        hit["snippet"] = textsearch.snippet(hit.pop("body"), parsed)
        hits.append(hit)
    return hits
