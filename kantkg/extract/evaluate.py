"""Fixture pages with expected output (Fundus-style) and how extraction is scored on them.

A fixture is `NAME.html` (or `.html.gz`, raw bytes as served) beside `NAME.json`:
{"url", "markup", "article": bool, "title", "published", "author", "section",
"paragraphs", optional "fetched_url"}. The test suite and the accuracy report
(bench/accuracy.py) both score with `score`, so they cannot disagree.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from kantkg.dates import LOCAL_TZ

FIELDS = ("title", "published", "author", "section", "paragraphs")
# Relative dates in fixtures ("вчера в 10:41") resolve against this fetch time.
FIXTURE_NOW = datetime(2026, 11, 25, 12, 0, tzinfo=LOCAL_TZ)


@dataclass(frozen=True)
class Fixture:
    name: str
    html: bytes
    expected: dict

    @property
    def fetched_url(self) -> str:
        return self.expected.get("fetched_url") or self.expected["url"]


def load_fixtures(directory: Path) -> list[Fixture]:
    fixtures = []
    for meta in sorted(directory.glob("*.json")):
        stem = meta.name.removesuffix(".json")
        page = directory / f"{stem}.html"
        data = (
            page.read_bytes()
            if page.exists()
            else gzip.decompress((directory / f"{stem}.html.gz").read_bytes())
        )
        fixtures.append(Fixture(stem, data, json.loads(meta.read_text(encoding="utf-8"))))
    return fixtures


def _same_instant(got: str | None, want: str | None) -> bool:
    if got is None or want is None:
        return got is want
    return datetime.fromisoformat(got) == datetime.fromisoformat(want)


def score(item: dict | None, expected: dict) -> dict[str, bool]:
    """field -> correct? For a non-article fixture: {"article": item is None}."""
    if not expected.get("article", True):
        return {"article": item is None}
    if item is None:
        return {"article": False} | dict.fromkeys(FIELDS, False)
    result = {"article": True}
    for name in FIELDS:
        got, want = item.get(name), expected.get(name)
        result[name] = _same_instant(got, want) if name == "published" else got == want
    result["url"] = item.get("canonical_url") == expected["url"]
    return result
