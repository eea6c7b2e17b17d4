"""`kantkg export --warc`: the captures as WARC/1.1 records that warcio checks and pywb
replays -- the bytes as received, revisits pointing at their originals."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from warcio.archiveiterator import ArchiveIterator  # type: ignore[import-untyped]

import kantkg
from kantkg import archive
from kantkg.archive.sqlite import sqlite3
from kantkg.crawl.warc_export import PROFILES, export_warc
from kantkg.items import ArticleItem, Capture
from tests.conftest import ROOT, archived, get, run_kantkg, run_scrapy_crawl

URL = "https://kant.kg/2021-05-25/vstrecha/"
OLD_URL = "https://kant.kg/2019-01-10/staroe/"
PAGE = (
    "<html><head><meta charset='windows-1251'><title>Встреча в Бишкеке</title></head><body>"
    "<article><h1>Встреча в Бишкеке</h1><p>Президент встретился с министрами.</p></article>"
    "</body></html>"
)
CP1251 = PAGE.encode("cp1251")
EDITED = PAGE.replace("министрами", "министрами и депутатами").encode("cp1251")
LINK = "</2021-05-25/встреча/>; rel=shortlink".encode().decode("latin-1")  # as the spider keeps it
WIRE = [
    ("Content-Type", "text/html; charset=windows-1251"),
    ("Content-Length", "1234"),  # the gzipped length on the wire: Scrapy undid the gzip
    ("Transfer-Encoding", "chunked"),
    ("ETag", '"v1"'),
    ("Link", LINK),
]
ASKED = [("User-Agent", "kantkg-test"), ("Accept-Language", "ru"), ("Accept-Encoding", "gzip")]
DAY = "2026-07-0{}T0{}:00:00+00:00"


def capture(body: bytes | None, day: int, url: str = URL, **kw) -> Capture:
    status = 200 if body is not None else 304
    return Capture(url, DAY.format(day, day), status, kw.pop("headers", WIRE), body, **kw)


def item(url: str, title: str, cap: Capture, published: str = "2021-05-25") -> ArticleItem:
    return ArticleItem(
        url=url,
        title=title,
        paragraphs=["Президент встретился с министрами.", title],
        published=f"{published}T10:00:00+06:00",
        published_utc=f"{published}T04:00:00+00:00",
        published_date=published,
        capture=cap,
    )


@pytest.fixture
def built(tmp_path) -> tuple[Path, dict[str, Capture]]:
    """An archive with each kind of capture: a migrated (re-encoded, UTF-8) page, an
    article edited once (two bodies), an identical re-fetch and a 304."""
    db = archive.open_archive(tmp_path / "kant.db")
    caps = {
        "migrated": Capture(
            OLD_URL,
            "2026-06-30T12:00:00+00:00",
            200,
            [("Content-Type", "text/html; charset=windows-1251"), ("ETag", '"old"')],
            PAGE.encode("utf-8"),
            reencoded=True,
            source="pages (schema 4)",
        ),
        "first": capture(CP1251, 1, reason="OK", request_headers=ASKED),
        "edited": capture(EDITED, 2, reason="OK", request_headers=ASKED),
        "same": capture(EDITED, 3, reason="OK", request_headers=ASKED),
        "not_modified": capture(
            None,
            4,
            headers=[("ETag", '"v1"'), ("Cache-Control", "max-age=60")],
            reason="Not Modified",
            request_headers=[*ASKED, ("If-None-Match", '"v1"')],
        ),
    }
    archive.upsert_article(db, item(OLD_URL, "Старое", caps["migrated"], "2019-01-10"), now=DAY)
    archive.upsert_article(db, item(URL, "Встреча", caps["first"]), now=caps["first"].fetched_at)
    for name, title in (("edited", "Встреча (обновлено)"), ("same", "Встреча (обновлено)")):
        archive.upsert_article(db, item(URL, title, caps[name]), now=caps[name].fetched_at)
    with archive.transaction(db):
        archive.add_capture(db, caps["not_modified"])
    db.close()
    return tmp_path / "kant.db", caps


def records(path: Path) -> list[dict]:
    """Every record of a WARC file: its WARC headers, HTTP status line and headers, and
    its block's payload (read as warcio reads it)."""
    found = []
    with open(path, "rb") as stream:
        for record in ArchiveIterator(stream, check_digests=True):
            http = record.http_headers
            found.append(
                {
                    "type": record.rec_type,
                    "warc": dict(record.rec_headers.headers),
                    "first_line": (
                        f"{http.protocol} {http.statusline}" if http is not None else None
                    ),
                    "http": list(http.headers) if http is not None else [],
                    "payload": record.content_stream().read(),
                    "digest_ok": record.digest_checker.passed,
                }
            )
    return found


