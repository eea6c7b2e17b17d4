"""Backfill from a public web archive: ask a CDX server (Common Crawl's index API, pywb)
for the configured site's captures, fetch each one's WARC record by byte range, and
import it as a WARC file of one record (kantkg.crawl.warc_import).

Polite as the crawl: one request at a time, the crawl's DOWNLOAD_DELAY between them, a
User-Agent naming kantkg, retries with backoff on 5xx, 429 and timeouts, Retry-After
honoured (capped as the crawl caps it), WARC files only under the WARC prefix. Resumable:
a capture the archive already holds (same URL, same time) is not fetched again, nor a
record an earlier run fetched that archived nothing (the import's `cdx_seen` table), so
a run that was killed, or could not fetch some records, is simply run again. A record
that comes broken (short, truncated, unreadable, a bad digest) counts as not fetched.
"""

from __future__ import annotations

import http.client
import io
import json
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import unquote, urlencode, urljoin, urlsplit

import sqlite_utils

from kantkg import __version__, archive, clock, settings, site, urls
from kantkg.crawl.retry import retry_after_seconds
from kantkg.crawl.warc_import import (
    BAD_DIGEST,
    NO_ORIGINAL,
    SKIPPED,
    TRUNCATED,
    UNREADABLE,
    WarcImporter,
)

Row = dict[str, str]
RowTrack = Callable[[list[Row]], Iterable[Row]]  # the CDX rows to do -> the same, as done

COMMON_CRAWL_INDEX = "index.commoncrawl.org"
COMMON_CRAWL_DATA = "https://data.commoncrawl.org/"
ALREADY = "already-archived"  # a CDX row whose capture the archive holds: not fetched
SEEN = "already-seen"  # a CDX row fetched by an earlier run that archived nothing
# What a fetched record that is broken was skipped as: for a CDX import, a failed fetch
# (exit 10, fetched again next run), not the record's last word.
BROKEN = {SKIPPED + kind: kind for kind in (TRUNCATED, UNREADABLE, BAD_DIGEST)}
# A server that ignores Range sends the whole WARC file (a GB at Common Crawl): read up to
# the record from one this small, else give the record up.
WHOLE_FILE_MAX = 16 << 20
ERROR_BODY_MAX = 64 << 10
RETRY_STATUSES = frozenset(int(code) for code in settings.RETRY_HTTP_CODES)
USER_AGENT = f"kantkg/{__version__} (+{settings.KANT_CONTACT}; import --cdx)"


class CdxError(Exception):
    """The CDX server could not be asked at all (one line for the user)."""


class FetchFailed(Exception):
    """A request that failed for good (after its retries): the reason in a few words."""


def default_warc_prefix(cdx_url: str) -> str:
    """Where the WARC files a CDX server names are served: Common Crawl's index API
    names files on data.commoncrawl.org; any other server, beside its CDX endpoint
    (the replica: {base}/webarchive/cdx -> {base}/webarchive/<filename>)."""
    if urlsplit(cdx_url).hostname == COMMON_CRAWL_INDEX:
        return COMMON_CRAWL_DATA
    return urljoin(cdx_url, ".")


def cdx_day(day: str | None) -> str | None:
    """YYYY-MM-DD -> the 8-digit CDX timestamp prefix (a `to` of one covers that day)."""
    return day.replace("-", "") if day else None


@dataclass
class Fetcher:
    """GETs one at a time, politely (see the module's docstring)."""

    delay: float = float(settings.DOWNLOAD_DELAY)
    retries: int = int(settings.RETRY_TIMES)
    backoff_base: float = float(settings.KANT_BACKOFF_BASE)
    backoff_max: float = float(settings.KANT_BACKOFF_MAX)
    retry_after_max: float = float(settings.KANT_RETRY_AFTER_MAX)
    timeout: float = float(settings.DOWNLOAD_TIMEOUT)
    sleep: Callable[[float], None] = time.sleep
    requests: int = 0
    _last: float = field(default=float("-inf"), repr=False)

    def get(
        self,
        url: str,
        headers: dict[str, str] | None = None,
        limit: Callable[[int], int | None] = lambda status: None,
    ) -> tuple[int, bytes]:
        """-> (status, body) of the first answer that is no retryable failure, the body
        read up to `limit(status)` bytes (None: all of it); FetchFailed when the retries
        are spent (or the URL cannot be asked)."""
        reason = ""
        for attempt in range(self.retries + 1):
            self._polite()
            try:
                status, answer_headers, body = self._get(url, headers or {}, limit)
            except TimeoutError:
                reason, wait = "timeout", self._backoff(attempt)
            except urllib.error.URLError as exc:
                reason = (
                    "timeout"
                    if isinstance(exc.reason, TimeoutError)
                    else type(exc.reason).__name__
                    if isinstance(exc.reason, OSError)
                    else str(exc.reason)
                )
                wait = self._backoff(attempt)
            except (OSError, ValueError, http.client.HTTPException) as exc:
                # a reset, a URL that is no URL, a body cut short, a bad status line
                reason, wait = type(exc).__name__, self._backoff(attempt)
            else:
                if status not in RETRY_STATUSES:
                    return status, body
                reason = f"http {status}"
                asked = retry_after_seconds(answer_headers.get("Retry-After"))
                wait = (
                    min(asked, self.retry_after_max)
                    if asked is not None and status in (429, 503)
                    else self._backoff(attempt)
                )
            if attempt < self.retries:
                self.sleep(wait)
        raise FetchFailed(reason)

    def _get(
        self, url: str, headers: dict[str, str], limit: Callable[[int], int | None]
    ) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **headers})
        self.requests += 1
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                wanted = limit(answer.status)
                body = answer.read() if wanted is None else answer.read(wanted)
                return answer.status, dict(answer.headers.items()), body
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, dict(exc.headers.items()), exc.read(ERROR_BODY_MAX)

    def _polite(self) -> None:
        wait = self._last + self.delay - time.monotonic()
        if wait > 0:
            self.sleep(wait)
        self._last = time.monotonic()

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff_base * 2**attempt, self.backoff_max)


