"""`kantkg import --cdx`: a backfill from the replica's web archive recovers exactly the
articles its live site removed, leaves the others as they were (earlier versions become
revisions), fetches nothing again on a second run, and an import that could not fetch
some records says so, exits non-zero, and completes when run again."""

from __future__ import annotations

import io
import json
import os
import shutil
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from warcio.statusandheaders import StatusAndHeaders  # type: ignore[import-untyped]
from warcio.warcwriter import WARCWriter  # type: ignore[import-untyped]

from kantkg import archive
from kantkg.archive.sqlite import sqlite3
from kantkg.crawl import cdx
from kantkg.crawl.cdx import CdxImport, Fetcher, FetchFailed, default_warc_prefix
from kantkg.crawl.cdx import import_cdx as cdx_import
from kantkg.replica import Replica
from kantkg.replica.webarchive import WEBARCHIVE_PREFIX
from kantkg.site import is_article_url
from tests.conftest import archived, get, run_kantkg, run_scrapy_crawl

ROW = ("title", "published", "published_utc", "modified", "author", "section", "tags", "body")
ENV = {**os.environ, "KANT_BACKOFF_BASE": "0"}  # retries without waiting


@pytest.fixture(scope="module")
def site():
    with Replica(articles=12, seed=5, removed=3) as replica:
        yield replica


@pytest.fixture(scope="module")
def live(site, tmp_path_factory):
    """An archive crawled from the live site (which no longer serves the removed)."""
    db = tmp_path_factory.mktemp("cdx") / "live.db"
    done = run_scrapy_crawl(site.base_url, db)
    assert done.returncode == 0, done.stderr[-2000:]
    return db


