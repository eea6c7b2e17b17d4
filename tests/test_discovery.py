"""Discovery rules over robots, sitemaps, feeds and listings."""

import gzip
from datetime import date

import pytest

from kantkg.crawl import discovery

BASE = "http://127.0.0.1:8123"


def test_sitemaps_from_robots():
    robots = (
        "User-agent: *\nDisallow: /wp-admin/\nSitemap: http://127.0.0.1:8123/sitemap_index.xml\n"
    )
    assert discovery.sitemaps_from_robots(robots, BASE) == [f"{BASE}/sitemap_index.xml"]


URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>http://127.0.0.1:8123/2021-05-25/a/</loc><lastmod>2021-05-25T10:41:23+06:00</lastmod></url>
<url><loc>http://127.0.0.1:8123/2021-05-26/b/</loc></url>
</urlset>"""


@pytest.mark.parametrize("body", [URLSET, gzip.compress(URLSET)])
def test_parse_urlset_plain_and_gzip(body):
    kind, entries, whole = discovery.parse_sitemap(body)
    assert kind == "urlset" and whole
    assert [(e.loc, e.lastmod) for e in entries] == [
        (f"{BASE}/2021-05-25/a/", "2021-05-25T10:41:23+06:00"),
        (f"{BASE}/2021-05-26/b/", None),
    ]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html><body>404</body></html>",
        b"\x1f\x8bjunk",
        b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>",
    ],
)
def test_bad_sitemaps_are_invalid_not_errors(body):
    assert discovery.parse_sitemap(body)[:2] == ("invalid", [])


def test_a_cut_sitemap_keeps_its_entries_and_says_it_is_not_whole():
    kind, entries, whole = discovery.parse_sitemap(URLSET[: URLSET.rindex(b"<url>")])
    assert (kind, len(entries), whole) == ("urlset", 1, False)
    assert discovery.parse_sitemap(URLSET + b"\n<!-- generated -->\n").whole


def test_a_gzip_bomb_is_unpacked_only_up_to_the_limit():
    bomb = gzip.compress(URLSET.replace(b"</urlset>", b" " * (8 << 20) + b"</urlset>"))
    assert len(bomb) < 100_000
    assert discovery.parse_sitemap(bomb, max_bytes=1 << 20)[:2] == ("too-large", [])
    assert discovery.parse_sitemap(bomb, max_bytes=16 << 20).kind == "urlset"
    assert discovery.parse_sitemap(URLSET, max_bytes=100).kind == "too-large"


def test_feed_links_rss_and_atom():
    rss = (
        b"<rss><channel><item><link>http://127.0.0.1:8123/2021-05-25/a/</link></item>"
        b"</channel></rss>"
    )
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry>'
        b'<link href="http://127.0.0.1:8123/2021-05-25/b/"/></entry></feed>'
    )
    assert discovery.feed_links(rss) == [f"{BASE}/2021-05-25/a/"]
    assert discovery.feed_links(atom) == [f"{BASE}/2021-05-25/b/"]
    assert discovery.feed_links(b"not xml at all") == []


def test_listing_keeps_only_site_articles_and_finds_next():
    html = f"""<html><body>
      <a href="/2021-05-25/a/">A</a><a href="{BASE}/2021-05-25/a/#comments">A again</a>
      <a href="/category/politika/">cat</a><a href="https://kant.kg/2021-05-25/c/">other host</a>
      <a href="https://facebook.com/sharer.php?u=x">share</a><a href="/2020-01-02/b">B</a>
      <a class="next page-numbers" href="/page/2/">Далее</a></body></html>"""
    listing = discovery.parse_listing(html, BASE + "/", BASE)
    assert listing.article_urls == [f"{BASE}/2021-05-25/a/", f"{BASE}/2020-01-02/b"]
    assert listing.next_url == f"{BASE}/page/2/"


def test_date_range():
    rng = discovery.DateRange.from_args("2021-01-01", "2021-12-31")
    assert rng.contains_url(f"{BASE}/2021-05-25/a/")
    assert not rng.contains_url(f"{BASE}/2022-01-01/a/")
    assert rng.is_before(f"{BASE}/2020-12-31/a/")
    assert rng.contains(None)
    assert not rng.may_hold_changes_since("2020-06-01T00:00:00+06:00")
    assert rng.may_hold_changes_since("2021-06-01T00:00:00+06:00")
    assert discovery.DateRange().contains(date(1999, 1, 1))


@pytest.mark.parametrize(
    ("since", "until"), [("yesterday", None), (None, "2021-13-01"), ("2022-01-01", "2021-01-01")]
)
def test_bad_range_is_one_clear_error(since, until):
    with pytest.raises(discovery.BadRange):
        discovery.DateRange.from_args(since, until)
