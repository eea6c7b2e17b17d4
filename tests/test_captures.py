"""Captures: every article response kept as received; revisits instead of second copies;
schema-4 pages migrated; an older capture never replaces a newer text."""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections import Counter

import pytest

from kantkg import archive
from kantkg.archive.sqlite import sqlite3
from kantkg.crawl.reparse import reparse
from kantkg.items import ArticleItem, Capture

URL = "https://kant.kg/2021-05-25/vstrecha/"
PAGE = (
    "<html><head><meta charset='windows-1251'><title>Встреча в Бишкеке</title></head><body>"
    "<article><h1>Встреча в Бишкеке</h1><time datetime='2021-05-25T10:00:00+06:00'>"
    "25 мая 2021</time><p>Президент встретился с министрами в Бишкеке в среду.</p>"
    "<p>Обсуждали бюджет, дороги и школы на следующий год.</p></article></body></html>"
)
CP1251 = PAGE.encode("cp1251")
HEADERS = [("Content-Type", "text/html; charset=windows-1251"), ("ETag", '"v1"')]


def capture(body: bytes | None = CP1251, at: str = "2026-07-01T00:00:00+00:00", **kw) -> Capture:
    status = kw.pop("status", 200 if body is not None else 304)
    return Capture(URL, at, status, kw.pop("headers", HEADERS), body, **kw)


def item(title: str = "Встреча в Бишкеке", cap: Capture | None = None) -> ArticleItem:
    found = ArticleItem(
        url=URL,
        title=title,
        paragraphs=["Президент встретился с министрами.", "Обсуждали бюджет."],
        published="2021-05-25T10:00:00+06:00",
        published_utc="2021-05-25T04:00:00+00:00",
        published_date="2021-05-25",
    )
    if cap is not None:
        found["capture"] = cap
    return found


@pytest.fixture
def db(tmp_path):
    db = archive.open_archive(tmp_path / "kant.db")
    yield db
    db.close()


def rows(db) -> list[dict]:
    return [dict(r) for r in db["captures"].rows_where(order_by="id")]


def test_a_capture_keeps_the_bytes_headers_and_digest_as_received(db):
    sent = capture(
        requested_url="https://kant.kg/?p=123",
        request_headers=[("User-Agent", "kantkg"), ("Accept-Language", "ru")],
        reason="OK",
        source="crawl 1",
    )
    archive.upsert_article(db, item(cap=sent), now=sent.fetched_at)

    (row,) = rows(db)
    assert zlib.decompress(row["body"]) == CP1251  # not re-encoded to UTF-8
    sha1 = base64.b32encode(hashlib.sha1(CP1251).digest()).decode()
    assert row["payload_digest"] == f"sha1:{sha1}" == archive.payload_digest(CP1251)
    assert (row["content_type"], row["etag"]) == (HEADERS[0][1], '"v1"')
    (kept,) = archive.captures_of(db, URL)
    assert kept.capture == sent  # headers, request headers, status line, URLs, source
    assert row["reencoded"] == 0


def test_an_edited_article_keeps_each_capture(db):
    first = capture()
    edited = capture(CP1251 + b"<!-- v2 -->", "2026-07-02T00:00:00+00:00")
    archive.upsert_article(db, item(cap=first), now=first.fetched_at)
    archive.upsert_article(db, item("Встреча (обновлено)", edited), now=edited.fetched_at)

    kept = archive.captures_of(db, URL)
    assert [c.capture.body for c in kept] == [first.body, edited.body]
    assert [c.revisit_of for c in kept] == [None, None]
    assert db["revisions"].count == 1


def test_an_unchanged_refetch_is_a_revisit_without_a_second_body(db):
    first, same = capture(), capture(at="2026-07-02T00:00:00+00:00")
    not_modified = capture(None, "2026-07-03T00:00:00+00:00", headers=[("ETag", '"v1"')])
    archive.upsert_article(db, item(cap=first), now=first.fetched_at)
    assert archive.upsert_article(db, item(cap=same), now=same.fetched_at) == "unchanged"
    with archive.transaction(db):
        archive.add_capture(db, not_modified)

    stored = rows(db)
    assert [r["body"] is None for r in stored] == [False, True, True]
    assert [r["revisit_reason"] for r in stored] == [None, "identical-payload", "not-modified"]
    assert [r["revisit_of"] for r in stored] == [None, stored[0]["id"], stored[0]["id"]]
    assert {r["payload_digest"] for r in stored} == {archive.payload_digest(CP1251)}
    # read back, a revisit has its original's body
    assert [c.capture.body for c in archive.captures_of(db, URL)] == [CP1251, CP1251, None]
    assert archive.latest_page(db, URL).capture.body == CP1251
    # a 304 says the page was checked then: the next crawl's conditional request waits
    state = archive.page_state(db, URL)
    assert (state.fetched_at, state.etag) == ("2026-07-03T00:00:00+00:00", '"v1"')


def test_the_same_capture_twice_is_kept_once(db):
    """An import run twice adds nothing."""
    for _ in range(2):
        archive.upsert_article(db, item(cap=capture()), now="2026-07-01T00:00:00+00:00")
    assert db["captures"].count == 1