def import_cdx(site, db) -> tuple[int, str]:
    done = run_kantkg(
        "import", "--cdx", site.base_url + "/webarchive/cdx", "--db", str(db),
        "--base-url", site.base_url, "--delay", "0", env=ENV,
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stderr.strip()


def warc_requests(site) -> int:
    return sum(n for path, n in site.requests.items() if path.endswith(".warc.gz"))


def fields(row: dict) -> tuple:
    return tuple(row[c] for c in ROW)


def test_backfill_recovers_exactly_the_removed_articles(site, live, tmp_path):
    db = tmp_path / "kant.db"
    shutil.copyfile(live, db)
    before = archived(db)
    removed = {t.url: t for t in site.removed_truth()}
    assert len(removed) == 3 and not set(removed) & set(before)

    code, said = import_cdx(site, db)
    assert code == 0, said
    after = archived(db)
    assert set(after) == set(before) | set(removed)
    for url, truth in removed.items():  # as the site published them
        row = after[url]
        assert (row["title"], row["body"].split("\n\n")) == (truth.title, list(truth.paragraphs))
        assert row["published_date"] == truth.published[:10]
        assert row["first_seen"] < min(r["first_seen"] for r in before.values())  # captured then
    for url, row in before.items():  # the live text stands
        assert fields(after[url]) == fields(row), url
    edited = {site.base_url + p for p in site.webarchive.edited_paths}
    with sqlite3.connect(db) as conn:
        revisions = Counter(u for (u,) in conn.execute("SELECT url FROM revisions"))
        titles = [t for (t,) in conn.execute("SELECT title FROM revisions")]
    assert set(revisions) == edited and set(revisions.values()) == {1}
    assert all(t.startswith("Предварительно:") for t in titles)
    assert f"{len(removed)} new" in said and f"{len(edited)} revision" in said

    # every article capture fetched once; the front page and the category never
    held = [c for c in site.webarchive.captures if c.status == 200]
    pages = [c for c in held if c.url.startswith(site.base_url)]
    articles = [c for c in pages if is_article_url(c.url)]
    assert len(pages) - len(articles) == 2  # the front page, a category page
    assert f"{len(articles)} WARC records fetched" in said

    # again: no WARC record fetched at all, nothing added
    site.reset_counts()
    code, again = import_cdx(site, db)
    assert code == 0, again
    assert warc_requests(site) == 0 and "0 WARC records fetched" in again
    assert f"{len(articles)} already-archived" in again and "skipped" not in again
    assert "new" not in again and "revision" not in again
    assert archived(db) == after
    with sqlite3.connect(db) as conn:  # every record fetched is known, whatever it became
        assert conn.execute("SELECT count(*) FROM cdx_seen").fetchone()[0] == len(articles)


def test_an_interrupted_import_says_so_and_a_rerun_completes(site, tmp_path):
    db = tmp_path / "kant.db"
    first, second = site.webarchive.filenames
    site.fail_next(WEBARCHIVE_PREFIX + first, 404, times=2)  # two records, not retried
    site.fail_next(WEBARCHIVE_PREFIX + second, 503, times=1)  # retried: fetched
    code, said = import_cdx(site, db)
    assert code == 10, said
    assert said.count("\n") == 0 and "import incomplete: 2 not fetched (2 http 404)" in said
    partial = archived(db)

    site.reset_counts()
    code, said = import_cdx(site, db)
    assert code == 0, said
    assert warc_requests(site) == 2 and "2 WARC records fetched" in said
    everything = {t.url for t in site.truth()} | {t.url for t in site.removed_truth()}
    assert set(archived(db)) == everything and len(everything) - len(partial) <= 2


def test_an_unreachable_cdx_server_is_one_line(tmp_path):
    done = run_kantkg(
        "import", "--cdx", "http://127.0.0.1:9/cdx", "--db", str(tmp_path / "k.db"),
        "--delay", "0", env=ENV,
    )  # fmt: skip
    assert done.returncode == 8 and done.stderr.count("\n") == 1, done.stderr
    assert "unreachable" in done.stderr


def test_the_warc_prefix_defaults_beside_the_cdx_api_and_to_common_crawl():
    assert default_warc_prefix("http://h:1/webarchive/cdx") == "http://h:1/webarchive/"
    assert (
        default_warc_prefix("https://index.commoncrawl.org/CC-MAIN-2024-10-index")
        == "https://data.commoncrawl.org/"
    )


def test_the_fetcher_honours_retry_after_and_gives_up(site):
    waits: list[float] = []
    fetcher = Fetcher(delay=0, retries=2, backoff_base=0.5, sleep=waits.append)
    path = "/webarchive/collinfo.json"
    site.fail_next(path, 429, times=1, headers={"Retry-After": "7"})
    assert fetcher.get(site.base_url + path)[0] == 200 and waits == [7.0]
    site.fail_next(path, 500, times=3)
    waits.clear()
    with pytest.raises(Exception, match="http 500"):
        fetcher.get(site.base_url + path)
    assert waits == [0.5, 1.0]


# ------------------------------------------------- a CDX server that misbehaves


class Misbehaving:
    """A CDX server and its WARC files on a loopback port, answering as the test says:
    `rows` for any CDX query, `files` with or without Range, `raw` bytes as they are."""

    def __init__(self) -> None:
        self.rows: list[dict[str, str]] = []
        self.files: dict[str, bytes] = {}
        self.raw: dict[str, bytes] = {}
        self.honour_range = True
        self.hits: Counter[str] = Counter()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                path = self.path.split("?", 1)[0]
                owner.hits[path] += 1
                if path in owner.raw:
                    self.wfile.write(owner.raw[path])
                    self.close_connection = True
                    return
                if path == "/cdx":
                    body = "".join(json.dumps(r) + "\n" for r in owner.rows).encode()
                    return self._send(200, body)
                data = owner.files.get(path.removeprefix("/warc/"))
                if data is None:
                    return self._send(404, b"no")
                asked = self.headers.get("Range")
                if asked and owner.honour_range:
                    start, end = (int(n) for n in asked.removeprefix("bytes=").split("-"))
                    return self._send(206, data[start : end + 1])
                return self._send(200, data)

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, name: str, members: list[bytes], urls: list[str], **row: str) -> None:
        """A WARC file of these gzip members, a CDX row per member (`row` overrides)."""
        offset = len(self.files.get(name, b""))
        self.files[name] = self.files.get(name, b"") + b"".join(members)
        for member, url in zip(members, urls, strict=True):
            self.rows.append(
                {"url": url, "timestamp": "20240301120000", "status": "200", "digest": "D"
                 + str(len(self.rows)), "filename": name, "offset": str(offset),
                 "length": str(len(member)), **row}
            )  # fmt: skip
            offset += len(member)

    def warc_import(self, db_path, base_url: str, **kw) -> CdxImport:
        db = archive.open_archive(db_path)
        fetcher = Fetcher(delay=0, retries=1, backoff_base=0, sleep=lambda _: None)
        try:
            return cdx_import(
                db, self.base + "/cdx", base_url=base_url, warc_prefix=self.base + "/warc/",
                fetcher=fetcher, **kw,
            )  # fmt: skip
        finally:
            db.close()


@pytest.fixture
def bad(site):
    server = Misbehaving()
    yield server
    server.server.shutdown()
    server.server.server_close()


