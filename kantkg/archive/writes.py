"""Articles into the archive: one upsert (row, search index, revision, capture) in one
transaction, or a crawl's `Batch` of them under one commit."""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable

import sqlite_utils

from kantkg import bounds, clock, urls
from kantkg.archive.captures import add_capture
from kantkg.archive.schema import insert, transaction, update
from kantkg.archive.search import OldText, index_article
from kantkg.archive.sqlite import sqlite3
from kantkg.items import ArticleItem, Capture

# ------------------------------------------------------------------ articles


def article_key(item: ArticleItem) -> str:
    """The archive's identity of an article: the one spelling of the URL it was fetched
    at (kantkg.urls.article_url). Not its canonical link: a page naming another article
    as canonical would overwrite that article."""
    return urls.article_url(item["url"])


def unarchivable_reason(item: ArticleItem) -> str | None:
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


def _article_row(item: ArticleItem) -> dict:
    """The `articles` row of an item that unarchivable_reason let through."""
    body = body_of(item["paragraphs"])
    title = (item.get("title") or "").strip()
    return {
        "url": article_key(item),
        "title": title,
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
        "content_hash": content_hash(title, body),
        "fetched_url": item["url"],
    }


def upsert_article(db: sqlite_utils.Database, item: ArticleItem, now: str | None = None) -> str:
    """Insert or update one article -- row, search index, revision, capture -- in one
    transaction; returns new|updated|unchanged. A changed title or body moves the
    previous version to `revisions`."""
    return _upsert(db, item, now or clock.now_iso(), lambda *row: index_article(db, *row))


# (article id, title, body, the title and body it is indexed with now or None)
IndexWrite = Callable[[int, str, str, OldText], None]


def _upsert(db: sqlite_utils.Database, item: ArticleItem, now: str, index: IndexWrite) -> str:
    """upsert_article, with the search index row handed to `index` inside the article's
    transaction rather than written there (a Batch writes it at commit)."""
    row = _article_row(item)
    with transaction(db):
        existing = db.execute(
            "SELECT id, title, body, content_hash, first_seen, last_seen FROM articles"
            " WHERE url = ?",
            [row["url"]],
        ).fetchone()
        if existing is None:
            article_id = insert(db, "articles", {**row, "first_seen": now, "last_seen": now})
            index(article_id, row["title"], row["body"], None)
            outcome = "new"
        elif (capture := item.get("capture")) and capture.fetched_at < _last_fetched(
            db, row["url"], existing[5]
        ):
            outcome = _earlier_version(db, existing, row, capture.fetched_at)
        else:
            article_id, old_title, old_body, old_hash, first_seen, _ = existing
            if old_hash == row["content_hash"]:
                update(db, "articles", "id", article_id, {"last_seen": now})
                outcome = "unchanged"
            else:
                insert(
                    db,
                    "revisions",
                    {
                        "article_id": article_id,
                        "url": row["url"],
                        "title": old_title,
                        "body": old_body,
                        "content_hash": old_hash,
                        "valid_from": first_seen,
                        "replaced_at": now,
                    },
                )
                update(db, "articles", "id", article_id, {**row, "last_seen": now})
                index(article_id, row["title"], row["body"], (old_title, old_body))
                outcome = "updated"
        if (capture := item.get("capture")) is not None:
            add_capture(db, capture, row["url"])
    return outcome


def _last_fetched(db: sqlite_utils.Database, url: str, last_seen: str | None) -> str:
    """When the article's page was last fetched (a 304 counts: it confirmed the text),
    which a capture must not predate to replace the text; without captures, when it was
    last seen. Not last_seen itself: a reparse sets that, and fetches nothing."""
    (fetched,) = db.execute(
        "SELECT max(fetched_at) FROM captures WHERE url = ? AND status IN (200, 304)", [url]
    ).fetchone()
    return fetched or last_seen or ""


