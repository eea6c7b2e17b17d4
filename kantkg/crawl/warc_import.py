"""Import WARC files (Common Crawl, Heritrix, Browsertrix, `kantkg export --warc`):
the configured site's article responses go through the crawl's own chain into the
archive, each kept as a capture with its WARC-Date and source file.

A web archive is evidence from the past: a capture older than the archive's text never
replaces it (it becomes a revision, kantkg.archive.writes), the same capture twice is
stored once, so an import can be run again (or resumed) without adding anything. Bad
records are counted by kind and skipped; a file that cannot be read on is left at the
first bad byte, keeping what came before it.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import sqlite_utils
from warcio.archiveiterator import ArchiveIterator  # type: ignore[import-untyped]
from warcio.bufferedreaders import BufferedReader  # type: ignore[import-untyped]
from warcio.exceptions import ArchiveLoadFailed  # type: ignore[import-untyped]

from kantkg import archive, settings, site, urls
from kantkg.archive.sqlite import sqlite3
from kantkg.crawl import workers
from kantkg.crawl.reparse import article_of_capture
from kantkg.extract.encoding import looks_binary
from kantkg.items import Capture, Headers

Track = Callable[[list[str]], Iterable[str]]  # the files to do -> the same, as they are done

SKIPPED = "skipped/"
# What a record is skipped as (Counter keys SKIPPED + kind; unarchivable adds its reason).
TRUNCATED = "truncated"  # a gzip member or record cut short: the rest of the file is lost
UNREADABLE = "unreadable"  # warcio cannot parse on (or a body's content-coding is broken)
BAD_DIGEST = "bad-digest"  # WARC-Payload-Digest / WARC-Block-Digest do not match
BAD_DATE = "bad-date"  # no WARC-Date that is a date
NO_ORIGINAL = "revisit-without-original"
NOT_HTML = "not-html"
NOT_200 = "not-200"
OTHER_SITE = "other-site"
NOT_ARTICLE_URL = "not-article-url"  # the site's, but no article permalink
NOT_ARTICLE = "not-article"  # the chain says the page is no article
TOO_LARGE = "too-large"  # larger than the crawl's DOWNLOAD_MAXSIZE
UNARCHIVABLE = "unarchivable"  # + /<archive.unarchivable_reason>

# Failures that are the archive's, not the WARC file's: never counted as a bad record.
ARCHIVE_FAILURES: tuple[type[BaseException], ...] = (
    sqlite3.Error,
    archive.ArchiveError,
    BrokenProcessPool,
)

# Pages read ahead of their write (lost, and imported again next run, if the import is
# killed); the first INLINE_PAGES are extracted here, the rest in a worker process.
WINDOW = 64
INLINE_PAGES = 32

HTML_TYPES = ("text/html", "application/xhtml+xml")
# Content-Types that say nothing: the body decides (Common Crawl writes "unk").
SNIFFED_TYPES = ("", "text/plain", "application/octet-stream", "unk", "unknown/unknown")
_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)[\s>]", re.I | re.S)


def is_html(content_type: str | None, body: bytes) -> bool:
    """An HTML page: declared as one (and not a binary file), or undeclared and looking
    like one."""
    if looks_binary(body):
        return False
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    if mime in HTML_TYPES:
        return True
    return mime in SNIFFED_TYPES and bool(_HTML_START.match(body[:2048].lstrip(b"\xef\xbb\xbf")))


def warc_date(text: str | None) -> str | None:
    """A WARC-Date (`2024-03-01T12:00:00Z`, fractions allowed) as the archive writes
    times (kantkg.clock.now_iso: seconds, `+00:00`); None when it is no date."""
    found = re.fullmatch(
        r"\s*(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?\s*",
        text or "",
    )
    if not found:
        return None
    zone = found.group(2) or "Z"
    try:
        when = datetime.fromisoformat(found.group(1) + ("+00:00" if zone == "Z" else zone))
    except ValueError:
        return None
    return when.astimezone(UTC).isoformat(timespec="seconds")


def normal_digest(text: str | None) -> str | None:
    """`sha1:BASE32` as kantkg.archive.payload_digest writes it (a CDX digest has no
    `sha1:`)."""
    if not text:
        return None
    algorithm, _, value = text.strip().rpartition(":")
    return f"{(algorithm or 'sha1').lower()}:{value.upper()}"


def warc_problem(path: str | Path) -> str | None:
    """Why the file is no WARC file at all (checked before an import starts), or None."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(64 * 1024)
    except OSError as exc:
        return exc.strerror or str(exc)
    if head.startswith(b"\x1f\x8b"):
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 64)
        except zlib.error:
            return "not a WARC file (broken gzip)"
    if not head.lstrip(b"\r\n").startswith(b"WARC/"):
        return "not a WARC file"
    return None