def member(url: str, body: bytes, kind: str = "text/html; charset=UTF-8", **warc: str) -> bytes:
    """One response record, a gzip member of its own (as Common Crawl writes them)."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True, warc_version="1.1")
    http = StatusAndHeaders("200 OK", [("Content-Type", kind)], protocol="HTTP/1.1")
    record = writer.create_warc_record(
        url, "response", payload=io.BytesIO(body), length=len(body), http_headers=http,
        warc_headers_dict={"WARC-Date": "2024-03-01T12:00:00Z"},
    )  # fmt: skip
    for name, value in warc.items():
        record.rec_headers.replace_header(name, value)
    writer.write_record(record)
    return out.getvalue()


def page_of(site, n: int) -> tuple[str, bytes]:
    truth = site.truth()[n]
    return truth.url, get(site, truth.path).body


def test_network_faults_that_are_no_oserror_are_failed_fetches(bad):
    bad.raw["/cut"] = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly this"
    bad.raw["/nonsense"] = b"NONSENSE\r\n\r\n"
    fetcher = Fetcher(delay=0, retries=1, backoff_base=0, sleep=lambda _: None)
    with pytest.raises(FetchFailed, match="IncompleteRead"):
        fetcher.get(bad.base + "/cut")
    with pytest.raises(FetchFailed, match="BadStatusLine"):
        fetcher.get(bad.base + "/nonsense")
    assert (bad.hits["/cut"], bad.hits["/nonsense"]) == (2, 2)  # retried as the others


def test_broken_records_and_files_elsewhere_are_not_fetched(site, bad, tmp_path):
    """Each counts among the reasons not fetched (exit 10, fetched again next run)."""
    (url, page), (other, _) = page_of(site, 1), page_of(site, 2)
    whole = member(url, page)
    bad.add("cut.warc.gz", [whole[: len(whole) // 2]], [url])  # the index says this length
    digest = member(url, page, **{"WARC-Payload-Digest": "sha1:" + "B" * 32})
    bad.add("digest.warc.gz", [digest], [url], timestamp="20240302120000")
    bad.add("short.warc.gz", [whole], [url], timestamp="20240303120000")
    bad.rows[-1]["length"] = str(len(whole) + 100)  # a 206 shorter than the record
    bad.raw["/warc/reset.warc.gz"] = b"HTTP/1.1 206 Partial\r\nContent-Length: 900\r\n\r\nWARC"
    bad.rows.append({**bad.rows[-1], "filename": "reset.warc.gz", "timestamp": "20240304120000"})
    for far in ("http://example.org/x.warc.gz", "../x.warc.gz", "%2e%2e/x.warc.gz"):
        bad.rows.append({**bad.rows[0], "url": other, "filename": far})
    result = bad.warc_import(tmp_path / "kant.db", site.base_url)
    assert result.failed == {
        "truncated record": 1,
        "bad-digest record": 1,
        "short answer": 2,  # (a read of the record's length that the server cut short)
        "filename outside the WARC prefix": 3,
    }
    assert result.counts == {}  # nothing archived, nothing skipped for good
    assert archived(tmp_path / "kant.db") == {}
    assert not any("x.warc.gz" in path for path in bad.hits)


def test_a_server_that_ignores_range_is_read_no_further_than_a_small_limit(
    site, bad, tmp_path, monkeypatch
):
    (first, page), (second, later) = page_of(site, 1), page_of(site, 2)
    records = [member(first, page), member(second, later)]
    bad.add("whole.warc.gz", records, [first, second])
    bad.honour_range = False
    monkeypatch.setattr(cdx, "WHOLE_FILE_MAX", len(records[0]) + 10, raising=False)
    result = bad.warc_import(tmp_path / "kant.db", site.base_url)
    assert result.failed == {"server ignores Range": 1}
    assert result.counts == {"new": 1} and set(archived(tmp_path / "kant.db")) == {first}


def test_records_that_archive_nothing_are_not_fetched_again(site, bad, tmp_path):
    (url, page), (picture, _) = page_of(site, 1), page_of(site, 2)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
    bad.add("mixed.warc.gz", [member(url, page), member(picture, png, "image/png")], [url, picture])
    result = bad.warc_import(tmp_path / "kant.db", site.base_url)
    assert (result.fetched, result.counts) == (2, {"new": 1, "skipped/not-html": 1})
    bad.hits.clear()
    again = bad.warc_import(tmp_path / "kant.db", site.base_url)
    assert (again.fetched, again.failed) == (0, {})
    assert again.counts == {"already-archived": 1, "already-seen": 1}
    assert bad.hits["/warc/mixed.warc.gz"] == 0
