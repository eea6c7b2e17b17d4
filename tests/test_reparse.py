"""kantkg reparse on archives of replica pages (every markup): each outcome, revisions,
the date range, pages that are no article. (The CLI after a real crawl: test_cli.)"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from kantkg import archive, clock
from kantkg.archive.sqlite import sqlite3
from kantkg.crawl.reparse import reparse
from kantkg.extract.encoding import charset_from_content_type, decode_html
from kantkg.items import Capture
from kantkg.replica import MARKUPS, Corpus
from kantkg.replica.render import listing_page
from kantkg.replica.server import Site
from tests.conftest import assert_index_exact, index_terms

FETCHED_AT = "2026-07-01T00:00:00+00:00"
BASE = "https://kant.kg"


def _capture(site: Site, path: str, fetched_at: str = FETCHED_AT) -> Capture:
    """The capture a crawl keeps of this article: its page as served (its markup, in the
    charset its Content-Type declares)."""
    page = site.article(site.corpus.get(path))
    headers = [("Content-Type", page.content_type)]
    return Capture(BASE + path, fetched_at, 200, headers, page.body)


def _keep(path, capture: Capture) -> None:
    db = archive.open_archive(path)
    with archive.transaction(db):
        archive.add_capture(db, capture)
    db.close()


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return Corpus(24, seed=11, base_url=BASE)


@pytest.fixture
def path(tmp_path, corpus):
    """An archive of the corpus' articles with their raw pages."""
    path = tmp_path / "kant.db"
    db = archive.open_archive(path)
    site = Site(corpus, BASE)
    for p in corpus.paths:
        item = corpus.get(p).as_item()
        item["capture"] = _capture(site, p)
        archive.upsert_article(db, item)
    db.close()
    return path


def _set_page(path, url: str, html: str) -> None:
    """The page fetched again, a day later, with this text (in the charset its
    Content-Type declares, as the site sends it)."""
    db = archive.open_archive(path)
    last = archive.latest_page(db, url)
    db.close()
    assert last is not None
    content_type = last.capture.header("Content-Type")
    charset = charset_from_content_type(content_type) or "utf-8"
    later = Capture(
        url, "2026-07-01T12:00:00+00:00", 200, last.capture.headers, html.encode(charset)
    )
    _keep(path, later)


def _edit(path, corpus: Corpus, page_path: str) -> tuple[str, str]:
    """An editor changes the article's title on its stored page: -> (URL, old title)."""
    url, title = BASE + page_path, corpus.get(page_path).title
    html = _page(path, url)
    assert title in html
    _set_page(path, url, html.replace(title, title + " (обновлено)"))
    return url, title


def _page(path, url: str) -> str:
    db = archive.open_archive(path)
    last = archive.latest_page(db, url)
    db.close()
    assert last is not None and last.capture.body is not None
    return decode_html(
        last.capture.body, charset_from_content_type(last.capture.header("Content-Type"))
    )


def _rows(path) -> tuple[list, list, list]:
    """Articles, revisions and search index rows."""
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        articles = [dict(r) for r in conn.execute("SELECT * FROM articles ORDER BY id")]
        revisions = [dict(r) for r in conn.execute("SELECT * FROM revisions ORDER BY id")]
        index = sorted({doc for _, doc, _, _ in index_terms(conn)})  # ids with terms
        assert_index_exact(conn)
    return articles, revisions, index


def _run(path, **options) -> Counter[str]:
    db = archive.open_archive(path)
    try:
        return reparse(db, **options)
    finally:
        db.close()


def test_every_outcome_over_every_markup(path, corpus, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 7, 2, tzinfo=UTC))
    paths = corpus.paths
    assert {corpus.get(p).markup for p in paths} == set(MARKUPS)
    edited, _ = _edit(path, corpus, paths[3])
    # a page whose article row is not there yet, and a page that is no article
    other = Site(Corpus(2, seed=12, base_url=BASE), BASE)
    unknown = next(p for p in other.corpus.paths if corpus.find(p) is None)
    _keep(path, _capture(other, unknown))
    about = listing_page(BASE, "О нас", [], None, None).encode()
    _keep(path, Capture(BASE + "/about/", FETCHED_AT, 200, [], about))
    articles, _, index = _rows(path)

    counts = _run(path)

    assert counts == Counter(
        {"unchanged": len(paths) - 1, "updated": 1, "new": 1, "not-article": 1}
    )
    after, revisions, index_after = _rows(path)
    # Unchanged pages (all five markups) leave their article as it was but for last_seen.
    same = [a for a in after if a["url"] not in (edited, BASE + unknown)]
    assert same == [
        a | {"last_seen": "2026-07-02T00:00:00+00:00"} for a in articles if a["url"] != edited
    ]
    assert [r["url"] for r in revisions] == [edited]
    assert [a["url"] for a in after if a["first_seen"].startswith("2026-07-02")] == [BASE + unknown]
    assert len(index_after) == len(index) + 1


def test_an_edited_page_becomes_a_revision(path, corpus):
    url, old_title = _edit(path, corpus, corpus.paths[5])

    assert _run(path) == Counter(unchanged=len(corpus.paths) - 1, updated=1)

    with sqlite3.connect(path) as conn:
        (title,) = conn.execute("SELECT title FROM articles WHERE url = ?", [url]).fetchone()
        revisions = conn.execute("SELECT url, title FROM revisions").fetchall()
    assert title == old_title + " (обновлено)"
    assert revisions == [(url, old_title)]
    assert _run(path) == Counter(unchanged=len(corpus.paths))  # done once


def test_since_and_until_limit_what_is_reparsed(path, corpus):
    days = sorted(corpus.get(p).published[:10] for p in corpus.paths)
    middle = days[len(days) // 2]
    # An edit on the first day's page: outside --since, so it stays as it was.
    _edit(path, corpus, next(p for p in corpus.paths if corpus.get(p).published[:10] == days[0]))

    since = _run(path, since=middle)
    assert since == Counter(unchanged=sum(d >= middle for d in days))
    until = _run(path, until=middle)
    assert until == Counter(unchanged=sum(d <= middle for d in days) - 1, updated=1)
    both = _run(path, since=middle, until=middle)
    assert both == Counter(unchanged=days.count(middle))


def test_a_page_that_is_no_article_is_counted_so(path, corpus):
    url = BASE + corpus.paths[0]
    _set_page(path, url, listing_page(BASE, "Новости", [], None, None))

    counts = _run(path)

    assert counts == Counter({"unchanged": len(corpus.paths) - 1, "not-article": 1})
    with sqlite3.connect(path) as conn:  # the article stays as it was archived
        (title,) = conn.execute("SELECT title FROM articles WHERE url = ?", [url]).fetchone()
    assert title == corpus.get(corpus.paths[0]).title
