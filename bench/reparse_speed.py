"""Reparse throughput: `kantkg reparse` of a whole synthetic archive, as a user runs it.

    python bench/reparse_speed.py [--articles 200000] [--json FILE]

The archive is search_latency's kept synthetic archive (built on first use, raw pages
included: each article's page as the replica server serves it, in its markup of the
five). Reparse writes (last_seen, and revisions when extraction changed), so it runs on
a copy, leaving the kept archive as it was. Timed: `python -m kantkg reparse --db COPY`,
start to exit, wall clock (what the user waits on: startup and worker processes
included); pages/s = the pages it reports / those seconds. Also its peak RSS (the
largest of its processes) and what it reports (unchanged, updated, ...).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]

import search_latency  # noqa: E402
from backfill_memory import PEAK_RSS  # noqa: E402

REPORT = re.compile(r"^reparsed (\d+) pages: (.*)$", re.MULTILINE)


def measure(path: Path) -> dict:
    """`kantkg reparse` of a copy of the archive at `path`."""
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:  # (same disk: a quick copy)
        copy = Path(tmp) / "reparse.db"
        for suffix in ("", "-wal"):
            if Path(f"{path}{suffix}").exists():
                shutil.copyfile(f"{path}{suffix}", f"{copy}{suffix}")
        os.sync()  # the copy's dirty pages are no part of reparse
        argv = [sys.executable, "-m", "kantkg", "reparse", "--db", str(copy)]
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", PEAK_RSS, *argv],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        took = time.perf_counter() - start
    peak_kb, code = out.stdout.splitlines()[-1].split()  # (PEAK_RSS prints last)
    report = REPORT.search(out.stdout)
    if int(code) != 0 or report is None:
        raise RuntimeError(f"kantkg reparse failed (exit {code}): {out.stdout}{out.stderr}")
    pages = int(report.group(1))
    return {
        "pages": pages,
        "seconds": took,
        "pages_per_second": pages / took,
        "outcomes": report.group(2),
        "peak_rss_mb": int(peak_kb) / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=200_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    path, _ = search_latency.synthetic_archive(args.articles)
    result = measure(path)
    print(
        f"reparse of {result['pages']} pages: {result['seconds']:.1f} s, "
        f"{result['pages_per_second']:.0f} pages/s ({result['outcomes']}), peak RSS "
        f"{result['peak_rss_mb']:.0f} MB"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
