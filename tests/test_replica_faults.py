"""The replica's hostile-server faults (issue 20) do what they say, seen from a plain HTTP
client on 127.0.0.1. Pages are read with parsel and regexes, not with the crawler's own
discovery code: these tests pin the replica, whatever the crawler does with it."""

from __future__ import annotations

import gzip
import re
import socket
import threading
import time
import zlib
from urllib.parse import urlsplit

import pytest
from parsel import Selector

from kantkg.replica import Replica
from kantkg.replica.faults import BadFault, Fault, nested_texts, parse_fault
from tests.conftest import get

ARTICLES = 12  # + the seed: two front-page listings of ten


def locs(xml: bytes) -> list[str]:
    return re.findall(r"<loc>([^<]+)</loc>", xml.decode())


def article(site: Replica, markup: str | None = None):
    return next(a for a in site.truth() if markup in (None, a.markup))


# ------------------------------------------------------------------ spec syntax


def test_new_kinds_have_default_patterns_and_checked_args():
    assert parse_fault("gzip-bomb").pattern == "sitemap"
    assert parse_fault("robots-sitemap=ftp%3A//127.0.0.1/x.xml").arg == "ftp://127.0.0.1/x.xml"
    assert Fault("robots-sitemap", "file:///dev/zero").pattern == "robots"
    assert parse_fault("cookies=5,10:all:2").times == 2
    with pytest.raises(BadFault, match="%3A"):  # a URL cut at its ':' is refused, not a no-op
        parse_fault("robots-sitemap=file:///dev/zero")
    for bad in ("robots-sitemap", "redirect-to", "canonical", "cookies=x", "trickle=slow"):
        with pytest.raises(BadFault):
            parse_fault(bad)


# ---------------------------------------------------------------- sitemaps


def test_xml_gz_is_the_same_document_gzip_compressed():
    with Replica(articles=ARTICLES, seed=17) as site:
        plain, packed = get(site, "/post-sitemap.xml"), get(site, "/post-sitemap.xml.gz")
        assert packed.status == 200 and packed.getheader("Content-Type") == "application/x-gzip"
        assert gzip.decompress(packed.body) == plain.body
        assert get(site, "/post-sitemap9.xml.gz").status == 404


def streamed_size(body: bytes) -> tuple[int, bytes]:
    """Unpacked size, as a careful client would measure it (never all in memory),
    and the unpacked document without its padding."""
    unpack, size, kept = zlib.decompressobj(wbits=31), 0, []
    for offset in range(0, len(body), 16384):
        chunk = unpack.decompress(body[offset : offset + 16384])
        size += len(chunk)
        kept.append(chunk.strip(b" "))
    return size + len(unpack.flush()), b"".join(kept)


def test_gzip_bomb_unpacks_to_megabytes_of_a_valid_sitemap():
    with Replica(articles=ARTICLES, seed=17, faults=["gzip-bomb=8"]) as site:
        normal = locs(site.site.route("/post-sitemap.xml").body)
        for path in ("/post-sitemap.xml", "/post-sitemap.xml.gz"):
            bomb = get(site, path)
            assert bomb.getheader("Content-Type") == "application/x-gzip"
            assert len(bomb.body) < 64 * 1024
            size, document = streamed_size(bomb.body)
            assert size >= 8 << 20
            assert locs(document) == normal
            assert document.startswith(b"<?xml") and document.rstrip().endswith(b"</urlset>")


def test_gzip_bomb_default_is_200_megabytes_built_once():
    with Replica(articles=ARTICLES, seed=17, faults=["gzip-bomb"]) as site:
        started = time.monotonic()
        first, again = get(site, "/sitemap_index.xml"), get(site, "/sitemap_index.xml")
        assert time.monotonic() - started < 2 and first.body == again.body
        assert len(first.body) < 400 * 1024
        assert streamed_size(first.body)[0] >= 200 << 20


def test_robots_sitemap_names_any_url_verbatim():
    with Replica(
        articles=ARTICLES,
        seed=17,
        faults=["robots-sitemap=http%3A//127.0.0.1%3A9/sitemap.xml:robots:1"],
    ) as site:
        site.add_fault(Fault("robots-sitemap", "file:///dev/zero"))
        robots = get(site, "/robots.txt").body.decode()
        assert f"Sitemap: {site.base_url}/sitemap_index.xml" in robots
        assert "Sitemap: http://127.0.0.1:9/sitemap.xml" in robots.splitlines()
        assert (
            get(site, "/robots.txt").body.decode().splitlines()[-1] == "Sitemap: file:///dev/zero"
        )  # the first rule fired its once; the second now


def test_index_self_is_an_endless_chain_of_indexes():
    with Replica(articles=ARTICLES, seed=17, faults=["index-self"]) as site:
        index = f"{site.base_url}/sitemap_index.xml"
        first = locs(get(site, "/sitemap_index.xml").body)
        assert f"{site.base_url}/post-sitemap.xml" in first
        assert index in first and f"{index}?page=2" in first
        second = locs(get(site, "/sitemap_index.xml?page=2").body)
        assert f"{index}?page=2" in second and f"{index}?page=3" in second
        assert get(site, "/post-sitemap.xml").status == 200  # only the index is touched


