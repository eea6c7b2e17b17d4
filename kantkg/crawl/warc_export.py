"""The archive's captures as a WARC/1.1 file (ISO 28500): what archivists' tools (pywb,
warcio, Heritrix's and Browsertrix's readers) replay and check.

One `warcinfo` record, then per capture a `request` record (when the request's headers
were kept) and a `response` record with the body's bytes exactly as stored -- or, for an
unchanged re-fetch, a `revisit` record (HTTP headers only) that refers to the capture
holding the body; a 304's revisit carries the original's status line and headers (as
updated by the 304), since replayers serve a revisit's headers with the original's body.
Written with warcio: export is not waited on (a cron job or a person at the end of a
month), so a faster writer (fastwarc) would buy nothing that matters.

The HTTP headers are the stored ones, made true of the stored body: Scrapy undid the
transfer coding (chunks) and the content coding (gzip, whose header it dropped), so
`Transfer-Encoding` goes and `Content-Length` is the body's length. Pages migrated from
schema 4 (`reencoded`) are UTF-8 whatever charset their Content-Type named: exported
with `charset=utf-8` and the record marked `WARC-Kantkg-Reencoded: true`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from io import BytesIO
from typing import BinaryIO
from urllib.parse import urlsplit

import sqlite_utils
from warcio.statusandheaders import StatusAndHeaders  # type: ignore[import-untyped]
from warcio.warcwriter import WARCWriter  # type: ignore[import-untyped]

from kantkg import __version__
from kantkg.archive.captures import (
    IDENTICAL,
    NOT_MODIFIED,
    StoredCapture,
    capture_by_id,
    count_captures,
    iter_captures,
)
from kantkg.archive.search import Sections
from kantkg.items import Capture, Headers

WARC_VERSION = "WARC/1.1"
# WARC/1.1, 6.7.2 and 6.7.3 (warcio's own revisit helper writes the 1.0 profile)
PROFILES = {
    IDENTICAL: "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest",
    NOT_MODIFIED: "http://netpreserve.org/warc/1.1/revisit/server-not-modified",
}
REENCODED_HEADER = "WARC-Kantkg-Reencoded"
# Headers that describe the bytes on the wire, not the stored body.
WIRE_ONLY = {"transfer-encoding", "content-length"}

Track = Callable[[Iterator[StoredCapture], int], Iterable[StoredCapture]]


class _RawHeaders(StatusAndHeaders):
    """HTTP headers written as the bytes received. The spider kept each value decoded as
    Latin-1 (the bytes one for one); warcio would %-encode any non-ASCII value."""

    def compute_headers_buffer(self, header_filter: object = None) -> None:
        text = self.to_str(header_filter) + "\r\n"
        try:
            self.headers_buff = text.encode("latin-1")
        except UnicodeEncodeError:  # (a value that never came from the wire)
            self.headers_buff = text.encode("utf-8")


def export_warc(
    db: sqlite_utils.Database,
    out: BinaryIO,
    *,
    since: str | None = None,
    until: str | None = None,
    section: Sections = None,
    track: Track = lambda it, total: it,
    gzip: bool = True,
) -> Counter[str]:
    """Write the captures of the articles published in [since, until] and in `section`
    (oldest first) to `out` as WARC/1.1 records, one gzip member each unless `gzip` is
    false (a `.warc` file is read as is) -> records written by WARC-Type
    (and `digest-mismatch`: stored bodies whose digest is not the one stored;
    `skipped-undated`: captures without a fetch time, which a record must have)."""
    writer = WARCWriter(out, gzip=gzip, warc_version=WARC_VERSION)
    counts: Counter[str] = Counter()
    info = writer.create_warcinfo_record(_filename(out), _warcinfo_fields(since, until, section))
    info_id = info.rec_headers.get_header("WARC-Record-ID")
    writer.write_record(info)
    counts["warcinfo"] += 1
    # capture id -> the responses written that revisits refer to (the original is an
    # earlier capture of the same article): their names only, a whole archive's worth
    referred = {
        capture_id
        for (capture_id,) in db.execute(
            "SELECT DISTINCT revisit_of FROM captures WHERE revisit_of IS NOT NULL"
        )
    }
    originals: dict[int, _Original] = {}
    total = count_captures(db, since, until, section)
    for stored in track(iter_captures(db, since, until, section), total):
        capture = stored.capture
        if not capture.fetched_at:  # (a schema-4 page without a fetch time: no WARC-Date)
            counts["skipped-undated"] += 1
            continue
        date = warc_date(capture.fetched_at)
        common = {"WARC-Date": date, "WARC-Warcinfo-ID": info_id}
        if capture.reencoded:
            common[REENCODED_HEADER] = "true"
        original = originals.get(stored.revisit_of) if stored.revisit_of is not None else None
        if stored.revisit_reason in PROFILES and stored.payload_digest:
            if original is None:  # not written yet: cannot happen in date order, but cheap
                original = _original(db, stored)
            http = (
                _not_modified_headers(capture, _original_headers(db, stored))
                if stored.revisit_reason == NOT_MODIFIED
                else _response_headers(capture, stored.revisit_reason)
            )
            record = writer.create_warc_record(
                capture.target_url,
                "revisit",
                http_headers=http,
                warc_headers_dict={
                    **common,
                    "WARC-Profile": PROFILES[stored.revisit_reason],
                    "WARC-Refers-To-Target-URI": original.uri,
                    "WARC-Refers-To-Date": original.date,
                    **({"WARC-Refers-To": original.record_id} if original.record_id else {}),
                    "WARC-Payload-Digest": stored.payload_digest,
                },
            )
        else:
            body = capture.body or b""
            record = writer.create_warc_record(
                capture.target_url,
                "response",
                payload=BytesIO(body),
                length=len(body),
                http_headers=_response_headers(capture, None),
                warc_headers_dict=common,
            )
            written = record.rec_headers.get_header("WARC-Payload-Digest")
            if stored.payload_digest and written != stored.payload_digest:
                counts["digest-mismatch"] += 1  # the record says what its bytes are
            if stored.id in referred:
                originals[stored.id] = _Original(
                    capture.target_url, date, record.rec_headers.get_header("WARC-Record-ID")
                )
        if capture.request_headers:
            request = writer.create_warc_record(
                capture.target_url,
                "request",
                http_headers=_request_headers(capture),
                warc_headers_dict={k: v for k, v in common.items() if k != REENCODED_HEADER},
            )
            writer.write_request_response_pair(request, record)  # response, then request
            counts["request"] += 1
        else:  # a migrated page: its request was never kept
            writer.write_record(record)
        counts[record.rec_type] += 1
    return counts


def warc_date(fetched_at: str) -> str:
    """An ISO 8601 time with offset -> WARC-Date (UTC, `Z`; fractions only if any)."""
    when = datetime.fromisoformat(fetched_at)
    if when.tzinfo is None:  # (the archive writes offsets; a bare time is UTC)
        when = when.replace(tzinfo=UTC)
    when = when.astimezone(UTC)
    spec = "%Y-%m-%dT%H:%M:%S.%fZ" if when.microsecond else "%Y-%m-%dT%H:%M:%SZ"
    return when.strftime(spec)


def _response_headers(capture: Capture, revisit_reason: str | None) -> StatusAndHeaders:
    """The status line and headers as received, true of the body exported."""
    headers: Headers = [(k, v) for k, v in capture.headers if k.lower() not in WIRE_ONLY]
    if capture.reencoded:
        headers = _utf8_content_type(headers)
    if capture.body is not None and revisit_reason != NOT_MODIFIED:
        headers.append(("Content-Length", str(len(capture.body))))
    else:  # a 304: it has no body, and whatever length it said stays
        headers += [(k, v) for k, v in capture.headers if k.lower() == "content-length"]
    reason = capture.reason or _phrase(capture.status)
    return _RawHeaders(f"{capture.status} {reason}".rstrip(), headers, protocol=_protocol(capture))


# What a 304 says of the page it confirms: the headers a cache updates from it (RFC 9111
# 4.3.4). Those that describe the body's bytes stay the original's.
NOT_UPDATED = WIRE_ONLY | {"content-type", "content-encoding", "content-range"}


def _not_modified_headers(capture: Capture, original: StatusAndHeaders) -> StatusAndHeaders:
    """A 304's revisit record as replayers need it: pywb serves a revisit's status line
    and headers with the original's body, so a 304 line would replay as a 304. It gets
    the original's status line and headers, updated by those the 304 sent (Date, ETag,
    Last-Modified, Cache-Control, Expires, ...); the profile still says server-not-modified."""
    sent = [(k, v) for k, v in capture.headers if k.lower() not in NOT_UPDATED]
    replaced = {k.lower() for k, _ in sent}
    kept = [(k, v) for k, v in original.headers if k.lower() not in replaced]
    return _RawHeaders(original.statusline, kept + sent, protocol=original.protocol)


def _request_headers(capture: Capture) -> StatusAndHeaders:
    """GET of the target's path, with the request headers sent (Host added when Scrapy's
    list lacks it: Twisted sends it)."""
    parts = urlsplit(capture.target_url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = list(capture.request_headers)
    if not any(k.lower() == "host" for k, _ in headers):
        headers.insert(0, ("Host", parts.netloc))
    return _RawHeaders(
        f"GET {path} {_protocol(capture)}", headers, protocol="", is_http_request=True
    )


_CHARSET = re.compile(r";\s*charset\s*=\s*(\"[^\"]*\"|[^;\s]*)", re.IGNORECASE)


def _utf8_content_type(headers: Headers) -> Headers:
    """A re-encoded page's Content-Type, naming the charset its bytes are in: UTF-8."""
    fixed: Headers = []
    for name, value in headers:
        if name.lower() == "content-type":
            value = _CHARSET.sub("", value).rstrip("; ") + "; charset=utf-8"
        fixed.append((name, value))
    if not any(name.lower() == "content-type" for name, _ in fixed):
        fixed.append(("Content-Type", "text/html; charset=utf-8"))
    return fixed


