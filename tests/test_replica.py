"""The loopback replica serves what a WordPress news site serves, deterministically."""

from __future__ import annotations

import html
from collections import Counter
from urllib.parse import urlsplit

import pytest

from kantkg.crawl.discovery import feed_links, parse_listing, parse_sitemap, sitemaps_from_robots
from kantkg.replica import MARKUPS, Corpus
from kantkg.replica.corpus import SEED_PATH, seed_paragraphs
from tests.conftest import get


def test_articles_depend_only_on_seed_and_index():
    small, large = Corpus(10, seed=7), Corpus(60, seed=7)
    small_paths = set(small.paths)
    assert small_paths <= set(large.paths)
    for path in small_paths:
        assert small.get(path).paragraphs == large.get(path).paragraphs
    assert Corpus(10, seed=8).paths != small.paths


def test_corpus_is_varied_like_a_real_archive():
    articles = Corpus(200, seed=3).all()
    assert len({a.published[:4] for a in articles}) >= 8  # spread over years
    assert set(Counter(a.markup for a in articles)) == set(MARKUPS)
    repeating = sum(1 for a in articles if a.repeated)
    assert 0.1 * len(articles) < repeating < 0.5 * len(articles)
    assert sum(bool(a.source_line) for a in articles) > len(articles) / 2
    assert len({a.path for a in articles}) == len(articles)


def test_an_article_is_about_the_event_in_its_title():
    """A name's share of articles follows how often it makes news, as in a real archive,
    not every name in every article: search benchmarks rank realistic numbers of rows."""
    corpus = Corpus(400, seed=3)
    articles = [a for a in corpus.all() if a.index >= 0]
    bodies = [" ".join(a.paragraphs) for a in articles]
    about = sum(
        corpus.meta(a.path)["topic"][2] in body for a, body in zip(articles, bodies, strict=True)
    )
    assert about > 0.9 * len(articles)  # the title's place is in the body

    def share(words: str) -> float:
        return sum(words in body for body in bodies) / len(bodies)

    assert 0.15 < share("в Бишкеке") < 0.6  # the capital: often, not always
    assert share("в Канте") < 0.1  # a small town: seldom
    assert share("Президент Садыр Жапаров") > 3 * share("Социальный фонд")


def test_seed_article_is_served_verbatim(replica):
    response = get(replica, SEED_PATH)
    assert response.status == 200
    page = html.unescape(response.body.decode("utf-8"))
    for line in seed_paragraphs():
        assert f"<p>{line}</p>" in page
    seed = replica.seed_article
    assert len(seed.paragraphs) == 12 and len(seed.repeated) == 2
    assert seed.published == "2021-05-25T10:41:23+06:00"


def test_robots_sitemaps_and_feed_cover_every_article(replica):
    robots = get(replica, "/robots.txt").body.decode()
    (index_url,) = sitemaps_from_robots(robots, replica.base_url)
    kind, sitemaps, _ = parse_sitemap(get(replica, urlsplit(index_url).path).body)
    assert kind == "sitemapindex"
    posts = [s for s in sitemaps if "post-sitemap" in s.loc]
    assert posts and all(s.lastmod for s in posts)
    listed = []
    for sitemap in posts:
        kind, entries, whole = parse_sitemap(get(replica, urlsplit(sitemap.loc).path).body)
        assert whole
        assert kind == "urlset" and all(e.lastmod for e in entries)
        listed += [e.loc for e in entries]
    truth = [a.url for a in replica.truth()]
    assert sorted(listed) == sorted(truth)
    feed = feed_links(get(replica, "/feed/").body)
    assert feed == truth[::-1][:20]


def test_listing_pages_paginate_newest_first(replica):
    seen, path = [], "/"
    while path:
        listing = parse_listing(
            get(replica, path).body.decode(), replica.base_url + path, replica.base_url
        )
        seen += listing.article_urls
        path = urlsplit(listing.next_url).path if listing.next_url else None
    assert seen == [a.url for a in replica.truth()][::-1]
    category = parse_listing(
        get(replica, "/category/politika/").body.decode(),
        replica.base_url + "/category/politika/",
        replica.base_url,
    )
    assert replica.seed_article.url in category.article_urls


@pytest.mark.parametrize(
    "path",
    [
        "/nope/",
        "/2021-05-25/no-such-article/",
        "/page/999/",
        "/category/unknown/",
        "/post-sitemap99.xml",
    ],
)
def test_unknown_paths_are_404(replica, path):
    assert get(replica, path).status == 404


def test_article_permalink_without_slash_redirects(replica):
    response = get(replica, SEED_PATH.rstrip("/"))
    assert response.status == 301
    assert response.getheader("Location") == replica.seed_article.url


def test_conditional_get_answers_304(replica):
    first = get(replica, SEED_PATH)
    etag, modified = first.getheader("ETag"), first.getheader("Last-Modified")
    assert etag and modified
    assert get(replica, SEED_PATH, {"If-None-Match": etag}).status == 304
    assert get(replica, SEED_PATH, {"If-Modified-Since": modified}).status == 304
    assert get(replica, SEED_PATH, {"If-None-Match": '"other"'}).status == 200


def test_legacy_markup_is_windows_1251(replica):
    legacy = next(a for a in replica.truth() if a.markup == "legacy_cp1251")
    response = get(replica, legacy.path)
    assert "windows-1251" in response.getheader("Content-Type")
    assert legacy.title in response.body.decode("cp1251")
    with pytest.raises(UnicodeDecodeError):
        response.body.decode("utf-8")