@dataclass
class _Response:
    """A response (or resolved revisit) record read, waiting one record for a `request`
    record that follows it."""

    ids: set[str]  # its WARC-Record-ID and those it names concurrent
    url: str  # the article's URL, in its one spelling
    capture: Capture


class WarcImporter:
    """Reads WARC streams into the archive, counting what each record became."""

    def __init__(self, db: sqlite_utils.Database, base_url: str = settings.KANT_BASE_URL) -> None:
        self.db = db
        self.base_url = base_url
        self.counts: Counter[str] = Counter()
        self.max_body = int(settings.DOWNLOAD_MAXSIZE)
        # pages read, in order, waiting for their extraction (None: inline) and write
        self._queue: deque[tuple[_Response, Future | None]] = deque()
        self._pages = 0
        self._pool: ProcessPoolExecutor | None = None
        # the file read: its responses' WARC-Payload-Digest -> (url, fetched_at) captured
        self._source_digests: dict[str, tuple[str, str]] = {}

    def skip(self, kind: str) -> None:
        self.counts[SKIPPED + kind] += 1

    # ------------------------------------------------------------------ reading

    def read(self, stream: IO[bytes], name: str, size: int | None = None) -> None:
        """Import every record of one WARC stream of `size` bytes; `name` becomes the
        captures' source (`warc <name>`). Never raises for what the stream holds: a
        record warcio cannot parse (whatever it raises) ends the file, counted, keeping
        what came before it. The archive's own failures (a full disk) do raise."""
        pending: _Response | None = None
        requests: dict[str, Headers] = {}  # request records by the ids they name
        self._source_digests = {}  # a file's revisits name its responses' digests
        iterator = ArchiveIterator(stream, check_digests=True)
        records = iter(iterator)
        problem = None
        while True:
            try:
                record = next(records, None)
                if record is None:
                    break
                kind = record.rec_type
                if kind == "request":
                    headers = _pairs(record.http_headers)
                    ids = _ids(record)
                    if pending is not None and ids & pending.ids:
                        pending.capture = replace(pending.capture, request_headers=headers)
                    else:
                        if len(requests) > 1000:
                            requests.clear()
                        requests.update(dict.fromkeys(ids, headers))
                    continue
                done, pending = pending, None
                self._store(done)
                if kind in ("response", "revisit"):
                    pending = self._response(record, name, requests)
            except ARCHIVE_FAILURES:  # not the file's fault: the command says so
                raise
            except ArchiveLoadFailed as exc:
                problem = TRUNCATED if "gzip" in str(exc).lower() else UNREADABLE
                break
            except Exception:  # noqa: BLE001 (warcio raises AttributeError, KeyError... on bad input)
                problem = UNREADABLE
                break
        self._store(pending)
        if problem is not None:
            self.skip(problem)
        elif size is not None and iterator.offset < size:  # bytes no record could be read from
            self.skip(TRUNCATED)

    def _response(self, record, name: str, requests: dict[str, Headers]) -> _Response | None:
        """The capture a response or revisit record holds, or None (counted)."""
        warc = record.rec_headers
        target = (warc.get_header("WARC-Target-URI") or "").strip().strip("<>")
        if not site.same_site(target, self.base_url):
            self.skip(OTHER_SITE)
            return None
        url = urls.article_url(target, self.base_url)
        if not site.is_article_url(url):
            self.skip(NOT_ARTICLE_URL)
            return None
        fetched_at = warc_date(warc.get_header("WARC-Date"))
        if fetched_at is None:
            self.skip(BAD_DATE)
            return None
        if warc.get_header("WARC-Truncated"):  # (Common Crawl cuts bodies at 1 MiB)
            self.skip(TRUNCATED)
            return None
        http = record.http_headers
        status = _status(http)
        body: bytes | None = None
        if record.rec_type == "response":
            if status != 200:
                self.skip(NOT_200)
                return None
            try:
                body = record.content_stream().read(self.max_body + 1)
                while record.raw_stream.read(1 << 16):  # to the end: the digests are checked
                    pass
            except (zlib.error, OSError, ValueError, EOFError):
                self.skip(UNREADABLE)
                return None
            if getattr(record.raw_stream, "limit", 0) > 0:
                self.skip(TRUNCATED)
                return None
            if record.digest_checker is not None and record.digest_checker.passed is False:
                self.skip(BAD_DIGEST)
                return None
            if len(body) > self.max_body:
                self.skip(TOO_LARGE)
                return None
        headers = [p for p in _pairs(http) if not _decoded(p)]
        capture = Capture(
            target_url=target,
            fetched_at=fetched_at,
            status=status or 0,
            headers=headers,
            body=body,
            reason=_reason(http),
            http_version=(http.protocol if http is not None else None) or "HTTP/1.1",
            request_headers=next((requests[i] for i in _ids(record) if i in requests), []),
            source=f"warc {name}",
        )
        if record.rec_type == "revisit":
            self.flush()  # its original may be waiting to be written
            resolved = self._resolve(record, capture)
            if resolved is None:
                self.skip(NO_ORIGINAL)
                return None
            capture = resolved
        if capture.status not in (200, 304):
            self.skip(NOT_200)
            return None
        if record.rec_type == "response" and (digest := warc.get_header("WARC-Payload-Digest")):
            self._source_digests[normal_digest(digest) or ""] = (url, capture.fetched_at)
        return _Response(_ids(record), url, capture)

    def _resolve(self, record, capture: Capture) -> Capture | None:
        """A revisit's capture with its original's body (and headers, when it has none).
        The original is found by the revisit's payload digest among the responses of the
        same file (a source's digest covers the bytes as sent, gzip or chunks and all,
        the archive's the decoded body), then among the captures the archive holds by
        that digest, else by WARC-Refers-To-Date. A 304 (or a server-not-modified
        revisit, which replayers want with a 200 line) stays a 304 without a body, as a
        crawl records one."""
        warc = record.rec_headers
        refers = (warc.get_header("WARC-Refers-To-Target-URI") or "").strip().strip("<>")
        original_url = urls.article_url(refers or capture.target_url, self.base_url)
        digest = normal_digest(warc.get_header("WARC-Payload-Digest"))
        refers_date = warc_date(warc.get_header("WARC-Refers-To-Date"))
        original = None
        if digest and digest in self._source_digests:
            url, fetched_at = self._source_digests[digest]
            original = next(
                (s for s in archive.captures_of(self.db, url)
                 if s.capture.body and s.capture.fetched_at == fetched_at),
                None,
            )  # fmt: skip
        stored = [s for s in archive.captures_of(self.db, original_url) if s.capture.body]
        if original is None:
            original = next((s for s in stored if digest and s.payload_digest == digest), None)
        if original is None:
            original = next((s for s in stored if s.capture.fetched_at == refers_date), None)
        if original is None:
            return None
        profile = warc.get_header("WARC-Profile") or ""
        if capture.status == 304 or profile.endswith("/server-not-modified"):
            return replace(capture, status=304, reason="Not Modified", body=None)
        return replace(
            capture,
            status=capture.status or original.capture.status,
            headers=capture.headers or original.capture.headers,
            reason=capture.reason or original.capture.reason,
            body=original.capture.body,
        )

    # ------------------------------------------------------------------ writing

    def _store(self, response: _Response | None) -> None:
        """Queue a page for extraction (in a worker process beside this one, once the
        import is more than a few pages) and its write, in the order read."""
        if response is None:
            return
        capture, future = response.capture, None
        if capture.body is not None:
            if not is_html(capture.header("Content-Type"), capture.body):
                self.skip(NOT_HTML)
                return
            self._pages += 1
            if self._pages == INLINE_PAGES:
                self._pool = workers.extraction_pool()
            if self._pool is not None:
                future = self._pool.submit(article_of_capture, capture, response.url)
        self._queue.append((response, future))
        while len(self._queue) > WINDOW:
            self._write(*self._queue.popleft())

    def flush(self) -> None:
        """Write every page queued."""
        while self._queue:
            self._write(*self._queue.popleft())

    def close(self) -> None:
        """Write what is queued; stop the worker."""
        try:
            self.flush()
        finally:
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)
                self._pool = None

    def _write(self, response: _Response, future: Future | None) -> None:
        """Through the crawl's chain into the archive, in one transaction."""
        capture = response.capture
        if capture.body is None:  # a 304 revisit: recorded, as a crawl records one
            with archive.transaction(self.db):
                archive.add_capture(self.db, capture, response.url)
            self.counts["unchanged"] += 1
            return
        try:
            item, _ = future.result() if future is not None else (None, None)
        except BrokenProcessPool:  # the worker died (killed): read the page here
            future = None
        if future is None:
            item, _ = article_of_capture(capture, response.url)
        if item is None:
            self.skip(NOT_ARTICLE)
            return
        if reason := archive.unarchivable_reason(item):
            self.skip(f"{UNARCHIVABLE}/{reason}")
            return
        item["capture"] = capture
        self.counts[archive.upsert_article(self.db, item, now=capture.fetched_at)] += 1


