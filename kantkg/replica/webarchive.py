"""The replica as a public web archive (Common Crawl), so WARC import and CDX backfill
can be tested offline.

What the archive holds (a snapshot of the site at first use, built in memory):
a response capture of every article, removed ones included; an earlier, different
version of a few articles (`edited_paths`); the front page and one category page; a 404
capture of an article-like URL; a page of another host. The captures are in two WARC
files written with warcio, one gzip member per record as Common Crawl writes them.

Served under /webarchive/ (see `WebArchive.route`):
    /webarchive/collinfo.json                  the crawls, as index.commoncrawl.org lists them
    /webarchive/cdx?url=...                    pywb's CDX server API (CC-MAIN-2024-10-index too)
    /webarchive/crawl-data/.../*.warc.gz       the WARC files, Range requests honoured
    /webarchive/wayback/cdx/search/cdx?url=... the Wayback Machine's CDX API
    /webarchive/wayback/web/<ts>id_/<url>      a capture's original body (X-Archive-Orig-*)

The replica does not reuse the extractor's or the importer's code: SURT keys, CDX
matching and Range parsing are written here again, from the APIs' documentation.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.utils import format_datetime
from http import HTTPStatus
from io import BytesIO
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from warcio.statusandheaders import StatusAndHeaders  # type: ignore[import-untyped]
from warcio.warcwriter import WARCWriter  # type: ignore[import-untyped]

from kantkg.replica.corpus import SEED_PATH, ArticleTruth

if TYPE_CHECKING:
    from kantkg.replica.server import Site

WEBARCHIVE_PREFIX = "/webarchive/"
CRAWL = "CC-MAIN-2024-10"
SEGMENT = "1707947473347.0"
PAGE_SIZE = 5  # CDX lines a page (Common Crawl: 5 blocks of 3,000 lines)
CAPTURE_DELAY = timedelta(hours=3)  # an article is captured this long after its last change
EARLY_DELAY = timedelta(hours=1)  # the earlier version of an edited article
OTHER_HOST_URL = "https://example.org/2021-05-25/x/"
BOGUS_PATH = "/2019-03-14/eta-stranica-nikogda-ne-sushhestvovala/"
CRAWLER_AGENT = "CCBot/2.0 (https://commoncrawl.org/faq/)"
CDX_FIELDS = (
    "urlkey",
    "timestamp",
    "url",
    "mime",
    "mime-detected",
    "status",
    "digest",
    "length",
    "offset",
    "filename",
    "charset",
    "languages",
)
# The classic CDX line (pywb's cdx11): "-" where a field has no value.
CLASSIC_FIELDS = (
    "urlkey",
    "timestamp",
    "url",
    "mime",
    "status",
    "digest",
    "redirect",
    "robotflags",
    "length",
    "offset",
    "filename",
)
WAYBACK_FIELDS = ("urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length")
_FIELD_ALIASES = {"mimetype": "mime", "statuscode": "status", "original": "url"}
_PAD_UP = "29991231235959"  # pywb: a `to` of 2024 means up to the end of 2024

Answer = tuple[int, bytes, str, dict[str, str]]  # status, body, content type, headers
Headers = Mapping[str, str] | Message  # a request's headers (http.server's: a Message)


def surt(url: str) -> str:
    """The SURT key a CDX index sorts by (IA canonicalisation, enough for this site):
    host reversed by labels without www., port kept unless the scheme's default, lower
    case, no trailing slash, query arguments sorted."""
    parts = urlsplit(url if "://" in url else "http://" + url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    key = ",".join(reversed(host.split(".")))
    if parts.port and parts.port != {"http": 80, "https": 443}.get(parts.scheme):
        key += f":{parts.port}"
    path = parts.path or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    query = "&".join(sorted(parts.query.split("&"))) if parts.query else ""
    return (f"{key}){path}" + (f"?{query}" if query else "")).lower()


def _timestamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def _digest(payload: bytes) -> str:
    return base64.b32encode(hashlib.sha1(payload).digest()).decode()


def _record_id(*parts: str) -> str:
    """Deterministic WARC-Record-IDs: the same replica writes the same bytes."""
    return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, '|'.join(parts))}>"


@dataclass(frozen=True)
class _Page:
    """One fetch the crawler made: what it asked for, when, and what it got."""

    url: str
    when: datetime
    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    language: str = "rus"


@dataclass(frozen=True)
class Capture:
    """One response record in a WARC file, as the CDX index describes it."""

    url: str
    timestamp: str  # 14 digits, UTC
    status: int
    mime: str
    charset: str | None
    languages: str | None
    digest: str  # base32 SHA-1 of the HTTP payload
    filename: str  # crawl-data/... (a path under /webarchive/)
    offset: int  # of the record's gzip member in the file
    length: int  # of that gzip member
    body: bytes  # the HTTP payload, for the Wayback API
    headers: tuple[tuple[str, str], ...]  # the HTTP response headers

    @property
    def urlkey(self) -> str:
        return surt(self.url)

    def fields(self) -> dict[str, str]:
        """The CDX JSON object (all values strings, as Common Crawl's); charset and
        languages only where a page was detected (200s), as Common Crawl's."""
        found = {
            "urlkey": self.urlkey,
            "timestamp": self.timestamp,
            "url": self.url,
            "mime": self.mime,
            "mime-detected": self.mime,
            "status": str(self.status),
            "digest": self.digest,
            "length": str(self.length),
            "offset": str(self.offset),
            "filename": self.filename,
        }
        if self.status == 200:
            if self.charset:
                found["charset"] = self.charset
            if self.languages:
                found["languages"] = self.languages
        return found


class WebArchive:
    """A Common Crawl of the replica: WARC files in memory, a CDX index over them."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.base = site.base
        self.edited_paths: list[str] = []  # articles with an earlier, different capture
        self.files: dict[str, bytes] = {}  # filename (crawl-data/...) -> WARC bytes
        self.captures: list[Capture] = []  # sorted by urlkey, then timestamp
        self._build()

    # ------------------------------------------------------------- building

    def _pages(self) -> list[_Page]:
        site, corpus = self.site, self.site.corpus
        pages = [self._article_page(t, CAPTURE_DELAY) for t in corpus.all() + corpus.removed()]
        generated = [t for t in corpus.all() if t.index >= 0]
        picks = sorted({len(generated) * k // 4 for k in (1, 2, 3)} if generated else set())
        for truth in (generated[n] for n in picks):
            self.edited_paths.append(truth.path)
            earlier = replace(
                truth,
                title=f"Предварительно: {truth.title}",
                modified=None,
                paragraphs=(*truth.paragraphs[:1], "Подробности будут опубликованы позже."),
                repeated=(),
            )
            pages.append(self._article_page(earlier, EARLY_DELAY))
        latest = max((p.when for p in pages), default=datetime(2024, 3, 1, tzinfo=UTC))
        section = corpus.meta(SEED_PATH)["section_slug"]
        for n, path in enumerate(("/", f"/category/{section}/"), start=1):
            response = site.route(path)
            pages.append(
                _Page(
                    self.base + path,
                    latest + timedelta(days=1, minutes=n),
                    response.status,
                    response.content_type,
                    response.body,
                )
            )
        missing = site.not_found()
        pages.append(
            _Page(
                self.base + BOGUS_PATH,
                datetime(2021, 5, 26, 4, tzinfo=UTC),
                404,
                missing.content_type,
                missing.body,
            )
        )
        other = (
            "<!doctype html><html lang=en><head><meta charset=utf-8><title>x</title></head>"
            "<body><p>Another site, crawled in the same segment.</p></body></html>"
        )
        pages.append(
            _Page(
                OTHER_HOST_URL,
                datetime(2021, 5, 26, 5, tzinfo=UTC),
                200,
                "text/html; charset=utf-8",
                other.encode(),
                language="eng",
            )
        )
        return sorted(pages, key=lambda p: (p.when, p.url))

    def _article_page(self, truth: ArticleTruth, delay: timedelta) -> _Page:
        response = self.site.article(truth)
        return _Page(
            truth.url,
            truth.modified_dt.astimezone(UTC) + delay,
            response.status,
            response.content_type,
            response.body,
            tuple(response.headers.items()),
        )

    def _build(self) -> None:
        pages = self._pages()
        half = (len(pages) + 1) // 2
        captures: list[Capture] = []
        for number, chunk in enumerate((pages[:half], pages[half:])):
            filename = (
                f"crawl-data/{CRAWL}/segments/{SEGMENT}/warc/"
                f"{CRAWL}-20240301000000-20240301030000-{number:05d}.warc.gz"
            )
            self.files[filename], written = self._warc(filename, chunk)
            captures += written
        self.captures = sorted(captures, key=lambda c: (c.urlkey, c.timestamp))

    def _warc(self, filename: str, pages: list[_Page]) -> tuple[bytes, list[Capture]]:
        """One WARC file: warcinfo, then a request and a response record a page."""
        out = BytesIO()
        writer = WARCWriter(out, gzip=True, warc_version="1.0")
        first = min((p.when for p in pages), default=datetime(2024, 3, 1, tzinfo=UTC))
        info_id = _record_id("warcinfo", filename)
        fields = (
            "software: kantkg replica (warcio)\r\nformat: WARC File Format 1.0\r\n"
            f"isPartOf: {CRAWL}\r\noperator: kantkg tests\r\n"
            f"robots: checked via crawler-commons\r\nhttp-header-user-agent: {CRAWLER_AGENT}\r\n"
        ).encode()
        writer.write_record(
            writer.create_warc_record(
                "",
                "warcinfo",
                payload=BytesIO(fields),
                length=len(fields),
                warc_content_type="application/warc-fields",
                warc_headers_dict={
                    "WARC-Record-ID": info_id,
                    "WARC-Date": self._warc_date(first),
                    "WARC-Filename": filename.rsplit("/", 1)[-1],
                },
            )
        )
        captures = []
        for page in pages:
            date = self._warc_date(page.when)
            response_id = _record_id("response", page.url, date)
            parts = urlsplit(page.url)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            request = StatusAndHeaders(
                f"GET {target} HTTP/1.1",
                [
                    ("Host", parts.netloc),
                    ("User-Agent", CRAWLER_AGENT),
                    ("Accept", "text/html,application/xhtml+xml,*/*;q=0.8"),
                    ("Accept-Language", "en-US,en;q=0.5"),
                ],
                is_http_request=True,
            )
            writer.write_record(
                writer.create_warc_record(
                    page.url,
                    "request",
                    http_headers=request,
                    warc_headers_dict={
                        "WARC-Record-ID": _record_id("request", page.url, date),
                        "WARC-Date": date,
                        "WARC-Warcinfo-ID": info_id,
                        "WARC-Concurrent-To": response_id,
                    },
                )
            )
            headers = [
                ("Date", format_datetime(page.when.astimezone(UTC), usegmt=True)),
                ("Server", "nginx"),
                ("Content-Type", page.content_type),
                ("Content-Length", str(len(page.body))),
                *page.headers,
            ]
            status = f"{page.status} {HTTPStatus(page.status).phrase}"
            offset = out.tell()
            writer.write_record(
                writer.create_warc_record(
                    page.url,
                    "response",
                    payload=BytesIO(page.body),
                    length=len(page.body),
                    http_headers=StatusAndHeaders(status, headers, protocol="HTTP/1.1"),
                    warc_headers_dict={
                        "WARC-Record-ID": response_id,
                        "WARC-Date": date,
                        "WARC-Warcinfo-ID": info_id,
                        "WARC-IP-Address": "127.0.0.1",
                    },
                )
            )
            mime, _, params = page.content_type.partition(";")
            charset = params.split("charset=", 1)[1].strip() if "charset=" in params else None
            captures.append(
                Capture(
                    url=page.url,
                    timestamp=_timestamp(page.when),
                    status=page.status,
                    mime=mime.strip(),
                    charset=charset,
                    languages=page.language,
                    digest=_digest(page.body),
                    filename=filename,
                    offset=offset,
                    length=out.tell() - offset,
                    body=page.body,
                    headers=tuple(headers),
                )
            )
        return out.getvalue(), captures

    @staticmethod
    def _warc_date(when: datetime) -> str:
        return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    # -------------------------------------------------------------- queries

    @property
    def filenames(self) -> list[str]:
        return list(self.files)

    def url_of(self, filename: str) -> str:
        """Where the replica serves a WARC file (Common Crawl: data.commoncrawl.org/<f>)."""
        return f"{self.base}{WEBARCHIVE_PREFIX}{filename}"

    @property
    def cdx_url(self) -> str:
        return f"{self.base}{WEBARCHIVE_PREFIX}cdx"

    def matching(self, url: str, match_type: str = "") -> list[Capture]:
        """Captures whose URL matches as pywb matches: a trailing * means prefix, a
        leading *. means domain; host and domain compare SURT hosts."""
        if url.startswith("*."):
            url, match_type = url[2:], match_type or "domain"
        elif url.endswith("*"):
            url, match_type = url[:-1], match_type or "prefix"
        key = surt(url)
        match_type = match_type or "exact"
        if match_type == "exact":
            return [c for c in self.captures if c.urlkey == key]
        if match_type == "prefix":
            if url.endswith("/") and not key.endswith("/"):
                key += "/"
            return [c for c in self.captures if c.urlkey.startswith(key)]
        host = key.split(")", 1)[0]
        if match_type == "host":
            return [c for c in self.captures if c.urlkey.split(")", 1)[0] == host]
        if match_type == "domain":
            return [
                c
                for c in self.captures
                # subdomains extend the reversed host: org,example,www
                if (h := c.urlkey.split(")", 1)[0]) == host or h.startswith(host + ",")
            ]
        raise ValueError(f"matchType must be exact, prefix, host or domain, not {match_type!r}")

    # --------------------------------------------------------------- routing

    def route(self, path: str, query: str, headers: Headers) -> Answer:
        """The answer to GET /webarchive/... (HEAD: the same without the body)."""
        name = path[len(WEBARCHIVE_PREFIX) :]
        params = parse_qs(query, keep_blank_values=True)
        if name == "collinfo.json":
            return self._collinfo()
        if name in ("cdx", f"{CRAWL}-index"):
            return self.cdx(params)
        if name in self.files:
            return self._file(self.files[name], headers.get("Range"))
        if name == "wayback/cdx/search/cdx":
            return self.wayback_cdx(params)
        if name.startswith("wayback/web/"):
            return self._wayback_replay(path, query)
        return _text(404, f"Not found: {path}\n")

    def _collinfo(self) -> Answer:
        index = f"{self.base}{WEBARCHIVE_PREFIX}"
        body = [
            {
                "id": CRAWL,
                "name": "February/March 2024 Index (kantkg replica)",
                "timegate": f"{index}{CRAWL}/",
                "cdx-api": self.cdx_url,
                "from": "2012-01-01T00:00:00",
                "to": "2026-12-31T23:59:59",
            }
        ]
        return 200, json.dumps(body, indent=1).encode(), "application/json", {}

    def _file(self, data: bytes, range_header: str | None) -> Answer:
        kind = "application/warc"
        whole = {"Accept-Ranges": "bytes"}
        if not range_header:
            return 200, data, kind, whole
        try:
            wanted = _byte_range(range_header, len(data))
        except _Unsatisfiable:
            return 416, b"", kind, {"Content-Range": f"bytes */{len(data)}", **whole}
        if wanted is None:  # a header we do not parse (several ranges): the whole file
            return 200, data, kind, whole
        start, end = wanted
        return (
            206,
            data[start : end + 1],
            kind,
            {"Content-Range": f"bytes {start}-{end}/{len(data)}", **whole},
        )

    # ------------------------------------------------------------------ CDX

    def select(self, params: Mapping[str, list[str]]) -> tuple[list[Capture], int]:
        """The captures a CDX query asks for, and how many captures its URL matched
        (the pages count those, as Common Crawl's pages count index blocks)."""
        url = params["url"][0]
        matched = self.matching(url, _one(params, "matchType"))
        chosen = matched
        if (page := _one(params, "page")) != "":
            number = int(page)
            chosen = matched[number * PAGE_SIZE : (number + 1) * PAGE_SIZE]
        start = _one(params, "from").ljust(14, "0")
        stop = (to := _one(params, "to")) + _PAD_UP[len(to) :]
        chosen = [c for c in chosen if start <= c.timestamp <= stop]
        for rule in params.get("filter", []):
            chosen = [c for c in chosen if _passes(rule, c)]
        if (limit := _one(params, "limit")) != "":
            chosen = chosen[: int(limit)]
        return chosen, len(matched)

    def cdx(self, params: Mapping[str, list[str]]) -> Answer:
        """pywb's CDX server API, as index.commoncrawl.org answers it."""
        url = _one(params, "url")
        if not url:
            return _text(400, "The url= parameter is required\n")
        as_json = _one(params, "output") == "json"
        try:
            if _one(params, "showNumPages") == "true":
                _, total = self.select({"url": [url], "matchType": params.get("matchType", [])})
                pages = {"pages": math.ceil(total / PAGE_SIZE), "pageSize": PAGE_SIZE}
                body = json.dumps({**pages, "blocks": total}) + "\n"
                return 200, body.encode(), "text/x-ndjson", {}
            chosen, total = self.select(params)
        except (ValueError, re.error) as exc:
            return _text(400, f"Invalid query: {exc}\n")
        page = _one(params, "page")
        if page and int(page) >= max(1, math.ceil(total / PAGE_SIZE)):
            last = max(0, math.ceil(total / PAGE_SIZE) - 1)
            return _text(400, f"Page {page} invalid: First Page is 0, Last Page is {last}\n")
        if not chosen:
            message = f"No Captures found for: {url}"
            if as_json:
                return 404, (json.dumps({"message": message}) + "\n").encode(), "text/x-ndjson", {}
            return _text(404, message + "\n")
        wanted = [f for f in _one(params, "fl").split(",") if f]
        wanted = [_FIELD_ALIASES.get(f, f) for f in wanted]
        lines = []
        for capture in chosen:
            found = capture.fields()
            if as_json:
                keys = wanted or list(found)
                lines.append(json.dumps({k: found[k] for k in keys if k in found}))
            else:
                keys = wanted or list(CLASSIC_FIELDS)
                lines.append(" ".join(found.get(k, "-") for k in keys))
        kind = "text/x-ndjson" if as_json else "text/plain"
        return 200, ("\n".join(lines) + "\n").encode(), kind, {}

    # -------------------------------------------------------------- Wayback

    def wayback_cdx(self, params: Mapping[str, list[str]]) -> Answer:
        """The Wayback Machine's CDX API (web.archive.org/cdx/search/cdx): a JSON array
        of arrays under a header row with output=json, space-separated lines without;
        an empty array (200) when nothing matches."""
        url = _one(params, "url")
        if not url:
            return _text(400, "The url= parameter is required\n")
        try:
            chosen, _ = self.select({**params, "page": []})
        except (ValueError, re.error) as exc:
            return _text(400, f"Invalid query: {exc}\n")
        rows = [
            [
                c.urlkey,
                c.timestamp,
                c.url,
                c.mime,
                str(c.status),
                c.digest,
                str(c.length),
            ]
            for c in chosen
        ]
        if _one(params, "output") == "json":
            body = json.dumps([list(WAYBACK_FIELDS), *rows] if rows else [])
            return 200, body.encode(), "application/json", {}
        return _text(200, "".join(" ".join(r) + "\n" for r in rows))

    def _wayback_replay(self, path: str, query: str) -> Answer:
        """/wayback/web/<timestamp>id_/<url>: the capture nearest the timestamp, its
        original payload, the original headers as X-Archive-Orig-*."""
        rest = path[len(WEBARCHIVE_PREFIX) + len("wayback/web/") :]
        found = re.match(r"^(\d{1,14})(?:id_)?/(.+)$", rest)
        if not found:
            return _text(404, f"Not found: {path}\n")
        stamp, url = found.group(1), found.group(2) + (f"?{query}" if query else "")
        url = re.sub(r"^(https?):/(?!/)", r"\1://", url)  # a proxy may fold // into /
        captures = self.matching(url)
        if not captures:
            return _text(404, f"No Captures found for: {url}\n")
        wanted = int(stamp.ljust(14, "0"))
        nearest = min(captures, key=lambda c: abs(int(c.timestamp) - wanted))
        headers = {f"X-Archive-Orig-{name}": value for name, value in nearest.headers}
        headers["Memento-Datetime"] = format_datetime(
            datetime.strptime(nearest.timestamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC),
            usegmt=True,
        )
        kind = next((v for n, v in nearest.headers if n == "Content-Type"), "text/html")
        return nearest.status, nearest.body, kind, headers


def _one(params: Mapping[str, list[str]], name: str) -> str:
    values = params.get(name) or [""]
    return values[0]


def _text(status: int, text: str) -> Answer:
    return status, text.encode(), "text/plain; charset=utf-8", {}


def _passes(rule: str, capture: Capture) -> bool:
    """pywb's filter: [!]field:regex (re.match), [!]=field:value (equal), [!]~field:text
    (contains); a rule without field: applies to the whole CDX line."""
    invert = rule.startswith("!")
    rule = rule.removeprefix("!")
    mode = rule[0] if rule[:1] in ("=", "~") else ""
    rule = rule[len(mode) :]
    field, _, wanted = rule.partition(":") if ":" in rule else ("", "", rule)
    fields = capture.fields()
    value = (
        fields.get(_FIELD_ALIASES.get(field, field), "")
        if field
        else " ".join(fields.get(k, "-") for k in CLASSIC_FIELDS)
    )
    if mode == "=":
        hit = value == wanted
    elif mode == "~":
        hit = wanted in value
    else:
        hit = re.match(wanted, value) is not None
    return hit != invert


class _Unsatisfiable(ValueError):
    """A Range no byte of the file is in (416)."""


def _byte_range(header: str, total: int) -> tuple[int, int] | None:
    """(start, end) inclusive of a single `bytes=` range; None for a header this server
    ignores (several ranges, another unit, garbage); _Unsatisfiable past the end."""
    found = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
    if not found or found.group(1) == found.group(2) == "":
        return None
    first, last = found.group(1), found.group(2)
    if first == "":  # bytes=-N: the last N bytes
        size = int(last)
        if not (size and total):
            raise _Unsatisfiable(header)
        return max(0, total - size), total - 1
    start = int(first)
    end = min(int(last), total - 1) if last else total - 1
    if start >= total or (last and int(last) < start):
        raise _Unsatisfiable(header)
    return start, end