def _protocol(capture: Capture) -> str:
    version = capture.http_version
    return version if version.upper().startswith("HTTP/") else "HTTP/1.1"


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


@dataclass(frozen=True)
class _Original:
    """A response record written, as a revisit refers to it."""

    uri: str
    date: str
    record_id: str  # "" when not written in this file


def _found_original(db: sqlite_utils.Database, stored: StoredCapture) -> StoredCapture:
    """The capture a revisit refers to (none found: the revisit itself)."""
    found = capture_by_id(db, stored.revisit_of) if stored.revisit_of is not None else None
    return found or stored


def _original(db: sqlite_utils.Database, stored: StoredCapture) -> _Original:
    """The capture a revisit refers to, when it was not written before it."""
    capture = _found_original(db, stored).capture
    return _Original(capture.target_url, warc_date(capture.fetched_at), "")


def _original_headers(db: sqlite_utils.Database, stored: StoredCapture) -> StatusAndHeaders:
    """The status line and headers of the response a 304 confirmed, read from the archive
    when needed (a 304 of a page answered 304 before keeps its 304 line)."""
    found = _found_original(db, stored)
    return _response_headers(found.capture, found.revisit_reason)


def _filename(out: BinaryIO) -> str | None:
    """The file's name as it will be once whole (the command writes FILE.partial)."""
    name = getattr(out, "name", None)
    if not isinstance(name, str):
        return None
    name = name.rsplit("/", 1)[-1]
    return name.removesuffix(".partial")


def _warcinfo_fields(since: str | None, until: str | None, section: Sections) -> dict[str, str]:
    chosen = [f"published from {since}" if since else "", f"until {until}" if until else ""]
    if section:
        names = (section,) if isinstance(section, str) else section
        chosen.append("section " + " or ".join(names))
    return {
        "software": f"kantkg {__version__} (warcio)",
        "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        "description": "kant.kg articles as fetched, from a kantkg archive"
        + (" (" + ", ".join(c for c in chosen if c) + ")" if any(chosen) else "")
        + f". Records with {REENCODED_HEADER}: true hold a page archived before kantkg kept"
        " responses as received: re-encoded to UTF-8, few headers, no request.",
    }
