"""`kantkg import --warc`: the round trip crawl -> export --warc -> import is exact; bad
records are counted by kind and skipped (never a traceback); a second import adds
nothing; uncompressed WARC files too."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders  # type: ignore[import-untyped]
from warcio.warcwriter import WARCWriter  # type: ignore[import-untyped]

from kantkg import archive
from kantkg.archive.sqlite import sqlite3
from kantkg.crawl.warc_import import is_html, warc_date
from kantkg.replica import Replica
from tests.conftest import archived, get, run_kantkg, run_scrapy_crawl

# What a crawl and an import of its export must agree on, exactly.
COLUMNS = (
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
)


@pytest.fixture(scope="module")
def site():
    with Replica(articles=10, seed=11) as replica:
        yield replica


def rows_of(db: Path) -> dict[str, tuple]:
    return {url: tuple(row[c] for c in COLUMNS) for url, row in archived(db).items()}


def import_warc(db: Path, *files: Path, base_url: str) -> tuple[int, str]:
    done = run_kantkg(
        "import", *(a for f in files for a in ("--warc", str(f))), "--db", str(db),
        "--base-url", base_url,
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stderr.strip()


# ----------------------------------------------------------------------- round trip


def test_round_trip_crawl_export_import_is_exact(site, tmp_path):
    crawl_db, warc, imported = tmp_path / "crawl.db", tmp_path / "out.warc.gz", tmp_path / "i.db"
    crawled = run_scrapy_crawl(site.base_url, crawl_db)
    assert crawled.returncode == 0, crawled.stderr[-2000:]
    exported = run_kantkg("export", "--db", str(crawl_db), "--warc", str(warc))
    assert exported.returncode == 0, exported.stderr
    code, said = import_warc(imported, warc, base_url=site.base_url)
    assert code == 0, said
    want = rows_of(crawl_db)
    assert len(want) == len(site.truth())
    assert rows_of(imported) == want
    assert f"{len(want)} new" in said
    with sqlite3.connect(imported) as conn:
        sources = {s for (s,) in conn.execute("SELECT DISTINCT source FROM captures")}
        assert sources == {"warc out.warc.gz"}
        (fetched_at,) = conn.execute("SELECT min(fetched_at) FROM captures").fetchone()
        assert fetched_at.endswith("+00:00") and len(fetched_at) == 25
    # run again: nothing added
    code, said = import_warc(imported, warc, base_url=site.base_url)
    assert code == 0 and "new" not in said and f"{len(want)} unchanged" in said
    assert rows_of(imported) == want
    with sqlite3.connect(imported) as conn:
        assert conn.execute("SELECT count(*) FROM revisions").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM captures").fetchone()[0] == len(want)


# ---------------------------------------------------------------------- bad records


def _response(writer, url: str, body: bytes, *, status: str = "200 OK", kind="text/html",
              date="2024-03-01T12:00:00Z", **warc: str):  # fmt: skip
    http = StatusAndHeaders(status, [("Content-Type", kind)], protocol="HTTP/1.1")
    return writer.create_warc_record(
        url, "response", payload=io.BytesIO(body), length=len(body), http_headers=http,
        warc_headers_dict={"WARC-Date": date, **warc},
    )  # fmt: skip


def crafted_warc(site, path: Path, *, gzip: bool = True, truncate: bool = True) -> dict:
    """A WARC file with one record of each kind; -> what it holds."""
    good, later, last = site.truth()[1], site.truth()[2], site.truth()[3]
    page = get(site, good.path).body
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=gzip, warc_version="1.1")
    kind = "text/html; charset=UTF-8"
    request = writer.create_warc_record(
        good.url, "request",
        http_headers=StatusAndHeaders(
            "GET " + good.path + " HTTP/1.1", [("User-Agent", "test-bot")], is_http_request=True
        ),
        warc_headers_dict={"WARC-Date": "2024-03-01T12:00:00Z"},
    )  # fmt: skip
    response = _response(writer, good.url, page, kind=kind, date="2024-03-01T12:00:00.5Z")
    request.rec_headers.add_header(
        "WARC-Concurrent-To", response.rec_headers.get_header("WARC-Record-ID")
    )
    writer.write_record(request)
    writer.write_record(response)
    # a revisit of it (identical payload), resolved from what was just imported
    revisit = writer.create_revisit_record(
        good.url,
        response.rec_headers.get_header("WARC-Payload-Digest"),
        good.url,
        "2024-03-01T12:00:00Z",
        http_headers=StatusAndHeaders("200 OK", [("Content-Type", kind)], protocol="HTTP/1.1"),
    )
    revisit.rec_headers.replace_header("WARC-Date", "2024-03-05T00:00:00Z")
    writer.write_record(revisit)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
    picture = site.base_url + "/2024-01-01/kartinka/"
    writer.write_record(_response(writer, picture, png, kind="image/png"))
    writer.write_record(_response(writer, "https://example.org" + good.path, page, kind=kind))
    writer.write_record(_response(writer, later.url, b"<html>gone</html>", status="404 Not Found"))
    orphan = writer.create_revisit_record(
        later.url, "sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", later.url, "2020-01-01T00:00:00Z"
    )
    writer.write_record(orphan)
    bad = _response(writer, later.url, get(site, later.path).body, kind=kind)
    bad.rec_headers.replace_header("WARC-Payload-Digest", "sha1:" + "B" * 32)
    bad.rec_headers.remove_header("WARC-Block-Digest")
    writer.write_record(bad)
    cut_at = out.tell()
    writer.write_record(_response(writer, last.url, get(site, last.path).body, kind=kind))
    data = out.getvalue()
    if truncate:
        data = data[: cut_at + (len(data) - cut_at) // 2]
    path.write_bytes(data)
    return {"good": good, "bad": later, "cut": last}


KINDS = (
    "skipped: 1 bad-digest, 1 not-200, 1 not-html, 1 other-site, 1 revisit-without-original,"
    " 1 truncated"
)


def test_bad_records_are_counted_by_kind_and_the_good_one_imported(site, tmp_path):
    warc, db = tmp_path / "crafted.warc.gz", tmp_path / "kant.db"
    held = crafted_warc(site, warc)
    code, said = import_warc(db, warc, base_url=site.base_url)
    assert code == 0, said
    assert said == f"imported 1 WARC file: 1 new, 1 unchanged; {KINDS}"
    found = archived(db)
    assert set(found) == {held["good"].url}
    assert found[held["good"].url]["title"] == held["good"].title
    (first, again) = archive.captures_of(archive.open_readonly(db), held["good"].url)
    assert first.capture.fetched_at == "2024-03-01T12:00:00+00:00"
    assert first.capture.request_headers == [("User-Agent", "test-bot")]
    assert again.revisit_reason == "identical-payload" and again.capture.body == first.capture.body
    # a second import adds nothing
    before = rows_of(db)
    code, said = import_warc(db, warc, base_url=site.base_url)
    assert code == 0 and said == f"imported 1 WARC file: 2 unchanged; {KINDS}"
    assert rows_of(db) == before
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM captures").fetchone()[0] == 2


def test_an_uncompressed_warc_works_too(site, tmp_path):
    warc, db = tmp_path / "plain.warc", tmp_path / "kant.db"
    held = crafted_warc(site, warc, gzip=False, truncate=False)
    code, said = import_warc(db, warc, base_url=site.base_url)
    assert code == 0, said
    assert "2 new, 1 unchanged" in said and "truncated" not in said  # the last one whole
    assert set(archived(db)) == {held["good"].url, held["cut"].url}


def test_a_file_that_is_no_warc_is_one_line(tmp_path):
    junk = tmp_path / "junk.warc.gz"
    junk.write_bytes(b"<html>not a warc</html>")
    done = run_kantkg("import", "--warc", str(junk), "--db", str(tmp_path / "k.db"))
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "not a WARC file" in done.stderr


def test_warc_dates_and_html_sniffing():
    assert warc_date("2024-03-01T12:00:00Z") == "2024-03-01T12:00:00+00:00"
    assert warc_date("2024-03-01T12:00:00.123456789Z") == "2024-03-01T12:00:00+00:00"
    assert warc_date("2024-03-01T18:00:00+06:00") == "2024-03-01T12:00:00+00:00"
    assert warc_date("yesterday") is None
    assert is_html("text/html; charset=utf-8", b"<p>x")
    assert is_html("unk", b"\n<!DOCTYPE html><html><body>x")
    assert not is_html("unk", b"plain text")
    assert not is_html("application/json", b"<html>")
    assert not is_html("text/html", b"%PDF-1.4 ...")


# ------------------------------------------------------------- records that mislead


def import_here(db: Path, warc: Path, base_url: str):
    """import_warc in this process (no command to start: these files are small)."""
    from kantkg.crawl.warc_import import import_warc as import_files

    database = archive.open_archive(db)
    try:
        return import_files(database, [warc], base_url=base_url)
    finally:
        database.close()


def test_a_record_warcio_cannot_parse_is_unreadable_and_what_came_before_stays(site, tmp_path):
    """A response without WARC-Target-URI makes warcio raise AttributeError."""
    good = site.truth()[1]
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=False, warc_version="1.1")
    writer.write_record(_response(writer, good.url, get(site, good.path).body))
    out.write(b"WARC/1.0\r\nWARC-Type: response\r\nContent-Length: 99999\r\n\r\nabc")
    warc, db = tmp_path / "odd.warc", tmp_path / "kant.db"
    warc.write_bytes(out.getvalue())
    counts = import_here(db, warc, site.base_url)
    assert counts == {"new": 1, "skipped/unreadable": 1}
    assert set(archived(db)) == {good.url}


def test_a_truncated_record_is_skipped_not_imported_as_a_whole_page(site, tmp_path):
    good = site.truth()[1]
    page = get(site, good.path).body
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True, warc_version="1.1")
    cut = page[: len(page) // 2]  # as Common Crawl cuts a body at 1 MiB, and says so
    writer.write_record(_response(writer, good.url, cut, **{"WARC-Truncated": "length"}))
    warc, db = tmp_path / "cut.warc.gz", tmp_path / "kant.db"
    warc.write_bytes(out.getvalue())
    assert import_here(db, warc, site.base_url) == {"skipped/truncated": 1}
    assert archived(db) == {}


def test_a_revisit_of_a_gzipped_response_is_resolved_by_the_files_own_digest(site, tmp_path):
    """A source's payload digest covers the gzipped bytes sent; the archive's, the page.
    A Heritrix revisit names that digest and no WARC-Refers-To-Date."""
    good = site.truth()[1]
    sent = gzip.compress(get(site, good.path).body)
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True, warc_version="1.1")
    http = StatusAndHeaders(
        "200 OK",
        [("Content-Type", "text/html; charset=UTF-8"), ("Content-Encoding", "gzip")],
        protocol="HTTP/1.1",
    )
    response = writer.create_warc_record(
        good.url, "response", payload=io.BytesIO(sent), length=len(sent), http_headers=http,
        warc_headers_dict={"WARC-Date": "2024-03-01T12:00:00Z"},
    )  # fmt: skip
    writer.write_record(response)
    digest = response.rec_headers.get_header("WARC-Payload-Digest")
    revisit = writer.create_revisit_record(
        good.url, digest, good.url, "2024-03-01T12:00:00Z",
        http_headers=StatusAndHeaders("200 OK", http.headers, protocol="HTTP/1.1"),
    )  # fmt: skip
    revisit.rec_headers.replace_header("WARC-Date", "2024-03-05T00:00:00Z")
    revisit.rec_headers.remove_header("WARC-Refers-To-Date")
    writer.write_record(revisit)
    warc, db = tmp_path / "heritrix.warc.gz", tmp_path / "kant.db"
    warc.write_bytes(out.getvalue())
    assert import_here(db, warc, site.base_url) == {"new": 1, "unchanged": 1}
    reader = archive.open_readonly(db)
    first, again = archive.captures_of(reader, good.url)
    reader.close()
    assert again.capture.fetched_at == "2024-03-05T00:00:00+00:00"
    assert again.revisit_of == first.id and again.capture.body == first.capture.body
