"""The replica's web archive (kantkg/replica/webarchive.py), as a CDX backfill uses it:
removed articles gone from the live site but captured, Common Crawl's CDX API (matching,
from/to, filter, limit, pages), WARC files read by Range, record by record."""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import json
import math
import time
from urllib.parse import quote, urlsplit

import pytest
from warcio.archiveiterator import ArchiveIterator

from kantkg.replica import Corpus, Replica
from kantkg.replica.corpus import SEED_PATH
from kantkg.replica.server import Site
from kantkg.replica.webarchive import BOGUS_PATH, OTHER_HOST_URL, PAGE_SIZE, surt
from tests.conftest import get

REMOVED = 3


@pytest.fixture(scope="module")
def site():
    with Replica(articles=20, seed=3, removed=REMOVED) as replica:
        yield replica


def cdx(site, **params: str | list[str]) -> http.client.HTTPResponse:
    pairs = []
    for name, value in params.items():
        for one in value if isinstance(value, list) else [value]:
            pairs.append(f"{name}={quote(one, safe='*/:')}")
    return get(site, "/webarchive/cdx?" + "&".join(pairs))


def rows(site, **params: str | list[str]) -> list[dict]:
    response = cdx(site, output="json", **params)
    assert response.status == 200, response.body
    return [json.loads(line) for line in response.body.decode().splitlines()]


def everything(site) -> list[dict]:
    return rows(site, url=site.base_url + "/*")


def record_of(site, row: dict) -> tuple[http.client.HTTPResponse, list]:
    """GET the byte range a CDX row names; the WARC records read from it (payload read)."""
    start, length = int(row["offset"]), int(row["length"])
    response = get(
        site, "/webarchive/" + row["filename"], {"Range": f"bytes={start}-{start + length - 1}"}
    )
    records = [
        (r.rec_type, r.rec_headers, r.http_headers, r.content_stream().read())
        for r in ArchiveIterator(io.BytesIO(response.body))
    ]
    return response, records


# ------------------------------------------------------------------ removed articles


def test_removed_articles_are_gone_from_the_live_site(site):
    removed = site.removed_paths
    assert len(removed) == REMOVED and SEED_PATH not in removed
    assert [t.path for t in site.removed_truth()] == removed
    served = {t.path for t in site.truth()}
    assert served.isdisjoint(removed) and SEED_PATH in served
    pages = [
        get(site, p).body
        for p in ("/post-sitemap.xml", "/feed/", "/", "/page/2/", "/page/3/", SEED_PATH)
    ]
    for path in removed:
        assert get(site, path).status == 404
        assert all(path.encode() not in page for page in pages)
        truth = next(t for t in site.removed_truth() if t.path == path)
        words = truth.title.split()[0]
        assert path.encode() not in get(site, "/?s=" + quote(words)).body


def test_removed_zero_changes_nothing_and_removing_only_takes_away():
    plain, none, some = Corpus(30, seed=5), Corpus(30, seed=5, removed=0), Corpus(30, 5, removed=4)
    assert none.paths == plain.paths and none.removed_paths == []
    assert some.paths == [p for p in plain.paths if p not in some.removed_paths]
    assert [t.paragraphs for t in some.removed()] == [
        plain.get(p).paragraphs for p in some.removed_paths
    ]
    with pytest.raises(ValueError):
        Corpus(4, seed=5, removed=3)


def test_the_archive_is_cheap_to_build():
    """Built at the first /webarchive/ request: a 60-article replica must not stall it."""
    site = Site(Corpus(60, seed=9, base_url="http://kant.test", removed=5), "http://kant.test")
    started = time.perf_counter()
    archive = site.webarchive
    assert time.perf_counter() - started < 5  # ~0.1 s here; generous for busy machines
    assert len(archive.captures) == 61 + 3 + 2 + 1 + 1
    assert site.webarchive is archive  # built once


def test_removed_articles_are_in_the_cdx(site):
    for truth in site.removed_truth():
        (row,) = rows(site, url=truth.url)
        assert row["status"] == "200" and row["url"] == truth.url
        assert row["urlkey"] == surt(truth.url)


# ------------------------------------------------------------------------ CDX API


def test_prefix_query_returns_every_article_capture_and_no_other_host(site):
    found = everything(site)
    urls = {r["url"] for r in found}
    articles = {t.url for t in site.truth()} | {t.url for t in site.removed_truth()}
    assert articles <= urls
    assert urls - articles == {
        site.base_url + "/",
        site.base_url + "/category/politika/",
        site.base_url + BOGUS_PATH,  # captured as a 404
    }
    assert OTHER_HOST_URL not in urls
    assert all(r["url"].startswith(site.base_url + "/") for r in found)
    assert found == sorted(found, key=lambda r: (r["urlkey"], r["timestamp"]))
    for row in found:
        assert set(row) >= {"urlkey", "timestamp", "url", "mime", "status", "digest"}
        assert set(row) >= {"length", "offset", "filename"}
        assert len(row["timestamp"]) == 14 and row["timestamp"].isdigit()
    twice = sorted({r["url"] for r in found if sum(x["url"] == r["url"] for x in found) == 2})
    assert twice == sorted(site.base_url + p for p in site.webarchive.edited_paths)
    assert 2 <= len(twice) <= 3
    host = urlsplit(site.base_url).netloc
    assert rows(site, url=host, matchType="host") == found
    assert rows(site, url=host, matchType="domain") == found
    assert rows(site, url=site.base_url + "/", matchType="prefix") == found


