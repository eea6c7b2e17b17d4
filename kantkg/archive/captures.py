"""Captures: every fetched article response, kept as it came (the evidence an archive of
the news is worth), in the `captures` table.

A capture holds the URL that answered (and the one first asked for, when redirects led
there), the status line, the request's and the response's headers, the body's bytes as
received (whatever their charset; Scrapy has undone the HTTP content-coding, gzip, and
dropped Content-Encoding), the fetch time and the payload digest WARC uses (`sha1:` +
base32). An unchanged re-fetch -- a 304, or a body an earlier capture of the URL holds
-- is a *revisit*: recorded, pointing at the capture that holds the body, without
storing the body again. Pages archived
before captures existed (schema 4's `pages`: UTF-8 re-encoded, no headers) migrate as
captures marked `reencoded`.

The one encode/decode pair of stored bodies is here (`encode_body`, `decode_body`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import sqlite_utils

from kantkg import urls
from kantkg.archive.schema import insert
from kantkg.archive.search import Sections, article_filters
from kantkg.items import Capture

NOT_MODIFIED = "not-modified"
IDENTICAL = "identical-payload"


def payload_digest(body: bytes) -> str:
    """WARC's payload digest: sha1, base32."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


CODEC = "zlib"


def encode_body(body: bytes) -> bytes:
    return zlib.compress(body, 6)


def decode_body(blob: bytes, codec: str = CODEC) -> bytes:
    """The body `encode_body` stored: the one reader of `captures.body`."""
    if codec != "zlib":
        raise ValueError(f"unknown capture codec {codec!r}")
    return zlib.decompress(blob)


def add_capture(db: sqlite_utils.Database, capture: Capture, url: str | None = None) -> int:
    """Record a capture of article `url` (default: the capture's target, in its one
    spelling) in the caller's transaction; -> its id.

    A body an earlier capture of the URL holds already (same digest) is a revisit of it,
    and so is a 304 of the latest page before it: revisits point back in time only, as
    WARC's do. A capture already recorded (same URL, time and status: an import run
    twice) is not recorded again."""
    key = urls.article_url(url or capture.target_url)
    same = db.execute(
        "SELECT id FROM captures WHERE url = ? AND fetched_at = ? AND status = ?",
        [key, capture.fetched_at, capture.status],
    ).fetchone()
    if same:
        return same[0]
    revisit_of, revisit_reason = None, None
    if capture.body is None:
        stored = db.execute(
            "SELECT id, payload_digest FROM captures WHERE url = ? AND body IS NOT NULL"
            " AND fetched_at <= ? ORDER BY fetched_at DESC, id DESC LIMIT 1",
            [key, capture.fetched_at],
        ).fetchone()
        digest = stored[1] if stored else None
        if stored is not None:
            revisit_of, revisit_reason = stored[0], NOT_MODIFIED
    else:
        digest = payload_digest(capture.body)
        stored = db.execute(
            "SELECT id FROM captures WHERE url = ? AND body IS NOT NULL AND payload_digest = ?"
            " AND fetched_at <= ? ORDER BY fetched_at DESC, id DESC LIMIT 1",
            [key, digest, capture.fetched_at],
        ).fetchone()
        if stored is not None:
            revisit_of, revisit_reason = stored[0], IDENTICAL
    body = capture.body if revisit_of is None else None
    return insert(
        db,
        "captures",
        {
            "url": key,
            "target_url": capture.target_url,
            "requested_url": capture.requested_url
            if capture.requested_url != capture.target_url
            else None,
            "fetched_at": capture.fetched_at,
            "status": capture.status,
            "reason": capture.reason or None,
            "http_version": capture.http_version,
            "request_headers": json.dumps(capture.request_headers, ensure_ascii=False),
            "headers": json.dumps(capture.headers, ensure_ascii=False),
            "content_type": capture.header("Content-Type"),
            "etag": capture.header("ETag"),
            "last_modified": capture.header("Last-Modified"),
            "payload_digest": digest,
            "body_length": len(capture.body) if capture.body is not None else None,
            "body": encode_body(body) if body is not None else None,
            "codec": CODEC if body is not None else None,
            "revisit_of": revisit_of,
            "revisit_reason": revisit_reason,
            "reencoded": int(capture.reencoded),
            "source": capture.source,
        },
    )


