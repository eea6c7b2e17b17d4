"""Every date string of the corpus (tests/fixtures/dates.txt) parses to its instant."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from kantkg.dates import LOCAL_TZ, parse_date

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=LOCAL_TZ)
CORPUS = Path(__file__).parent / "fixtures" / "dates.txt"


def cases() -> list[tuple[str, str]]:
    rows = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        text, expected = line.split("\t")
        rows.append((text, expected))
    return rows


def test_corpus_is_big_enough():
    assert len(cases()) >= 100
    assert sum(1 for _, expected in cases() if expected == "none") >= 20


@pytest.mark.parametrize(("text", "expected"), cases())
def test_date(text, expected):
    parsed = parse_date(text, NOW)
    if expected == "none":
        assert parsed is None, parsed
    else:
        assert parsed is not None
        # same instant *and* same offset as written: the archive keeps the page's offset
        assert parsed.value.isoformat() == expected
