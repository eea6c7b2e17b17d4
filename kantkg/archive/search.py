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
    """`articles_fts`: FTS5 over title and body as kantkg.archive.textsearch.index_text
    writes them (stems, then other word forms), rowid = articles.id, written in the
    article's transaction (a Batch's: in its group's).

    An external-content table of `articles` (content="articles", spelled so: Datasette
    and sqlite-utils find the articles' full-text index by that text), they read
    titles and bodies from the articles themselves. The index holds our terms, not the
    articles' text, so a row leaves it only by the 'delete' command with the terms it
    was indexed with (index_article), never by DELETE or 'rebuild'."""
    db.execute(
        'CREATE VIRTUAL TABLE articles_fts USING fts5(title, body, content="articles",'
        " content_rowid=\"id\", tokenize='unicode61')"
    )


OldText = tuple[str, str] | None  # (title, body) an article is indexed with now, if any


def index_article(
    db: sqlite_utils.Database, article_id: int, title: str, body: str, old: OldText = None
) -> None:
    """Index an article's title and body; `old`: what it was indexed with until now."""
    if old is not None:
        db.execute(
            "INSERT INTO articles_fts (articles_fts, rowid, title, body)"
            " VALUES ('delete', ?, ?, ?)",
            [article_id, textsearch.index_text(old[0]), textsearch.index_text(old[1])],
        )
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


Sections = str | tuple[str, ...] | None  # one section's name, or any of several


def article_filters(
    table: str, since: str | None = None, until: str | None = None, section: Sections = None
) -> tuple[list[str], list[str]]:
    """WHERE clauses (and their parameters) for a local publication-date range and a
    section (or any of several), on the articles table known as `table` in the query."""
    where, params = [], []
    for clause, value in (("published_date >= ?", since), ("published_date <= ?", until)):
        if value:
            where.append(f"{table}.{clause}")
            params.append(value)
    names = (section,) if isinstance(section, str) else tuple(section or ())
    if names:
        where.append(f"{table}.section IN ({', '.join('?' for _ in names)})")
        params.extend(names)
    return where, params


def sections(db: sqlite_utils.Database) -> dict[str, int]:
    """Section name -> articles, most articles first."""
    rows = db.execute(
        "SELECT section, count(*) AS n FROM articles WHERE section IS NOT NULL"
        " GROUP BY section ORDER BY n DESC, section"
    )
    return dict(rows.fetchall())


def sections_named(db: sqlite_utils.Database, name: str) -> tuple[str, ...]:
    """The archive's sections that `name` names, in any letter case («политика» is
    «Политика»): SQLite's lower() folds ASCII only, so the match is made here."""
    wanted = name.strip().casefold()
    return tuple(section for section in sections(db) if section.casefold() == wanted)


def export_rows(
    db: sqlite_utils.Database,
    *,
    since: str | None = None,
    until: str | None = None,
    section: Sections = None,
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


def count_articles(
    db: sqlite_utils.Database,
    *,
    since: str | None = None,
    until: str | None = None,
    section: Sections = None,
) -> int:
    """How many articles there are (export_rows would give with these filters)."""
    where, params = article_filters("articles", since, until, section)
    sql = "SELECT count(*) FROM articles" + (" WHERE " + " AND ".join(where) if where else "")
    return db.execute(sql, params).fetchone()[0]


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
    return next(iter(rows), None) or _by_path(db, text)


def _by_path(db: sqlite_utils.Database, text: str) -> dict | None:
    """The one article whose URL has the path of `text` (a kant.kg URL asked of an
    archive of the replica, `/2021-05-25/slug/`), on whatever host; None unless one."""
    path = urls.path_of(text)
    if not path or path == "/":
        return None
    rows = list(
        db.execute(
            "SELECT id, url FROM articles WHERE substr(url, -?) = ? LIMIT 50", [len(path), path]
        )
    )
    found = [article_id for article_id, url in rows if urls.path_of(url) == path]
    if len(found) != 1:
        return None
    return next(iter(db["articles"].rows_where("id = ?", [found[0]])), None)


def _matching(
    parsed: textsearch.Query, since: str | None, until: str | None, section: Sections
) -> tuple[str, list[str]]:
    """FROM ... WHERE ... of the articles matching a query and the filters, FTS5 first."""
    filters, params = article_filters("a", since, until, section)
    # CROSS JOIN: FTS5 drives. Probing it per article (SQLite 3.51 picks that for a section
    # filter) re-runs the MATCH for every row.
    join = "CROSS JOIN articles a ON a.id = articles_fts.rowid" if filters else ""
    where = " AND ".join(["articles_fts MATCH ?", *filters])
    return f"FROM articles_fts {join} WHERE {where}", [parsed.match, *params]


def search(
    db: sqlite_utils.Database,
    query: str,
    limit: int = 10,
    *,
    since: str | None = None,
    until: str | None = None,
    section: Sections = None,
) -> list[dict]:
    """Articles matching `query` (kantkg.archive.textsearch: words in any form, ё=е,
    "phrases", prefix*, OR, -excluded), best bm25 first (ties by id), with a highlighted
    snippet. since/until are local publication dates (YYYY-MM-DD). A query that asks for
    nothing (only excluded words) raises textsearch.QueryError.

    One statement: the ranking happens inside FTS5 on (rowid, score) pairs only, and just
    the winners are joined to their articles."""
    parsed = textsearch.parse_query(query)
    if not parsed:
        return []
    matching, params = _matching(parsed, since, until, section)
    cursor = db.execute(
        f"""
        WITH top AS (
            SELECT articles_fts.rowid AS rowid, {RANK} AS score {matching}
            ORDER BY score, rowid LIMIT ?
        )
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


def count_matches(
    db: sqlite_utils.Database,
    query: str,
    *,
    since: str | None = None,
    until: str | None = None,
    section: Sections = None,
) -> int:
    """How many articles `search` would find without its limit."""
    parsed = textsearch.parse_query(query)
    if not parsed:
        return 0
    matching, params = _matching(parsed, since, until, section)
    return db.execute(f"SELECT count(*) {matching}", params).fetchone()[0]