def warcio_check(path: Path) -> subprocess.CompletedProcess:
    """`warcio check -v FILE`: verifies every block and payload digest; prints each
    record's verdict with -v ("digest pass", or the problems) and exits 1 on any."""
    return subprocess.run(
        [sys.executable, "-m", "warcio.cli", "check", "-v", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def header(pairs: list[tuple[str, str]], name: str) -> list[str]:
    return [v for k, v in pairs if k.lower() == name.lower()]


def test_each_capture_becomes_records_with_the_bytes_as_stored(built, tmp_path):
    path, caps = built
    out = tmp_path / "kant.warc.gz"
    db = archive.open_archive(path)
    seen: list[int] = []

    def track(captures, total):
        seen.append(total)
        return captures

    with open(out, "wb") as stream:
        counts = export_warc(db, stream, track=track)
    stored = {c.id: c for url in (OLD_URL, URL) for c in archive.captures_of(db, url)}
    db.close()

    assert seen == [5]
    assert counts == {"warcinfo": 1, "response": 3, "revisit": 2, "request": 4}
    got = records(out)
    assert [r["type"] for r in got] == [
        "warcinfo",
        "response",  # the migrated page: no request was kept
        *("response", "request") * 2,
        *("revisit", "request") * 2,
    ]
    info, migrated, first, first_req, edited, _, same, _, not_modified, nm_req = got
    assert f"software: kantkg {kantkg.__version__}".encode() in info["payload"]
    assert b"format: WARC File Format 1.1" in info["payload"]
    assert info["warc"]["WARC-Filename"] == "kant.warc.gz"
    assert all(r["warc"]["WARC-Warcinfo-ID"] == info["warc"]["WARC-Record-ID"] for r in got[1:])

    exchanges = [r for r in got if r["type"] in ("response", "revisit")]
    assert [r["warc"]["WARC-Target-URI"] for r in exchanges] == [OLD_URL] + [URL] * 4
    assert [r["warc"]["WARC-Date"] for r in exchanges] == [
        "2026-06-30T12:00:00Z",
        *(f"2026-07-0{d}T0{d}:00:00Z" for d in range(1, 5)),
    ]
    assert [r["first_line"] for r in exchanges] == [
        "HTTP/1.1 200 OK",
        "HTTP/1.1 200 OK",
        "HTTP/1.1 200 OK",
        "HTTP/1.1 200 OK",
        "HTTP/1.1 200 OK",  # a 304's revisit: the original's line, as pywb replays it
    ]
    # the payloads are the stored bytes (cp1251 here, not re-encoded), digests agree
    assert [migrated["payload"], first["payload"], edited["payload"]] == [
        PAGE.encode("utf-8"),
        CP1251,
        EDITED,
    ]
    by_digest = {c.payload_digest for c in stored.values()}
    for response in (migrated, first, edited):
        assert response["warc"]["WARC-Payload-Digest"] == archive.payload_digest(
            response["payload"]
        )
        assert response["warc"]["WARC-Payload-Digest"] in by_digest
        assert response["digest_ok"] is True  # warcio verified block and payload
    # HTTP headers true of the exported body: no chunks, the body's length
    for response in (first, edited):
        assert header(response["http"], "Transfer-Encoding") == []
        assert header(response["http"], "Content-Length") == [str(len(response["payload"]))]
        assert header(response["http"], "Link") == ["</2021-05-25/встреча/>; rel=shortlink"]
        assert header(response["http"], "ETag") == ['"v1"']
    # the migrated page: UTF-8 said so, marked as re-encoded
    assert header(migrated["http"], "Content-Type") == ["text/html; charset=utf-8"]
    assert migrated["warc"]["WARC-Kantkg-Reencoded"] == "true"
    assert "WARC-Kantkg-Reencoded" not in first["warc"]
    # requests: the path, the headers sent, concurrent to their response
    assert first_req["first_line"] == "GET /2021-05-25/vstrecha/ HTTP/1.1"
    assert first_req["http"] == [("Host", "kant.kg"), *ASKED]
    assert first_req["warc"]["WARC-Concurrent-To"] == first["warc"]["WARC-Record-ID"]
    assert first_req["warc"]["WARC-Date"] == first["warc"]["WARC-Date"]
    assert header(nm_req["http"], "If-None-Match") == ['"v1"']
    assert nm_req["warc"]["WARC-Concurrent-To"] == not_modified["warc"]["WARC-Record-ID"]
    # revisits: headers only, the original's digest, URI, date and record
    for revisit, reason in ((same, "identical-payload"), (not_modified, "not-modified")):
        assert revisit["payload"] == b""
        assert revisit["warc"]["WARC-Profile"] == PROFILES[reason]
        assert revisit["warc"]["WARC-Refers-To-Target-URI"] == URL
        assert revisit["warc"]["WARC-Refers-To-Date"] == edited["warc"]["WARC-Date"]
        assert revisit["warc"]["WARC-Refers-To"] == edited["warc"]["WARC-Record-ID"]
        assert revisit["warc"]["WARC-Payload-Digest"] == archive.payload_digest(EDITED)
    assert same["warc"]["WARC-Profile"].endswith("/warc/1.1/revisit/identical-payload-digest")
    assert not_modified["warc"]["WARC-Profile"].endswith("/warc/1.1/revisit/server-not-modified")
    assert header(same["http"], "Content-Length") == [str(len(EDITED))]
    # a 304's revisit: the original's headers, updated by the 304's own
    assert header(not_modified["http"], "ETag") == ['"v1"']
    assert header(not_modified["http"], "Cache-Control") == ["max-age=60"]
    assert header(not_modified["http"], "Content-Type") == ["text/html; charset=windows-1251"]
    assert header(not_modified["http"], "Content-Length") == [str(len(EDITED))]

    check = warcio_check(out)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count("digest pass") == len(got) - 2  # all but the two revisits
    assert check.stdout.count("digest present but not checked (revisit)") == 2


def test_an_empty_selection_is_a_file_with_its_warcinfo(built, tmp_path):
    path, _ = built
    out = tmp_path / "none.warc.gz"
    db = archive.open_archive(path)
    with open(out, "wb") as stream:
        counts = export_warc(db, stream, since="2030-01-01")
    db.close()
    assert counts == {"warcinfo": 1}
    assert [r["type"] for r in records(out)] == ["warcinfo"]
    assert warcio_check(out).returncode == 0


def test_a_file_named_warc_is_written_uncompressed(built, tmp_path):
    path, _ = built
    plain, packed = tmp_path / "kant.warc", tmp_path / "kant.warc.gz"
    for out in (plain, packed):
        result = run_kantkg("export", "--warc", str(out), "--db", str(path))
        assert result.returncode == 0, result.stderr
    assert plain.read_bytes().startswith(b"WARC/1.1\r\n")
    assert packed.read_bytes().startswith(b"\x1f\x8b")
    assert [r["payload"] for r in records(plain)] == [r["payload"] for r in records(packed)]
    assert warcio_check(plain).returncode == 0


def test_a_capture_without_a_fetch_time_is_counted_not_written(tmp_path):
    """A schema-4 page could lack its fetch time; a WARC record cannot."""
    db = archive.open_archive(tmp_path / "kant.db")
    with archive.transaction(db):
        archive.add_capture(db, Capture(OLD_URL, "", 200, [], PAGE.encode(), reencoded=True))
    out = tmp_path / "undated.warc.gz"
    with open(out, "wb") as stream:
        counts = export_warc(db, stream)
    db.close()
    assert counts == {"warcinfo": 1, "skipped-undated": 1}
    assert warcio_check(out).returncode == 0


# ------------------------------------------------------------------ the command


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """A crawl of the replica (6 articles and the seed), the replica still serving."""
    from kantkg.replica import Replica

    db = tmp_path_factory.mktemp("crawl") / "kant.db"
    with Replica(articles=6) as site:
        result = run_scrapy_crawl(site.base_url, db)
        assert result.returncode == 0, result.stderr[-3000:]
        yield site, db


def test_export_warc_writes_a_checked_file_of_every_capture(crawled, tmp_path):
    site, db = crawled
    out = tmp_path / "kant.warc.gz"
    result = run_kantkg("export", "--warc", str(out), "--db", str(db))
    assert result.returncode == 0, result.stderr
    articles = archived(db)
    n = len(articles)
    assert n == 7
    assert result.stderr.strip().splitlines()[-1] == (
        f"wrote {out}: {n} request, {n} response, 1 warcinfo"
    )
    assert not Path(f"{out}.partial").exists()
    got = records(out)
    assert {r["warc"]["WARC-Target-URI"] for r in got if r["type"] == "response"} == set(articles)
    check = warcio_check(out)
    assert check.returncode == 0, check.stdout
    assert check.stdout.count("digest pass") == 2 * n + 1
    # the seed page as the replica serves it, byte for byte
    served_url = site.seed_article.url
    served = get(site, urlsplit(served_url).path).body
    (seed,) = [
        r for r in got if r["type"] == "response" and r["warc"]["WARC-Target-URI"] == served_url
    ]
    assert seed["payload"] == served


def test_since_and_until_choose_by_publication_date(crawled, tmp_path):
    _, db = crawled
    articles = archived(db)
    dates = sorted(a["published_date"] for a in articles.values())
    since, until = dates[1], dates[-2]
    out = tmp_path / "some.warc.gz"
    result = run_kantkg(
        "export", "--warc", str(out), "--since", since, "--until", until, "--db", str(db)
    )
    assert result.returncode == 0, result.stderr
    chosen = {u for u, a in articles.items() if since <= a["published_date"] <= until}
    assert 0 < len(chosen) < len(articles)
    got = records(out)
    assert {r["warc"]["WARC-Target-URI"] for r in got if r["type"] == "response"} == chosen
    assert warcio_check(out).returncode == 0


@pytest.mark.parametrize("problem", ["directory", "missing archive"])
def test_bad_input_is_one_line_and_leaves_no_file(crawled, tmp_path, problem):
    _, db = crawled
    target = tmp_path / "out.warc.gz"
    if problem == "directory":
        target.mkdir()
    else:
        db = tmp_path / "missing.db"
    result = run_kantkg("export", "--warc", str(target), "--db", str(db))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("kantkg: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == (
        ["out.warc.gz"] if problem == "directory" else []
    )


# ------------------------------------------------------------------ pywb replay

PYWB = ROOT / ".venv-pywb" / "bin"
PYWB_MISSING = not (PYWB / "wb-manager").exists()


@pytest.mark.skipif(
    PYWB_MISSING and not os.environ.get("KANT_REQUIRE_PYWB"),
    reason="pywb is not installed in .venv-pywb (make test builds it; "
    "KANT_REQUIRE_PYWB=1 makes this a failure)",
)
def test_pywb_replays_the_exported_seed_article(crawled, tmp_path):
    """The issue's proof that the export is a web archive: pywb indexes it and replays
    the seed article, its original bytes (id_) and the rewritten page -- and at the
    time of a later 304, the same page (a 200, not a 304)."""
    assert not PYWB_MISSING, f"KANT_REQUIRE_PYWB is set but {PYWB / 'wb-manager'} is missing"
    site, crawl_db = crawled
    served = get(site, urlsplit(site.seed_article.url).path).body
    db, fetched_at, not_modified_at = with_a_304(crawl_db, tmp_path, site.seed_article.url)
    out = tmp_path / "kant.warc.gz"
    result = run_kantkg("export", "--warc", str(out), "--db", str(db))
    assert result.returncode == 0, result.stderr
    timestamp = "".join(ch for ch in fetched_at[:19] if ch.isdigit())  # (UTC already)
    timestamp_304 = "".join(ch for ch in not_modified_at[:19] if ch.isdigit())

    home = tmp_path / "pywb"
    home.mkdir()
    for argv in (["init", "kant"], ["add", "kant", str(out)]):
        done = subprocess.run(
            [PYWB / "wb-manager", *argv], cwd=home, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
    port = free_port()
    wayback = subprocess.Popen(
        [PYWB / "wayback", "-p", str(port), "-b", "127.0.0.1", "-d", str(home)],
        cwd=home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}/kant"
        wait_until_up(f"http://127.0.0.1:{port}/", wayback)
        status, original = fetch(f"{base}/{timestamp}id_/{site.seed_article.url}")
        assert status == 200
        assert original == served  # byte for byte, as the replica served it
        status, again = fetch(f"{base}/{timestamp_304}id_/{site.seed_article.url}")
        assert (status, again) == (200, served)  # the 304 said: the page is unchanged
        # the replay URL: pywb's frame, and in it the page rewritten to link into pywb
        status, frame = fetch(f"{base}/{timestamp}/{site.seed_article.url}")
        assert status == 200
        assert b"replay_iframe" in frame
        status, page = fetch(f"{base}/{timestamp}mp_/{site.seed_article.url}")
        assert status == 200
        text = page.decode("utf-8")
        assert site.seed_article.title in text
        assert f"/kant/{timestamp}" in text and page != served  # rewritten
    finally:
        wayback.terminate()
        try:
            wayback.wait(timeout=10)
        except subprocess.TimeoutExpired:
            wayback.kill()
            wayback.wait()
        if wayback.stderr is not None:
            wayback.stderr.close()


def with_a_304(crawl_db: Path, tmp_path: Path, url: str) -> tuple[Path, str, str]:
    """A copy of the crawl's archive with a 304 of `url` a day after its capture ->
    (the copy, the capture's fetch time, the 304's)."""
    db_path = tmp_path / "with-304.db"
    with sqlite3.connect(crawl_db) as source, sqlite3.connect(db_path) as copy:
        source.backup(copy)
    db = archive.open_archive(db_path)
    (fetched_at,) = db.execute(
        "SELECT fetched_at FROM captures WHERE target_url = ?", [url]
    ).fetchone()
    later = (datetime.fromisoformat(fetched_at) + timedelta(days=1)).isoformat()
    sent = [("Date", "Sun, 02 Aug 2026 10:00:00 GMT"), ("Cache-Control", "max-age=60")]
    with archive.transaction(db):
        archive.add_capture(db, Capture(url, later, 304, sent, None, reason="Not Modified"))
    db.close()
    return db_path, fetched_at, later


def test_an_exported_304_is_imported_again_as_a_304(crawled, tmp_path):
    """The 304's revisit (written with its original's 200 line, for replay) still
    resolves on import --warc, and is recorded as the 304 it was."""
    site, crawl_db = crawled
    url = site.seed_article.url
    db, fetched_at, later = with_a_304(crawl_db, tmp_path, url)
    out, imported = tmp_path / "kant.warc.gz", tmp_path / "imported.db"
    assert run_kantkg("export", "--warc", str(out), "--db", str(db)).returncode == 0
    done = run_kantkg(
        "import", "--warc", str(out), "--db", str(imported), "--base-url", site.base_url
    )
    assert done.returncode == 0 and "revisit-without-original" not in done.stderr, done.stderr
    reader = archive.open_readonly(imported)
    original, not_modified = archive.captures_of(reader, url)
    reader.close()
    assert (
        original.capture.fetched_at == fetched_at
        and original.capture.body == get(site, urlsplit(url).path).body
    )
    assert (not_modified.capture.fetched_at, not_modified.capture.status) == (later, 304)
    assert not_modified.capture.body is None
    assert (not_modified.revisit_reason, not_modified.revisit_of) == ("not-modified", original.id)
    assert ("Cache-Control", "max-age=60") in not_modified.capture.headers


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"wayback exited with {process.returncode}")
        with contextlib.suppress(OSError):
            fetch(url)
            return
        time.sleep(0.1)
    raise AssertionError(f"wayback did not answer {url} within {timeout} s")


def fetch(url: str) -> tuple[int, bytes]:
    """GET through no proxy: (status, body), an HTTP error status included."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
