"""Every fixture page (tests/fixtures/pages) extracts exactly to its expected JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from kantkg import extract_article
from kantkg.extract.evaluate import FIELDS, FIXTURE_NOW, load_fixtures, score

PAGES = Path(__file__).parent / "fixtures" / "pages"
FIXTURES = load_fixtures(PAGES)


def test_corpus_covers_enough_markups():
    articles = [f for f in FIXTURES if f.expected.get("article", True)]
    assert len(articles) >= 30
    assert len({f.expected["markup"] for f in articles}) >= 8
    assert sum(1 for f in FIXTURES if not f.expected.get("article", True)) >= 5


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.name for f in FIXTURES])
def test_fixture(fixture):
    item = extract_article(fixture.html, fixture.fetched_url, now=FIXTURE_NOW)
    scores = score(item, fixture.expected)
    wrong = {
        name: (item or {}).get(name if name != "url" else "canonical_url")
        for name, ok in scores.items()
        if not ok
    }
    assert not wrong, {name: (got, fixture.expected.get(name)) for name, got in wrong.items()}
    if item is not None:
        assert set(FIELDS) <= set(item)