@dataclass(frozen=True)
class StoredCapture:
    """A capture read back, its body resolved through a revisit."""

    id: int
    url: str
    capture: Capture
    revisit_of: int | None
    revisit_reason: str | None
    payload_digest: str | None


def _body_of(db: sqlite_utils.Database, capture_id: int) -> bytes | None:
    row = db.execute("SELECT body, codec FROM captures WHERE id = ?", [capture_id]).fetchone()
    if row is None or row[0] is None:
        return None
    return decode_body(row[0], row[1] or CODEC)


_SELECT = (
    "SELECT id, url, target_url, requested_url, fetched_at, status, reason, http_version,"
    " request_headers, headers, payload_digest, body, codec, revisit_of, revisit_reason,"
    " reencoded, source FROM captures"
)


def _stored(db: sqlite_utils.Database, row: tuple) -> StoredCapture:
    (capture_id, url, target, requested, fetched_at, status, reason, version, request_headers,
     headers, digest, blob, codec, revisit_of, revisit_reason, reencoded, source) = row  # fmt: skip
    if blob is not None:
        body: bytes | None = decode_body(blob, codec or CODEC)
    elif revisit_of is not None and revisit_reason == IDENTICAL:  # (a 304 had no body)
        body = _body_of(db, revisit_of)
    else:
        body = None
    capture = Capture(
        target_url=target,
        fetched_at=fetched_at,
        status=status,
        headers=[tuple(pair) for pair in json.loads(headers or "[]")],
        body=body,
        requested_url=requested,
        reason=reason or "",
        http_version=version or "HTTP/1.1",
        request_headers=[tuple(pair) for pair in json.loads(request_headers or "[]")],
        source=source,
        reencoded=bool(reencoded),
    )
    return StoredCapture(capture_id, url, capture, revisit_of, revisit_reason, digest)


def captures_of(db: sqlite_utils.Database, url: str) -> list[StoredCapture]:
    """Every capture of an article, oldest first, bodies resolved."""
    rows = db.execute(
        _SELECT + " WHERE url = ? ORDER BY fetched_at, id", [urls.article_url(url)]
    ).fetchall()
    return [_stored(db, row) for row in rows]


def capture_by_id(db: sqlite_utils.Database, capture_id: int) -> StoredCapture | None:
    row = db.execute(_SELECT + " WHERE id = ?", [capture_id]).fetchone()
    return _stored(db, row) if row else None


def latest_page(db: sqlite_utils.Database, url: str) -> StoredCapture | None:
    """The article's latest capture with a page (status 200, a body or a revisit of
    one): what `reparse` extracts again."""
    row = db.execute(
        _SELECT + " WHERE url = ? AND status = 200 ORDER BY fetched_at DESC, id DESC LIMIT 1",
        [urls.article_url(url)],
    ).fetchone()
    return _stored(db, row) if row else None


def count_captures(
    db: sqlite_utils.Database,
    since: str | None = None,
    until: str | None = None,
    section: Sections = None,
) -> int:
    """How many captures iter_captures gives with these filters."""
    sql, params = _captures_of_articles(since, until, section)
    return db.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0]


def iter_captures(
    db: sqlite_utils.Database,
    since: str | None = None,
    until: str | None = None,
    section: Sections = None,
) -> Iterator[StoredCapture]:
    """The captures of the articles published in [since, until] (local dates, as every
    command's --since/--until) and in `section`; without filters, every capture. Oldest
    first, one in memory at a time (an export of the whole archive)."""
    sql, params = _captures_of_articles(since, until, section)
    ids = [capture_id for (capture_id,) in db.execute(sql + " ORDER BY c.fetched_at, c.id", params)]
    for capture_id in ids:
        row = db.execute(_SELECT + " WHERE id = ?", [capture_id]).fetchone()
        yield _stored(db, row)


def _captures_of_articles(
    since: str | None, until: str | None, section: Sections
) -> tuple[str, list[str]]:
    where, params = article_filters("a", since, until, section)
    sql = "SELECT c.id FROM captures c"
    if where:
        sql += " JOIN articles a ON a.url = c.url WHERE " + " AND ".join(where)
    return sql, params