def test_the_other_host_is_in_the_index_under_its_own_host(site):
    (row,) = rows(site, url="example.org", matchType="domain")
    assert row["url"] == OTHER_HOST_URL and row["urlkey"].startswith("org,example)/")


def test_an_edited_article_has_an_earlier_different_capture(site):
    path = site.webarchive.edited_paths[0]
    earlier, later = rows(site, url=site.base_url + path)
    assert earlier["timestamp"] < later["timestamp"] and earlier["digest"] != later["digest"]
    _, records = record_of(site, earlier)
    body = records[0][3].decode(earlier["charset"])
    assert "Предварительно:" in body
    assert rows(site, url=site.base_url + path, **{"from": later["timestamp"]}) == [later]
    assert rows(site, url=site.base_url + path, to=earlier["timestamp"]) == [earlier]
    day = earlier["timestamp"][:8]  # a prefix: the whole day, inclusive
    assert earlier in rows(site, url=site.base_url + path, **{"from": day, "to": day})


def test_filters_and_limit(site):
    found = everything(site)
    ok = rows(site, url=site.base_url + "/*", filter="=status:200")
    assert ok == [r for r in found if r["status"] == "200"]
    assert rows(site, url=site.base_url + "/*", filter="status:200") == ok
    (missing,) = rows(site, url=site.base_url + "/*", filter="!status:200")
    assert missing["status"] == "404" and get(site, urlsplit(missing["url"]).path).status == 404
    both = rows(site, url=site.base_url + "/*", filter=["status:200", "mime:text/html"])
    assert both == ok
    assert cdx(site, url=site.base_url + "/*", filter="mime:image/.*").status == 404
    assert rows(site, url=site.base_url + "/*", limit="3") == found[:3]
    assert rows(site, url=site.base_url + "/*", filter="=status:200", limit="2") == ok[:2]


def test_pagination(site):
    found = everything(site)
    response = cdx(site, url=site.base_url + "/*", showNumPages="true")
    info = json.loads(response.body)
    assert info == {
        "pages": math.ceil(len(found) / PAGE_SIZE),
        "pageSize": PAGE_SIZE,
        "blocks": len(found),
    }
    assert info["pages"] > 2
    pages = [rows(site, url=site.base_url + "/*", page=str(n)) for n in range(info["pages"])]
    assert [len(p) for p in pages[:-1]] == [PAGE_SIZE] * (info["pages"] - 1)
    assert [r for page in pages for r in page] == found
    assert cdx(site, url=site.base_url + "/*", page=str(info["pages"])).status == 400


def test_classic_output_is_space_separated_cdx_lines(site):
    truth = site.truth()[3]
    response = cdx(site, url=truth.url)
    assert response.status == 200 and response.getheader("Content-Type").startswith("text/plain")
    (line,) = response.body.decode().splitlines()
    urlkey, stamp, url, mime, status, digest, _, _, length, offset, filename = line.split(" ")
    (row,) = rows(site, url=truth.url)
    assert (urlkey, stamp, url, mime, status, digest) == (
        row["urlkey"],
        row["timestamp"],
        truth.url,
        "text/html",
        "200",
        row["digest"],
    )
    assert (length, offset, filename) == (row["length"], row["offset"], row["filename"])


def test_no_captures_is_a_404(site):
    url = site.base_url + "/2020-02-02/nikogda-ne-bylo/"
    response = cdx(site, url=url)
    assert response.status == 404 and b"No Captures found for: " + url.encode() in response.body
    response = cdx(site, url=url, output="json")
    assert response.status == 404
    assert json.loads(response.body) == {"message": f"No Captures found for: {url}"}
    assert cdx(site, output="json").status == 400  # no url= at all


def test_collinfo_points_at_the_cdx_api(site):
    (crawl,) = json.loads(get(site, "/webarchive/collinfo.json").body)
    assert crawl["id"].startswith("CC-MAIN-")
    assert crawl["cdx-api"] == site.base_url + "/webarchive/cdx"
    index = urlsplit(crawl["cdx-api"]).path
    assert get(site, f"{index}?url={site.base_url}/*&limit=1").status == 200


# --------------------------------------------------------------------- WARC files