# ----------------------------------------------------------------- listings


def next_links(page: bytes) -> tuple[str | None, str | None]:
    sel = Selector(text=page.decode())
    return (
        sel.xpath("//link[@rel='next']/@href").get(),
        sel.xpath("//a[@class='next page-numbers']/@href").get(),
    )


def article_links(page: bytes, base: str) -> list[str]:
    hrefs = Selector(text=page.decode()).xpath("//h2[@class='entry-title']/a/@href").getall()
    return [h for h in hrefs if h.startswith(base)]


def test_pagination_cycle_leads_page_two_back_to_the_front_page():
    with Replica(articles=ARTICLES, seed=17, faults=["pagination-cycle"]) as site:
        assert next_links(get(site, "/").body) == (f"{site.base_url}/page/2/",) * 2
        two = get(site, "/page/2/")
        assert next_links(two.body) == (f"{site.base_url}/",) * 2
        assert article_links(two.body, site.base_url)  # still a page of articles


def test_endless_pages_never_run_out():
    with Replica(articles=ARTICLES, seed=17, faults=["endless-pages"]) as site:
        front = article_links(get(site, "/").body, site.base_url)
        for n in (2, 3, 57, 100000):
            page = get(site, f"/page/{n}/")
            assert page.status == 200
            assert article_links(page.body, site.base_url) == front
            assert next_links(page.body)[0] == f"{site.base_url}/page/{n + 1}/"


def test_link_variants_spell_every_article_link_several_ways():
    with Replica(articles=ARTICLES, seed=17, faults=["link-variants"]) as site:
        newest = site.truth()[-1].url
        path = urlsplit(newest).path
        expected = {
            f"{newest}?utm_campaign=z",
            f"{newest}?a=1",
            f"{newest}?a=2",
            newest.rstrip("/"),
            f"{newest}#comments",
            site.base_url.upper() + path,
        }
        assert site.base_url.upper().startswith("HTTP://127.0.0.1:")
        hrefs = set(Selector(text=get(site, "/").body.decode()).xpath("//a/@href").getall())
        assert expected | {newest} <= hrefs
        feed = get(site, "/feed/").body.decode()
        links = set(re.findall(r"<link>([^<]+)</link>", feed))
        assert {v.replace("&", "&amp;") for v in expected} | {newest} <= links


# ------------------------------------------------------------------ headers


