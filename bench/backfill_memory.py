"""Peak memory (RSS) of a whole-site backfill: 5,000 vs 50,000 articles (target: the
larger at most 1.2x the smaller); and of a small crawl against each input bomb.

    python bench/backfill_memory.py [--sizes 5000 50000] [--json FILE]

For each size: a replica in its own process (`kantkg replica`), then `kantkg crawl` into
a fresh archive, run under a small wrapper process (PEAK_RSS) so that its peak RSS is
measured alone (getrusage of the wrapper's children: the largest of the crawl and its
extraction worker). Also reports articles/s. `bombs()` (bench/run.py calls it) does the
same for a 200-article crawl, plain and against each hostile server of BOMBS.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kantkg.archive.sqlite import sqlite3  # noqa: E402  the SQLite the archive runs on

# `python -c PEAK_RSS argv...` runs argv, then prints its peak RSS in KB (of the largest
# process among it and the processes it waited for) and its exit code.
PEAK_RSS = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)\n"
)


def measured_crawl(size: int, faults: tuple[str, ...] = ()) -> dict:
    """`kantkg crawl` of a fresh replica of `size` articles (with these faults) into a
    fresh archive: its peak RSS alone, time, exit code and articles archived."""
    replica = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kantkg",
            "replica",
            "--port",
            "0",
            "--articles",
            str(size),
            *(f"--fault={fault}" for fault in faults),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        base_url = replica.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "kant.db"
            crawl = [
                sys.executable,
                "-m",
                "kantkg",
                "crawl",
                "--base-url",
                base_url,
                "--db",
                str(db),
                "--no-throttle",
                "--quiet",
            ]
            start = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-c", PEAK_RSS, *crawl],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
            took = time.perf_counter() - start
            peak_kb, code = out.stdout.split()
            with sqlite3.connect(db) as conn:
                archived = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    finally:
        replica.terminate()
        replica.wait()
    return {
        "articles": size + 1,
        "archived": archived,
        "exit_code": int(code),
        "peak_rss_mb": int(peak_kb) / 1024,
        "seconds": took,
        "articles_per_second": archived / took,
        "faults": list(faults),
    }


def backfill(size: int) -> dict:
    return measured_crawl(size)


# Input bombs a hostile server can serve (kantkg/replica/faults.py): the crawl's peak
# memory against each, beside the same crawl without it.
BOMBS = {
    "gzip-bomb sitemaps (200 MB each unpacked)": ("gzip-bomb=200:post-sitemap",),
    "robots.txt Sitemap: file:///dev/zero": ("robots-sitemap=file%3A///dev/zero",),
    "sitemap index listing itself, endlessly": ("index-self",),
    "an article of 1,000,000 <p>": (r"junk-paragraphs=1000000:^/2021-05-25/",),
    "1,000 cookies of 4 KB on every answer": ("cookies=1000,4096:all",),
}


def bombs(size: int = 200) -> dict:
    result = {"none": measured_crawl(size)}
    for name, faults in BOMBS.items():
        result[name] = measured_crawl(size, faults)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 50000])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = []
    for size in args.sizes:
        result = backfill(size)
        results.append(result)
        print(
            f"{result['articles']} articles: archived {result['archived']} in "
            f"{result['seconds']:.0f} s ({result['articles_per_second']:.0f}/s), "
            f"peak RSS {result['peak_rss_mb']:.0f} MB, exit {result['exit_code']}"
        )
    if len(results) >= 2:
        ratio = results[-1]["peak_rss_mb"] / results[0]["peak_rss_mb"]
        print(f"peak RSS ratio {results[-1]['articles']} / {results[0]['articles']}: {ratio:.2f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