def cdx_rows(
    fetcher: Fetcher,
    cdx_url: str,
    base_url: str,
    since: str | None = None,
    until: str | None = None,
    failed: Counter[str] | None = None,
) -> list[Row]:
    """Every status-200 capture of the site the CDX server knows, in [since, until]
    (capture dates), following Common Crawl's pagination (showNumPages, page). An index
    page that cannot be read is counted in `failed`; CdxError when the server answers
    nothing usable at all."""
    query = {"url": f"{urlsplit(base_url).netloc}/*", "output": "json", "filter": "status:200"}
    if since:
        query["from"] = cdx_day(since) or ""
    if until:
        query["to"] = cdx_day(until) or ""
    try:
        status, body = fetcher.get(f"{cdx_url}?{urlencode({**query, 'showNumPages': 'true'})}")
    except FetchFailed as exc:
        raise CdxError(f"CDX server {cdx_url} unreachable: {exc}") from None
    pages = _page_count(status, body)
    rows: list[Row] = []
    for page in range(pages) if pages is not None else [None]:
        asked = {**query, "page": str(page)} if page is not None else query
        try:
            status, body = fetcher.get(f"{cdx_url}?{urlencode(asked)}")
        except FetchFailed as exc:
            status, body = 0, str(exc).encode()
        if status == 404:  # "No Captures found" (on this page, after the filters)
            continue
        if status == 200:
            rows += _ndjson(body, cdx_url)
        elif page is None:  # the only query there is
            raise CdxError(f"CDX server {cdx_url}: {_said(status, body)}")
        elif failed is not None:
            failed[f"index page: {_said(status, body)}"] += 1
    return rows


def _said(status: int, body: bytes) -> str:
    return f"http {status}" if status else body.decode()


def _page_count(status: int, body: bytes) -> int | None:
    """Pages of a showNumPages answer; None from a server that does not paginate."""
    if status != 200:
        return None
    try:
        found = json.loads(body.decode("utf-8").strip().splitlines()[0])
        return int(found["pages"]) if isinstance(found, dict) else None
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def _ndjson(body: bytes, cdx_url: str) -> list[Row]:
    rows = []
    for line in body.decode("utf-8", "replace").splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise CdxError(f"CDX server {cdx_url}: not a CDX JSON line: {line[:80]!r}") from None
        if isinstance(row, dict):
            rows.append({str(k): str(v) for k, v in row.items()})
    return rows


def row_time(row: Row) -> str | None:
    """A CDX timestamp (14 digits, UTC) as the archive writes times."""
    try:
        when = datetime.strptime(row.get("timestamp", "")[:14].ljust(14, "0"), "%Y%m%d%H%M%S")
    except ValueError:
        return None
    return when.replace(tzinfo=UTC).isoformat(timespec="seconds")


def already_archived(db: sqlite_utils.Database, url: str, fetched_at: str) -> bool:
    """Does the archive hold a capture of this article at this time (an import that ran
    before)?"""
    return (
        db.execute(
            "SELECT 1 FROM captures WHERE url = ? AND fetched_at = ? LIMIT 1", [url, fetched_at]
        ).fetchone()
        is not None
    )


@dataclass
class CdxImport:
    """What an import --cdx did: the importer's counts (new, revision, skipped/...,
    already-archived) and what it could not fetch, by reason."""

    counts: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    fetched: int = 0  # WARC records fetched