def _earlier_version(db: sqlite_utils.Database, existing: tuple, row: dict, when: str) -> str:
    """A capture older than what the archive holds (an import from a web archive): it
    never replaces the newer text. Its text, if another, is a revision (once); either way
    the article was seen then."""
    article_id, _, _, current_hash, first_seen, last_seen = existing
    outcome = "unchanged"
    if (
        row["content_hash"] != current_hash
        and not db.execute(
            "SELECT 1 FROM revisions WHERE article_id = ? AND content_hash = ?",
            [article_id, row["content_hash"]],
        ).fetchone()
    ):
        insert(
            db,
            "revisions",
            {
                "article_id": article_id,
                "url": row["url"],
                "title": row["title"],
                "body": row["body"],
                "content_hash": row["content_hash"],
                "valid_from": when,
                # replaced by the time the archive first saw another text, at the latest
                "replaced_at": first_seen if when < first_seen else last_seen,
            },
        )
        outcome = "revision"
    if when < first_seen:
        update(db, "articles", "id", article_id, {"first_seen": when})
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
    group shares is the commit, the costliest part of a small write in WAL mode. A crash
    loses the open group -- those pages are fetched again next run -- never part of an
    article. Readers see a group when it commits.

    The group's search index rows are written just before its commit, outside the
    articles' savepoints: FTS5 flushes its pending terms at every savepoint (it could not
    roll them back otherwise), one index segment an article. When the group
    cannot be committed (a full disk: at its index rows, its commit, or an article after
    which SQLite rolled the whole group back), it is written again the plain way, one
    transaction an article, up to the first that fails: the articles that fit are kept,
    as if they had been written one by one, and CommitError counts them.
    """

    def __init__(
        self, db: sqlite_utils.Database, max_items: int = 100, max_seconds: float = 1.0
    ) -> None:
        self.db = db
        self.max_items = max_items
        self.max_seconds = max_seconds
        self.pending: Counter[str] = Counter()  # outcomes not yet committed
        self._written: list[tuple[ArticleItem, str]] = []  # (item, time) of the group: the replay
        # article id -> (title, body, what the index holds for it now)
        self._unindexed: dict[int, tuple[str, str, OldText]] = {}
        self._opened_at = 0.0

    def upsert(self, item: ArticleItem) -> str:
        """Write one article into the open group (opening one if needed); -> its outcome.
        On a database error the article is not written; CommitError when that error
        also undid the group."""
        if not self.db.conn.in_transaction:
            self.db.conn.execute("BEGIN IMMEDIATE")
            self._opened_at = time.monotonic()
        now = clock.now_iso()
        rows: list[tuple[int, str, str, OldText]] = []
        try:
            outcome = _upsert(self.db, item, now, lambda *row: rows.append(row))
        except sqlite3.DatabaseError as exc:
            if self.db.conn.in_transaction or not self._written:
                raise  # the article's savepoint undid it; the group stands
            _, written, _ = self._take()  # SQLite rolled the whole group back: write it again
            raise CommitError(exc, self._replay(written)) from exc
        self._written.append((item, now))
        for article_id, title, body, old in rows:
            if article_id in self._unindexed:  # twice in a group: its last text; the
                old = self._unindexed[article_id][2]  # index still holds the first's old
            self._unindexed[article_id] = (title, body, old)
        self.pending[outcome] += 1
        return outcome

    def add_capture(self, capture: Capture, url: str) -> None:
        """Record a capture that makes no article row (a 304: a revisit) in the open
        group (lost with the group if it cannot commit: the page is fetched again)."""
        if not self.db.conn.in_transaction:
            self.db.conn.execute("BEGIN IMMEDIATE")
            self._opened_at = time.monotonic()
        try:
            with transaction(self.db):
                add_capture(self.db, capture, url)
        except sqlite3.DatabaseError as exc:
            if self.db.conn.in_transaction or not self._written:
                raise
            _, written, _ = self._take()
            raise CommitError(exc, self._replay(written)) from exc

    @property
    def due(self) -> bool:
        """Time to commit: the group is full or old (an open group holds the write lock,
        even one whose every article failed)."""
        return self.db.conn.in_transaction and (
            self.pending.total() >= self.max_items
            or time.monotonic() - self._opened_at >= self.max_seconds
        )

    def commit(self) -> Counter[str]:
        """Index and make the open group durable; -> its outcomes. On failure nothing
        half-written stays: CommitError says what the replay kept."""
        done, written, unindexed = self._take()
        if not self.db.conn.in_transaction:
            return done
        try:
            for article_id, (title, body, old) in unindexed.items():
                index_article(self.db, article_id, title, body, old)
            self.db.conn.execute("COMMIT")
        except BaseException as exc:  # (not only SQLite's: rows must never commit unindexed)
            if self.db.conn.in_transaction:
                self.db.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.DatabaseError):
                raise CommitError(exc, self._replay(written)) from exc
            raise
        return done

    def _take(
        self,
    ) -> tuple[Counter[str], list[tuple[ArticleItem, str]], dict[int, tuple[str, str, OldText]]]:
        """The open group's outcomes, articles and index rows, leaving the batch empty."""
        taken = self.pending, self._written, self._unindexed
        self.pending, self._written, self._unindexed = Counter(), [], {}
        return taken

    def _replay(self, written: list[tuple[ArticleItem, str]]) -> Counter[str]:
        """Write a rolled-back group one transaction an article (each durable on its
        own, whatever SQLite rolls back next), up to the first that fails."""
        done: Counter[str] = Counter()
        for item, now in written:
            try:
                done[upsert_article(self.db, item, now)] += 1
            except sqlite3.DatabaseError:
                break
        return done
