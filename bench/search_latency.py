"""Search latency and archive size on a synthetic archive, and indexing throughput.

    python bench/search_latency.py [--articles 200000] [--json FILE] [--fresh]

The archive is built from replica articles (realistic Russian text, 2-9 paragraphs)
through kantkg.archive -- row, stemmed FTS index and raw page -- so building it measures
indexing throughput. Each article is stored as a crawl stores it: the replica's perfect
extraction of it and the raw page the replica server serves for it (in its markup, one of
five), which `kantkg reparse` reads (bench/reparse_speed.py). Only the writes are timed:
the replica makes up each article's text and page (~1.5 ms an article here), and that is
no part of indexing, so items are made in chunks outside the clock. Two write paths:
`Batch`, what a crawl's archive pipeline uses (a savepoint per article; index rows and
one commit per 100), and one transaction per article (`upsert_article` alone); with the
raw page or without (the row and the search index alone). The archive is kept in
bench/results/ and reused unless --fresh (its name carries a fingerprint of the first
articles, their pages and the schema version, so a changed generator, renderer or schema
builds a new one). Then 20 typical queries run `repeat` times each through
kantkg.archive.search (limit 10, snippets included): p50 and p95 of the queries' times,
each the median of its runs, with the share of articles each query matches; and the
worst case, a word in every article, run as often (the slowest of all the queries is a
target of its own in bench/run.py). Reported beside them: p50/p95 over all runs pooled.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kantkg import archive  # noqa: E402
from kantkg.archive import textsearch  # noqa: E402
from kantkg.items import Capture  # noqa: E402
from kantkg.replica import MARKUPS, Corpus  # noqa: E402
from kantkg.replica.server import Site  # noqa: E402

QUERIES = [
    "Жапаров",
    "Путин",
    "Бишкек",
    "встреча Жапарова с Путиным",
    "налоги",
    "ЕАЭС",
    "Ош",
    "образование",
    "энергетика",
    "граница",
    "цены",
    "ремонт дорог",
    "новая школа",
    "Иссык-Куль",
    "выборы",
    "министр",
    '"ремонт дорог"',
    "инвестиции",
    "Кара-Балта",
    "таможенная служба",
]

# In every paragraph the replica writes («показатель составил ...»): the most rows a
# query can rank.
WORST_CASE = "показатель"
SEED = 2024
RESULTS = ROOT / "bench" / "results"

CHUNK = 1000  # articles made at a time, outside the clock (memory stays flat)
FETCHED_AT = "2026-07-01T00:00:00+00:00"  # after the replica's last publication day


def archive_path(articles: int) -> Path:
    """Where the synthetic archive of `articles` is kept: articles depend only on (seed,
    index), so the first few, items and raw pages (every markup), stand for the versions
    of the generator and of the renderer; with the archive's schema version and the rule
    its search index is written by (a new schema or index rule is a fresh build, its
    indexing measured, not an old file migrated or reindexed on open)."""
    sample = Corpus(20, seed=SEED, base_url="https://kant.kg")
    items = crawled_items(sample, sample.paths)
    assert {truth.markup for truth in sample.all()} == set(MARKUPS)
    version = (archive.SCHEMA_VERSION, textsearch.index_rule(), items)
    fingerprint = hashlib.sha1(repr(version).encode()).hexdigest()[:10]
    return RESULTS / f"synthetic-{articles}-{fingerprint}.db"


def synthetic_archive(articles: int, fresh: bool = False) -> tuple[Path, dict | None]:
    """The kept archive of `articles` and, if it had to be built, build's figures. Copies
    made by other versions of the generator are removed (each is ~1.7 GB at 200k)."""
    path = archive_path(articles)
    path.parent.mkdir(parents=True, exist_ok=True)
    kept = [
        *path.parent.glob(f"synthetic-{articles}.db*"),  # (before fingerprints)
        *path.parent.glob(f"synthetic-{articles}-*.db*"),
    ]
    for old in kept:
        if fresh or not old.name.startswith(path.name):
            old.unlink()
    if path.exists():
        return path, None
    partial = path.with_name(path.name + ".partial")  # an interrupted build is never kept
    for leftover in path.parent.glob(partial.name + "*"):
        leftover.unlink()
    built = build(partial, articles)
    partial.rename(path)
    return path, built


def crawled_items(corpus: Corpus, paths: list[str]) -> list[dict]:
    """These articles as a crawl hands them to the archive: the replica's perfect
    extraction (`as_item`) with the capture of the page the replica server serves for it
    (its markup, its charset, as received), its headers and a fixed fetch time after
    every publication date."""
    site = Site(corpus, corpus.base_url)
    items = []
    for path in paths:
        truth = corpus.get(path)
        page = site.article(truth)
        headers = [("Content-Type", page.content_type), *page.headers.items()]
        capture = Capture(corpus.base_url + path, FETCHED_AT, page.status, headers, page.body)
        items.append({**truth.as_item(), "capture": capture})
    return items


def build(path: Path, articles: int, batched: bool = True, pages: bool = True) -> dict:
    """Write `articles` replica articles, with their raw pages unless not `pages` (the
    row and the search index alone); -> articles/s over the write time only."""
    corpus = Corpus(articles, seed=SEED, base_url="https://kant.kg")
    db = archive.open_archive(path)
    batch = archive.Batch(db) if batched else None
    took = 0.0
    for at in range(0, len(corpus.paths), CHUNK):
        chunk = corpus.paths[at : at + CHUNK]
        items = crawled_items(corpus, chunk) if pages else [corpus.get(p).as_item() for p in chunk]
        start = time.perf_counter()
        for item in items:
            if batch is None:
                archive.upsert_article(db, item)
                continue
            batch.upsert(item)
            if batch.due:
                batch.commit()
        if batch is not None:
            batch.commit()
        took += time.perf_counter() - start
        done = at + len(items)
        if done % 20000 == 0:
            print(f"  indexed {done} articles, {done / took:.0f}/s", file=sys.stderr)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return {
        "indexed": len(corpus),
        "seconds": took,
        "per_second": len(corpus) / took,
        "path": "Batch (crawl)" if batched else "one transaction per article",
        "pages": pages,
    }


def _timed(db, query: str, repeat: int) -> tuple[list[float], int]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        found = archive.search(db, query, limit=10)
        times.append((time.perf_counter() - start) * 1e3)
    return times, len(found)


def _matching(db, query: str) -> int:
    match = textsearch.parse_query(query).match
    return db.execute(
        "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?", [match]
    ).fetchone()[0]


def _percentile(ordered: list[float], percent: int) -> float:
    """Nearest rank: the smallest value with `percent` % of the values at or below it."""
    return ordered[-(-len(ordered) * percent // 100) - 1]


def measure(path: Path, repeat: int) -> dict:
    # A fresh build (or the indexing benchmark before) leaves up to ~1.7 GB of dirty pages
    # that the kernel writes back while the queries run: flush them first.
    os.sync()
    db = archive.open_archive(path)
    for query in [*QUERIES, WORST_CASE]:  # warm the page cache: cron boxes search a warm file
        archive.search(db, query, limit=10)
    times, hits, share, medians = [], {}, {}, {}
    count = archive.count_articles(db)
    for query in QUERIES:
        runs, hits[query] = _timed(db, query, repeat)
        times += runs
        medians[query] = statistics.median(runs)
        share[query] = _matching(db, query) / count
    worst, _ = _timed(db, WORST_CASE, repeat)
    worst_share = _matching(db, WORST_CASE) / count
    db.close()
    times.sort()
    # The p50/p95 "of 20 typical queries", each query's time the median of its
    # runs (as every timing here); p95 by nearest rank: the 19th of 20, the 2nd slowest.
    per_query = sorted(medians.values())
    size = path.stat().st_size
    return {
        "articles": count,
        "queries": len(QUERIES),
        "runs": len(times),
        "p50_ms": statistics.median(per_query),
        "p95_ms": _percentile(per_query, 95),
        "runs_p50_ms": statistics.median(times),
        "runs_p95_ms": _percentile(times, 95),
        "max_ms": times[-1],
        "db_bytes": size,
        "bytes_per_article": size / count,
        "hits": hits,
        "matching_share": share,
        "median_ms": medians,
        "worst_case": {
            "query": WORST_CASE,
            "matching_share": worst_share,
            "median_ms": statistics.median(worst),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--fresh", action="store_true", help="Rebuild the archive.")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    path, built = synthetic_archive(args.articles, args.fresh)
    result: dict = {}
    if built:
        result["indexing"] = built
        print(
            f"indexed {result['indexing']['indexed']} articles at "
            f"{result['indexing']['per_second']:.0f}/s"
        )
    result["search"] = measure(path, args.repeat)
    s = result["search"]
    print(
        f"{s['articles']} articles, {s['bytes_per_article']:.0f} bytes/article; search "
        f"(query medians) p50 {s['p50_ms']:.1f} ms, p95 {s['p95_ms']:.1f} ms; all runs p50 "
        f"{s['runs_p50_ms']:.1f} ms, p95 {s['runs_p95_ms']:.1f} ms, max {s['max_ms']:.1f} ms"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
