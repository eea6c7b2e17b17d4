"""Extraction time per page: kantkg.extract_article.

    python bench/extract_speed.py [--repeat 25] [--json FILE]

Pages: the fixture corpus plus one replica page per markup (rendered in-process, no
network). Each of `repeat` rounds times every page once (rounds rather than one page
`repeat` times in a row, so that the machine's drift -- these are shared, noisy
machines -- falls on every page alike). Per page the best round is taken (least noise),
then the median over pages: of all, of the fixtures, of the replica's markups (the
kant.kg layouts, the target's group).
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

from kantkg import extract_article  # noqa: E402
from kantkg.extract.evaluate import FIXTURE_NOW, load_fixtures  # noqa: E402
from kantkg.replica import Corpus  # noqa: E402
from kantkg.replica.render import article_page  # noqa: E402


def pages() -> list[tuple[str, bytes, str]]:
    found = [
        (f.name, f.html, f.fetched_url)
        for f in load_fixtures(ROOT / "tests" / "fixtures" / "pages")
    ]
    corpus = Corpus(200, seed=1, base_url="https://kant.kg")
    seen = set()
    for truth in corpus.all():
        if truth.markup not in seen:
            seen.add(truth.markup)
            related = [(p, corpus.meta(p)["title"]) for p in corpus.paths[:5]]
            found.append(
                (
                    f"replica_{truth.markup}",
                    article_page(truth, corpus.base_url, related)[0],
                    truth.url,
                )
            )
    return found


def best_time(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def measure(repeat: int) -> dict:
    extract_article(b"<html><body><p>warm up dateparser</p></body></html>", "https://kant.kg/")
    found = pages()
    ours = [float("inf")] * len(found)
    for _ in range(repeat):
        for n, (_name, data, url) in enumerate(found):
            ours[n] = min(
                ours[n], best_time(lambda d=data, u=url: extract_article(d, u, now=FIXTURE_NOW), 1)
            )
    rows = [
        {"page": name, "bytes": len(data), "extract_ms": ours[n] * 1e3}
        for n, (name, data, _url) in enumerate(found)
    ]
    groups = {}
    for group, pick in (
        ("fixtures", lambda r: not r["page"].startswith("replica_")),
        ("replica", lambda r: r["page"].startswith("replica_")),
    ):
        chosen = [r for r in rows if pick(r)]
        groups[group] = {
            "pages": len(chosen),
            "median_extract_ms": statistics.median(r["extract_ms"] for r in chosen),
        }
    return {
        "pages": len(rows),
        "median_extract_ms": statistics.median(r["extract_ms"] for r in rows),
        "groups": groups,
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=25)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = measure(args.repeat)
    print(
        f"{result['pages']} pages: extract_article median {result['median_extract_ms']:.2f} ms"
        " ("
        + ", ".join(
            f"{name} {g['median_extract_ms']:.2f} ms of {g['pages']}"
            for name, g in result["groups"].items()
        )
        + ")"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