def test_an_older_capture_never_replaces_the_newer_text(db):
    """A web archive's capture from before the first crawl: its text is a revision."""
    archive.upsert_article(db, item("Новое", capture()), now="2026-07-01T00:00:00+00:00")
    old = capture(CP1251 + b"<!-- old -->", "2024-03-01T00:00:00+00:00", source="warc x")

    assert archive.upsert_article(db, item("Старое", old), now=old.fetched_at) == "revision"
    assert archive.upsert_article(db, item("Старое", old), now=old.fetched_at) == "unchanged"

    (article,) = db["articles"].rows
    assert article["title"] == "Новое"
    assert article["first_seen"] == "2024-03-01T00:00:00+00:00"
    assert [(r["title"], r["valid_from"], r["replaced_at"]) for r in db["revisions"].rows] == [
        ("Старое", "2024-03-01T00:00:00+00:00", "2026-07-01T00:00:00+00:00")
    ]
    assert archive.latest_page(db, URL).capture.fetched_at == "2026-07-01T00:00:00+00:00"


def test_schema_4_pages_become_reencoded_captures_that_reparse_reads(tmp_path):
    """Before captures, a page was kept re-encoded to UTF-8 beside a Content-Type that
    may name another charset: it migrates marked so, and reparse reads it as UTF-8."""
    path = tmp_path / "v4.db"
    db = archive.open_archive(path)
    archive.upsert_article(db, item(), now="2026-07-01T00:00:00+00:00")
    db.close()
    utf8 = PAGE.encode("utf-8")
    with sqlite3.connect(path) as conn:  # the file as schema 4 left it
        conn.execute("DROP TABLE captures")
        conn.execute(
            "CREATE TABLE pages (url TEXT PRIMARY KEY, fetched_at TEXT, status INTEGER,"
            " content_type TEXT, etag TEXT, last_modified TEXT, html_zlib BLOB)"
        )
        conn.execute(
            "INSERT INTO pages VALUES (?, '2026-07-01T00:00:00+00:00', 200, ?, '\"v1\"', NULL, ?)",
            [URL, HEADERS[0][1], zlib.compress(utf8)],
        )
        conn.execute("PRAGMA user_version = 4")

    db = archive.open_archive(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == archive.SCHEMA_VERSION
    assert not db["pages"].exists()
    (row,) = rows(db)
    assert (row["reencoded"], row["etag"], row["status"]) == (1, '"v1"', 200)
    assert zlib.decompress(row["body"]) == utf8
    assert archive.page_state(db, URL).etag == '"v1"'
    counts = reparse(db)
    assert counts == Counter(updated=1)  # the page's own text, read as UTF-8
    (article,) = db["articles"].rows
    assert article["title"] == "Встреча в Бишкеке"
    assert "Президент встретился с министрами в Бишкеке в среду." in article["body"]
    db.close()


def test_revisits_point_back_in_time_only(db):
    """A web archive's older capture with the bytes of a later crawl is stored with its
    body (a revisit cannot refer to the future); a 304 refers to the page before it."""
    archive.upsert_article(db, item(cap=capture(at="2026-07-01T00:00:00+00:00")))
    older = capture(at="2024-03-01T00:00:00+00:00", source="warc x")
    archive.upsert_article(db, item(cap=older), now=older.fetched_at)
    between = capture(None, "2025-01-01T00:00:00+00:00")
    with archive.transaction(db):
        archive.add_capture(db, between)
        archive.add_capture(db, between)  # (an import run twice)

    by_time = {r["fetched_at"][:4]: r for r in rows(db)}
    assert sorted(by_time) == ["2024", "2025", "2026"]
    assert by_time["2024"]["body"] is not None and by_time["2024"]["revisit_of"] is None
    assert by_time["2025"]["revisit_of"] == by_time["2024"]["id"]
    assert by_time["2026"]["body"] is not None


def test_a_capture_older_than_the_last_fetch_is_a_revision_even_after_a_304(db):
    """What decides is when the page was last fetched (a 304 confirmed the text then),
    not last_seen."""
    archive.upsert_article(db, item("Текст А", capture()), now="2026-07-01T00:00:00+00:00")
    with archive.transaction(db):
        archive.add_capture(db, capture(None, "2026-07-03T00:00:00+00:00"))
    other = capture(CP1251 + b"<!-- B -->", "2026-07-02T00:00:00+00:00", source="warc x")
    assert archive.upsert_article(db, item("Текст Б", other), now=other.fetched_at) == "revision"
    assert next(iter(db["articles"].rows))["title"] == "Текст А"


def test_after_a_reparse_a_newer_capture_still_replaces_the_text(db):
    """A reparse moves last_seen without fetching anything: a capture newer than the
    last fetch is the newer text, whenever the reparse ran."""
    archive.upsert_article(db, item("Текст А", capture()), now="2026-07-01T00:00:00+00:00")
    reparse(db)  # (last_seen: now, December 2026 or later)
    newer = capture(CP1251 + b"<!-- B -->", "2026-07-02T00:00:00+00:00", source="warc x")
    assert archive.upsert_article(db, item("Текст Б", newer), now=newer.fetched_at) == "updated"
    assert next(iter(db["articles"].rows))["title"] == "Текст Б"