def import_warc(
    db: sqlite_utils.Database,
    paths: Iterable[str | Path],
    *,
    base_url: str = settings.KANT_BASE_URL,
    track: Track = lambda paths: paths,
) -> Counter[str]:
    """Import WARC files -> counts: new, updated, unchanged, revision and skipped/<kind>.
    `track` wraps the list of files (a progress bar at a terminal)."""
    importer = WarcImporter(db, base_url)
    try:
        for path in track([str(p) for p in paths]):
            try:
                with open(path, "rb") as stream:
                    importer.read(stream, Path(path).name, Path(path).stat().st_size)
            except OSError:
                importer.skip(UNREADABLE)
    finally:
        importer.close()
    return importer.counts


# ------------------------------------------------------------------ warcio records


def _pairs(http) -> Headers:
    return [(str(k), str(v)) for k, v in http.headers] if http is not None else []


def _status(http) -> int | None:
    try:
        return int(http.get_statuscode()) if http is not None else None
    except (TypeError, ValueError):
        return None


def _reason(http) -> str:
    if http is None:
        return ""
    return (http.statusline or "").partition(" ")[2].strip()


def _concurrent(record) -> set[str]:
    return {v for k, v in record.rec_headers.headers if k.lower() == "warc-concurrent-to"}


def _ids(record) -> set[str]:
    """The record's own id and those it names as concurrent (a request names its
    response, or the response names its request)."""
    own = record.rec_headers.get_header("WARC-Record-ID")
    return _concurrent(record) | ({own} if own else set())


def _decoded(header: tuple[str, str]) -> bool:
    """A header of a coding warcio's content_stream undoes (chunked, gzip, ...): no
    longer true of the body kept, as Scrapy drops Content-Encoding for a crawl."""
    name, value = header[0].lower(), header[1].strip().lower()
    if name == "transfer-encoding":
        return value == "chunked"
    return name == "content-encoding" and value in BufferedReader.get_supported_decompressors()