def import_cdx(
    db: sqlite_utils.Database,
    cdx_url: str,
    *,
    base_url: str = settings.KANT_BASE_URL,
    warc_prefix: str | None = None,
    since: str | None = None,
    until: str | None = None,
    fetcher: Fetcher | None = None,
    track: RowTrack = lambda rows: rows,
) -> CdxImport:
    """Import the site's article captures a CDX server lists (see the module)."""
    fetcher = fetcher or Fetcher()
    prefix = warc_prefix or default_warc_prefix(cdx_url)
    result = CdxImport()
    importer = WarcImporter(db, base_url)
    importer.counts = result.counts
    rows = cdx_rows(fetcher, cdx_url, base_url, since, until, result.failed)
    wanted = [r for r in rows if r.get("status", "200") == "200"]
    _create_seen(db)
    try:
        for row in track(wanted):
            url = urls.article_url(row.get("url", ""), base_url)
            if not (site.same_site(url, base_url) and site.is_article_url(url)):
                continue  # the site's front page, a category: no article to import
            fetched_at = row_time(row)
            if fetched_at and already_archived(db, url, fetched_at):
                result.counts[ALREADY] += 1
                continue
            if _seen(db, row):
                result.counts[SEEN] += 1
                continue
            try:
                offset, length = int(row["offset"]), int(row["length"])
                filename = row["filename"]
            except (KeyError, ValueError):
                result.failed["no WARC location in the CDX row"] += 1
                continue
            if offset < 0 or length <= 0:
                result.failed["no WARC location in the CDX row"] += 1
                continue
            location = urljoin(prefix, filename)
            if not under_prefix(location, prefix):
                result.failed["filename outside the WARC prefix"] += 1
                continue
            record = _fetch_record(fetcher, location, offset, length, result.failed)
            if record is None:
                continue
            result.fetched += 1
            before = Counter(result.counts)
            importer.read(io.BytesIO(record), filename, len(record))
            importer.flush()  # its outcome known before the row is remembered
            became = result.counts - before
            broken = [kind for kind in became if kind in BROKEN]
            if broken:  # fetched, but not what the index says: a failed fetch
                for kind in broken:
                    result.failed[f"{BROKEN[kind]} record"] += became[kind]
                    result.counts[kind] -= became[kind]
                    if result.counts[kind] <= 0:
                        del result.counts[kind]
                continue
            if SKIPPED + NO_ORIGINAL not in became:  # (its original may come later)
                _remember(db, row, ", ".join(sorted(became)) or "nothing")
    finally:
        importer.close()  # what is queued is written
    return result


def under_prefix(location: str, prefix: str) -> bool:
    """Does a WARC file's URL stay where the CDX server's files are (same scheme and
    host, under the prefix's path, no `..`)? A CDX row is data from elsewhere: its
    filename must not send the import to any host it names."""
    where, base = urlsplit(location), urlsplit(prefix)
    if (where.scheme.lower(), where.netloc.lower()) != (base.scheme.lower(), base.netloc.lower()):
        return False
    path = unquote(where.path)
    base_path = base.path if base.path.endswith("/") else base.path.rsplit("/", 1)[0] + "/"
    return path.startswith(base_path) and ".." not in path.split("/")


def _fetch_record(
    fetcher: Fetcher, location: str, offset: int, length: int, failed: Counter[str]
) -> bytes | None:
    """One WARC record's bytes by Range, or None (counted in `failed`). From a server
    that ignores Range, the whole file's first offset+length bytes when that is small."""
    end = offset + length
    whole_too_large = end > WHOLE_FILE_MAX

    def limit(status: int) -> int | None:
        if status == 206:
            return length
        if status == 200:
            return 0 if whole_too_large else end
        return ERROR_BODY_MAX

    try:
        status, body = fetcher.get(location, {"Range": f"bytes={offset}-{end - 1}"}, limit)
    except FetchFailed as exc:
        failed[str(exc)] += 1
        return None
    if status == 200:  # Range ignored: the whole file came
        if whole_too_large:
            failed["server ignores Range"] += 1
            return None
        body = body[offset:end]
    elif status != 206:
        failed[f"http {status}"] += 1
        return None
    if len(body) < length:
        failed["short answer"] += 1
        return None
    return body


def _create_seen(db: sqlite_utils.Database) -> None:
    """The import's own table: CDX rows fetched that archived nothing (a page that is no
    article, not HTML, unarchivable), so a re-run does not fetch them again. Rows that
    could not be fetched are never in it."""
    with archive.transaction(db):
        db.execute(
            "CREATE TABLE IF NOT EXISTS cdx_seen"
            " (cdx_key TEXT PRIMARY KEY, outcome TEXT, seen_at TEXT)"
        )


def cdx_key(row: Row) -> str:
    """A CDX row's capture: URL, timestamp and digest."""
    return " ".join(row.get(k, "") for k in ("url", "timestamp", "digest"))


def _seen(db: sqlite_utils.Database, row: Row) -> bool:
    found = db.execute("SELECT 1 FROM cdx_seen WHERE cdx_key = ?", [cdx_key(row)]).fetchone()
    return found is not None


def _remember(db: sqlite_utils.Database, row: Row, outcome: str) -> None:
    now = clock.now_iso()
    with archive.transaction(db):
        db.execute(
            "INSERT OR REPLACE INTO cdx_seen (cdx_key, outcome, seen_at) VALUES (?, ?, ?)",
            [cdx_key(row), outcome, now],
        )