def test_a_range_request_returns_exactly_the_record(site):
    truth = site.truth()[5]
    (row,) = rows(site, url=truth.url)
    response, records = record_of(site, row)
    start, length = int(row["offset"]), int(row["length"])
    assert response.status == 206 and len(response.body) == length
    total = len(site.webarchive.files[row["filename"]])
    assert response.getheader("Content-Range") == f"bytes {start}-{start + length - 1}/{total}"
    ((kind, warc, http, payload),) = records
    assert kind == "response" and warc.get_header("WARC-Target-URI") == truth.url
    live = get(site, truth.path)
    assert payload == live.body
    assert http.get_statuscode() == "200"
    assert http.get_header("Content-Type") == live.getheader("Content-Type")
    assert row["digest"] == base64.b32encode(hashlib.sha1(payload).digest()).decode()
    assert row["charset"].lower() in live.getheader("Content-Type").lower()


def test_a_range_past_the_end_is_416_and_no_range_is_the_whole_file(site):
    name, data = next(iter(site.webarchive.files.items()))
    response = get(site, "/webarchive/" + name, {"Range": f"bytes={len(data)}-{len(data) + 9}"})
    assert response.status == 416
    assert response.getheader("Content-Range") == f"bytes */{len(data)}"
    whole = get(site, "/webarchive/" + name)
    assert whole.status == 200 and whole.body == data
    assert whole.getheader("Content-Type") == "application/warc"
    tail = get(site, "/webarchive/" + name, {"Range": f"bytes={len(data) - 10}-"})
    assert tail.status == 206 and tail.body == data[-10:]
    parts = urlsplit(site.base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("HEAD", "/webarchive/" + name)
    head = conn.getresponse()
    assert head.status == 200 and head.read() == b""
    assert int(head.getheader("Content-Length")) == len(data)
    conn.close()
    assert get(site, "/webarchive/crawl-data/nope.warc.gz").status == 404


def test_whole_files_hold_warcinfo_then_request_response_pairs(site):
    archive = site.webarchive
    assert len(archive.files) == 2
    seen: list[str] = []
    for name in archive.filenames:
        assert name.startswith("crawl-data/CC-MAIN-") and name.endswith(".warc.gz")
        body = get(site, "/webarchive/" + name).body
        records = list(ArchiveIterator(io.BytesIO(body)))  # headers only: enough here
        kinds = [r.rec_type for r in records]
        assert kinds[0] == "warcinfo"
        assert kinds[1:] == ["request", "response"] * ((len(kinds) - 1) // 2)
        for request, response in zip(records[1::2], records[2::2], strict=True):
            uri = response.rec_headers.get_header("WARC-Target-URI")
            assert request.rec_headers.get_header("WARC-Target-URI") == uri
            assert request.rec_headers.get_header(
                "WARC-Concurrent-To"
            ) == response.rec_headers.get_header("WARC-Record-ID")
            seen.append(uri)
    assert OTHER_HOST_URL in seen
    assert len(seen) == len(everything(site)) + 1  # + the other host's page


def test_webarchive_requests_are_logged(site):
    site.reset_counts()
    get(site, "/webarchive/collinfo.json")
    assert site.requests["/webarchive/collinfo.json"] == 1


# ------------------------------------------------------------------------- Wayback


def test_wayback_cdx_and_replay(site):
    truth = site.truth()[2]
    response = get(site, f"/webarchive/wayback/cdx/search/cdx?url={truth.url}&output=json")
    header, row = json.loads(response.body)
    assert header == ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest"] + [
        "length"
    ]
    assert row[2] == truth.url and row[4] == "200"
    replay = get(site, f"/webarchive/wayback/web/{row[1]}id_/{truth.url}")
    assert replay.status == 200 and replay.body == get(site, truth.path).body
    assert replay.getheader("X-Archive-Orig-Content-Type") == replay.getheader("Content-Type")
    nothing = get(site, "/webarchive/wayback/cdx/search/cdx?url=example.com/x&output=json")
    assert nothing.status == 200 and json.loads(nothing.body) == []


# ------------------------------------------------------------------------- the command


def test_kantkg_replica_removed_serves_the_web_archive_too():
    """`kantkg replica --removed N` says where its CDX API is; N beyond half is refused."""
    import subprocess
    import sys

    too_many = subprocess.run(
        [sys.executable, "-m", "kantkg", "replica", "--articles", "6", "--removed", "4"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert too_many.returncode == 2 and "at most half" in too_many.stderr
    assert "Traceback" not in too_many.stderr
    argv = [sys.executable, "-m", "kantkg", "replica", "--port", "0", "--articles", "6"]
    server = subprocess.Popen([*argv, "--removed", "2"], stdout=subprocess.PIPE, text=True)
    try:
        base = server.stdout.readline().strip()
        server.stdout.readline()
        said = server.stdout.readline()
        assert said.startswith(f"web archive (CDX API): {base}/webarchive/cdx")
        assert "2 of them gone" in said
        host = urlsplit(base)
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
        conn.request("GET", f"/webarchive/cdx?url={quote(base)}/*&output=json")
        lines = conn.getresponse().read().decode().splitlines()
        assert len(lines) >= 8  # the articles, two of them gone live, and more
    finally:
        server.kill()
        server.wait()
