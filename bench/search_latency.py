"""Search latency and archive size on a synthetic archive, and indexing throughput.

    python bench/search_latency.py [--articles 200000] [--json FILE] [--fresh]

The archive is built from replica articles (realistic Russian text, 2-9 paragraphs)
through kantkg.archive -- row, stemmed FTS index and all -- so building it measures
indexing throughput. Only the writes are timed: the replica makes up each article's
text (~0.6 ms an article here), and that is no part of indexing, so items are made in
chunks outside the clock. Two write paths: `Batch`, what a crawl's archive pipeline
uses (savepoint per article, one commit per 100), and one transaction per article
(`upsert_article` alone, as reparse writes). The archive is kept in bench/results/ and
reused unless --fresh. Then 20 typical queries run `repeat` times each through
kantkg.archive.search (limit 10, snippets included): p50 and p95 over all runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kantkg import archive  # noqa: E402
from kantkg.replica import Corpus  # noqa: E402

QUERIES = [
    "Жапаров", "Путин", "Бишкек", "встреча Жапарова с Путиным", "налоги", "ЕАЭС", "Ош",
    "образование", "энергетика", "граница", "цены", "ремонт дорог", "новая школа",
    "Иссык-Куль", "выборы", "министр", '"ремонт дорог"', "инвестиции", "Кара-Балта",
    "таможенная служба",
]


CHUNK = 1000  # articles made at a time, outside the clock (memory stays flat)


def build(path: Path, articles: int, batched: bool = True) -> dict:
    """Write `articles` replica articles; -> articles/s over the write time only."""
    corpus = Corpus(articles, seed=2024, base_url="https://kant.kg")
    db = archive.open_archive(path)
    batch = archive.Batch(db) if batched else None
    took = 0.0
    for at in range(0, len(corpus.paths), CHUNK):
        items = [corpus.get(p).as_item() for p in corpus.paths[at:at + CHUNK]]
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
    return {"indexed": len(corpus), "seconds": took, "per_second": len(corpus) / took,
            "path": "Batch (crawl)" if batched else "one transaction per article"}


def measure(path: Path, repeat: int) -> dict:
    db = archive.open_archive(path)
    for query in QUERIES:  # warm the page cache: cron boxes search a warm file too
        archive.search(db, query, limit=10)
    times, hits = [], {}
    for query in QUERIES:
        for _ in range(repeat):
            start = time.perf_counter()
            found = archive.search(db, query, limit=10)
            times.append((time.perf_counter() - start) * 1e3)
        hits[query] = len(found)
    count = archive.count_articles(db)
    db.close()
    times.sort()
    size = path.stat().st_size
    return {"articles": count, "queries": len(QUERIES), "runs": len(times),
            "p50_ms": statistics.median(times), "p95_ms": times[int(0.95 * len(times)) - 1],
            "max_ms": times[-1], "db_bytes": size, "bytes_per_article": size / count,
            "hits": hits}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--fresh", action="store_true", help="Rebuild the archive.")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    path = ROOT / "bench" / "results" / f"synthetic-{args.articles}.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    result: dict = {}
    if args.fresh or not path.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        result["indexing"] = build(path, args.articles)
        print(f"indexed {result['indexing']['indexed']} articles at "
              f"{result['indexing']['per_second']:.0f}/s")
    result["search"] = measure(path, args.repeat)
    s = result["search"]
    print(f"{s['articles']} articles, {s['bytes_per_article']:.0f} bytes/article; "
          f"search p50 {s['p50_ms']:.1f} ms, p95 {s['p95_ms']:.1f} ms, max {s['max_ms']:.1f} ms")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