def raw_head(site: Replica, path: str) -> list[str]:
    """The response's header lines, read off the socket (http.client stops at 100)."""
    parts = urlsplit(site.base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(1 << 16)
            assert chunk, "connection closed before the headers ended"
            data += chunk
    return data.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")[1:]


def test_cookies_flood_the_response_with_set_cookie_headers():
    with Replica(articles=ARTICLES, seed=17, faults=["cookies=150,100:feed", "cookies"]) as site:
        cookies = [h for h in raw_head(site, "/feed/") if h.startswith("Set-Cookie: ")]
        assert len(cookies) == 150
        assert re.fullmatch(r"Set-Cookie: c7=[0-9a-f]{100}; Path=/", cookies[7])
        flood = [h for h in raw_head(site, "/") if h.startswith("Set-Cookie: ")]
        assert len(flood) == 1000 and all(len(h.split("=", 1)[1]) >= 4096 for h in flood)


@pytest.mark.parametrize("size", [17 * 1024, 200 * 1024])
def test_request_headers_over_16_kb_are_refused_like_nginx(size):
    with Replica(articles=ARTICLES, seed=17) as site:
        assert get(site, "/", {"Cookie": "c=" + "x" * 8000}).status == 200
        refused = get(site, "/", {"Cookie": "c=" + "x" * size})
        assert refused.status == 400
        assert b"Request Header Or Cookie Too Large" in refused.body
        assert site.statuses[400] == 1


# ---------------------------------------------------------------- articles


def test_redirect_to_sends_articles_to_another_port():
    with Replica(articles=ARTICLES, seed=17) as other, Replica(articles=ARTICLES, seed=17) as site:
        site.add_fault(Fault("redirect-to", other.base_url))
        path = article(site).path
        moved = get(site, path)
        assert moved.status == 302 and moved.getheader("Location") == other.base_url + path
        assert get(other, path).status == 200
        encoded = other.base_url.replace(":", "%3A")
        assert parse_fault(f"redirect-to={encoded}").arg == other.base_url


def handler_threads() -> int:
    return sum("process_request" in t.name for t in threading.enumerate())


def test_trickle_sends_a_byte_at_a_time_and_stops_when_the_client_leaves():
    with Replica(articles=ARTICLES, seed=17, faults=["trickle=0.2:robots"]) as site:
        before = handler_threads()
        parts = urlsplit(site.base_url)
        conn = socket.create_connection((parts.hostname, parts.port), timeout=5)
        conn.sendall(b"GET /robots.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        started, data = time.monotonic(), b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(1)
        assert time.monotonic() - started < 0.5 and data.startswith(b"HTTP/1.1 200")
        for _ in range(4):
            assert len(conn.recv(16)) == 1  # one byte a recv: nothing more was sent
        assert time.monotonic() - started >= 0.6
        assert handler_threads() == before + 1
        conn.close()
        deadline = time.monotonic() + 3
        while handler_threads() > before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert handler_threads() == before  # the write failed and the thread ended


def canonical_of(page: bytes) -> tuple[list[str], list[str]]:
    sel = Selector(text=page.decode("utf-8", "replace"))
    return (
        sel.xpath("//link[@rel='canonical']/@href").getall(),
        sel.xpath("//meta[@property='og:url']/@content").getall(),
    )


def test_canonical_names_another_article_in_every_markup():
    with Replica(articles=40, seed=17, faults=["canonical=other"]) as site:
        first = site.truth()[0]
        for markup in {a.markup for a in site.truth()}:
            page = article(site, markup)
            if page.path == first.path:
                continue
            assert canonical_of(get(site, page.path).body) == ([first.url], [first.url])
        site.faults.clear()
        site.add_fault("canonical=/about/")
        assert canonical_of(get(site, article(site).path).body)[0] == [f"{site.base_url}/about/"]


def test_no_canonical_leaves_the_page_without_an_address():
    with Replica(articles=40, seed=17, faults=["no-canonical"]) as site:
        for markup in ("wp_yoast", "td_newspaper"):
            truth = article(site, markup)
            body = get(site, truth.path).body
            assert canonical_of(body) == ([], [])
            assert f'"url": "{truth.url}"' not in body.decode()
            assert truth.title in body.decode()


def test_junk_paragraphs_replace_the_text_in_every_markup():
    with Replica(articles=40, seed=17, faults=["junk-paragraphs=1000"]) as site:
        for markup in {a.markup for a in site.truth()}:
            truth = article(site, markup)
            body = get(site, truth.path).body.decode(
                "cp1251" if markup == "legacy_cp1251" else "utf-8"
            )
            assert body.count("<p>x</p>") == 1000 and truth.title in body
            assert truth.paragraphs[-1][:40] not in body and "KANTKG" not in body
        site.faults.clear()
        site.add_fault("junk-paragraphs")
        started = time.monotonic()
        assert get(site, article(site).path).body.count(b"<p>x</p>") == 1_000_000
        assert time.monotonic() - started < 5


def test_junk_title_is_kilobytes_long():
    with Replica(articles=ARTICLES, seed=17, faults=["junk-title=64"]) as site:
        truth = article(site, "wp_yoast")
        sel = Selector(text=get(site, truth.path).body.decode())
        for text in (
            sel.xpath("//title/text()").get(),
            sel.xpath("//h1//text()").get(),
            sel.xpath("//meta[@property='og:title']/@content").get(),
        ):
            assert len(text.encode()) >= 64 * 1024 - 4


def test_deep_nesting_opens_a_bold_per_paragraph_and_never_closes_it():
    with Replica(articles=40, seed=17, faults=["deep-nesting"]) as site:
        for markup in ("wp_yoast", "legacy_cp1251"):
            truth = article(site, markup)
            charset = "cp1251" if markup == "legacy_cp1251" else "utf-8"
            body = get(site, truth.path).body.decode(charset)
            texts = nested_texts(truth.paragraphs, 300)
            found = re.findall(r"<b>(\d+)\. [^<]*<br>", body)
            assert found == [str(n) for n in range(1, 301)]
            assert body.count("</b>") <= 1  # the legacy sidebar's own <b>…</b>
            assert texts[299].split(". ", 1)[1][:30] in body


def test_articles_at_extreme_url_dates_are_served_listed_and_fed():
    with Replica(articles=ARTICLES, seed=17) as site:
        future = site.add_article_at("/9999-12-31/far-future/")
        past = site.add_article_at("/0001-01-01/far-past/", markup="td_newspaper")
        assert future.published == "9999-12-31T12:00:00+06:00"
        assert past.published == "0001-01-01T12:00:00+06:00"
        listed = [u for path in ("/post-sitemap.xml",) for u in locs(get(site, path).body)]
        front = article_links(get(site, "/").body, site.base_url)
        feed = get(site, "/feed/").body.decode()
        for truth in (future, past):
            page = get(site, truth.path)
            assert page.status == 200 and truth.title in page.body.decode()
            assert truth.url in listed and truth.url in front and truth.url in feed
        with pytest.raises(ValueError):
            site.add_article_at("/9999-12-31/far-future/")
        with pytest.raises(ValueError):
            site.add_article_at("/no-date/")
