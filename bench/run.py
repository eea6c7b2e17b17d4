"""`make bench`: every benchmark (issues #8, #19 and #21), one run, targets met or missed.

Writes bench/results/latest.json and bench/results/latest.md (machine info, a table of
target / measured / met; "(reported)" rows are figures shown beside a target, not
targets). The targets of issue #21 (item 5), and what measures each:

    incremental run, unchanged site     <= 10 requests, < 5 s      crawl() below
    peak RSS, backfill 50,000 / 5,000   <= 1.2x                    backfill_memory.py
    search, 200,000 articles            p95 < 50 ms,               search_latency.py
                                        the slowest query < 300 ms
    indexing, the crawl's Batch         >= 1,000 articles/s        search_latency.py
    kantkg reparse, 200,000 pages       >= 300 pages/s             reparse_speed.py
    crawl of 5,000, politeness off      >= 100 articles/s          crawl() below

and beside them: extraction quality on real pages (devsets.py), extraction time on the
replica's kant.kg markups (<= 2 ms a page, extract_speed.py), field accuracy against
trafilatura (accuracy.py), peak memory of a crawl against input bombs. Timings are
medians or best-of-N as each script says. Not a test: never run in CI.

    python bench/run.py [--quick]     # --quick: a smoke run, smaller sizes (crawls of
                                      # 500 and 2,000 articles, a 20,000-article archive)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]

import accuracy  # noqa: E402
import backfill_memory  # noqa: E402
import devsets  # noqa: E402
import extract_speed  # noqa: E402
import import_speed  # noqa: E402
import reparse_speed  # noqa: E402
import search_latency  # noqa: E402

from kantkg.archive.sqlite import sqlite3  # noqa: E402  the SQLite the archive runs on
from kantkg.extract.evaluate import load_fixtures  # noqa: E402

RESULTS = BENCH / "results"


def machine() -> dict:
    mem = ""
    if Path("/proc/meminfo").exists():
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split(":")[1].strip()
    cpu = platform.processor()
    if Path("/proc/cpuinfo").exists():
        names = [
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory": mem,
        "sqlite": f"{sqlite3.sqlite_version} ({sqlite3.__name__})",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": _commit(),
    }


def _commit() -> str:
    """The commit measured (with "+changes" when the tree differs from it), or "?"."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return head + ("+changes" if dirty.strip() else "")


# ----------------------------------------------------------------- extraction


def trafilatura_fields(html: bytes, url: str) -> dict | None:
    import trafilatura

    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True)
    if doc is None:
        return None
    get = (lambda k: getattr(doc, k, None)) if not isinstance(doc, dict) else doc.get
    text = get("text") or ""
    return {
        "title": get("title"),
        "author": get("author"),
        "published": get("date"),
        "paragraphs": [p for p in text.split("\n") if p],
    }


def extraction(repeat: int) -> dict:
    ours = extract_speed.measure(repeat)
    result = {
        "pages": ours["pages"],
        "median_ms": ours["median_extract_ms"],
        "groups": ours["groups"],
    }
    acc = accuracy.accuracy(ROOT / "tests" / "fixtures" / "pages")
    fields = ("title", "published", "author", "paragraphs")
    result["kantkg_accuracy"] = {
        f: acc["fields"][f]["right"] / acc["fields"][f]["pages"] for f in fields
    }
    try:
        import trafilatura  # noqa: F401
    except ImportError:
        result["trafilatura"] = "not installed (make bench installs it)"
        return result
    pages = extract_speed.pages()
    times = []
    for _name, data, url in pages:
        times.append(
            extract_speed.best_time(lambda d=data, u=url: trafilatura_fields(d, u), repeat) * 1e3
        )
    result["trafilatura_median_ms"] = statistics.median(times)
    result["speedup_vs_trafilatura"] = result["trafilatura_median_ms"] / result["median_ms"]
    right = dict.fromkeys(fields, 0)
    fixtures = [
        f
        for f in load_fixtures(ROOT / "tests" / "fixtures" / "pages")
        if f.expected.get("article", True)
    ]
    for fixture in fixtures:
        got = trafilatura_fields(fixture.html, fixture.fetched_url) or {}
        want = fixture.expected
        right["title"] += got.get("title") == want["title"]
        right["author"] += got.get("author") == want["author"]
        right["published"] += (got.get("published") or "")[:10] == want["published"][:10]
        right["paragraphs"] += got.get("paragraphs") == want["paragraphs"]
    result["trafilatura_accuracy"] = {f: n / len(fixtures) for f, n in right.items()}
    result["trafilatura_note"] = "trafilatura gives a date only: scored on the day"
    return result


# ---------------------------------------------------------------------- crawl


def start_replica(articles: int) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "kantkg", "replica", "--port", "0", "--articles", str(articles)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    return proc, proc.stdout.readline().strip()


CRAWL_RUNS = 3  # this host's speed drifts by ~30% within minutes: the median of three


def crawl(articles: int, runs: int = CRAWL_RUNS) -> dict:
    """`kantkg crawl --no-throttle` (politeness off) of a replica into a fresh archive,
    `runs` times: the median time. Then an incremental run on the last archive (the site
    unchanged): its time and requests."""
    replica, base = start_replica(articles)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            times = []
            for n in range(runs):
                db = Path(tmp) / f"kant{n}.db"
                argv = [
                    sys.executable,
                    "-m",
                    "kantkg",
                    "crawl",
                    "--base-url",
                    base,
                    "--db",
                    str(db),
                    "--no-throttle",
                    "--quiet",
                ]
                start = time.perf_counter()
                subprocess.run(argv, cwd=ROOT, check=True)
                times.append(time.perf_counter() - start)
            with sqlite3.connect(db) as conn:
                archived = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
            start = time.perf_counter()
            subprocess.run(argv, cwd=ROOT, check=True)
            again = time.perf_counter() - start
            with sqlite3.connect(db) as conn:
                requests, article_requests = conn.execute(
                    "SELECT requests, article_requests FROM crawls ORDER BY id DESC LIMIT 1"
                ).fetchone()
    finally:
        replica.terminate()
        replica.wait()
    seconds = statistics.median(times)
    return {
        "articles": archived,
        "seconds": seconds,
        "runs": times,
        "articles_per_second": archived / seconds,
        "unchanged_seconds": again,
        "unchanged_requests": requests,
        "unchanged_article_requests": article_requests,
    }


# ----------------------------------------------------------------------- main


def table(r: dict) -> list[tuple[str, str, str, bool | None]]:
    ex, cr, mem, se, ix, rp = (
        r["extraction"],
        r["crawl"],
        r["memory"],
        r["search"],
        r["indexing"],
        r["reparse"],
    )
    rows = devsets_rows(r.get("devsets") or {})
    replica = ex["groups"]["replica"]
    rows.append(
        (
            "extraction, kant.kg layouts (the replica's markups): median a page",
            "≤ 2 ms",
            f"{replica['median_extract_ms']:.2f} ms ({replica['pages']} markups)",
            replica["median_extract_ms"] <= 2,
        )
    )
    if "trafilatura_accuracy" in ex:
        ours, theirs = ex["kantkg_accuracy"], ex["trafilatura_accuracy"]
        rows.append(
            (
                "field accuracy, fixtures (kantkg / trafilatura)",
                "every field 100%, and equal or better",
                ", ".join(f"{f} {ours[f]:.0%}/{theirs[f]:.0%}" for f in ours),
                all(ours[f] == 1 and ours[f] >= theirs[f] for f in ours),
            )
        )
    small, large = mem[0], mem[-1]
    rss_ratio = large["peak_rss_mb"] / small["peak_rss_mb"]
    rows += [
        (
            "incremental run, unchanged site: requests",
            "≤ 10",
            f"{cr['unchanged_requests']} ({cr['unchanged_article_requests']} articles)",
            cr["unchanged_requests"] <= 10,
        ),
        (
            "incremental run, unchanged site: wall time",
            "< 5 s",
            f"{cr['unchanged_seconds']:.1f} s",
            cr["unchanged_seconds"] < 5,
        ),
        (
            f"peak RSS, backfill {large['articles']} vs {small['articles']} articles",
            "≤ 1.2×",
            f"{large['peak_rss_mb']:.0f} MB vs {small['peak_rss_mb']:.0f} MB = {rss_ratio:.2f}×",
            rss_ratio <= 1.2,
        ),
    ]
    rows += search_rows(se)
    batched, per_article, pages = ix["batched"], ix["per_article"], ix["batched_pages"]
    rows += [
        (
            f"indexing, {batched['indexed']} articles (row + stemmed FTS): the crawl's write "
            "path (archive.Batch, a commit per 100)",
            "≥ 1,000 articles/s",
            f"{batched['per_second']:.0f}/s",
            batched["per_second"] >= 1000,
        ),
        (
            "  … the same, one transaction per article",
            "(reported)",
            f"{per_article['per_second']:.0f}/s",
            None,
        ),
        (
            "  … the same through Batch with the raw page too (as a crawl stores it)",
            "(reported)",
            f"{pages['per_second']:.0f}/s",
            None,
        ),
        (
            f"kantkg reparse of a whole {rp['pages']}-page archive (the CLI, wall time)",
            "≥ 300 pages/s",
            f"{rp['pages_per_second']:.0f} pages/s ({rp['seconds']:.0f} s wall: "
            f"{rp['outcomes']}; peak RSS {rp['peak_rss_mb']:.0f} MB)",
            rp["pages_per_second"] >= 300,
        ),
        (
            f"crawl of {cr['articles']} articles, politeness off",
            "≥ 100 articles/s",
            f"{cr['articles_per_second']:.0f}/s (median of "
            + ", ".join(f"{t:.1f}" for t in cr["runs"])
            + " s)",
            cr["articles_per_second"] >= 100,
        ),
    ]
    return rows + import_rows(r.get("import") or {}) + bomb_rows(r.get("bombs") or {})


def import_rows(im: dict) -> list[tuple[str, str, str, bool | None]]:
    """`import --warc` throughput (import_speed.py) and a capture's bytes, raw / stored."""
    if "records_per_second" not in im:
        return []
    st = im["storage"]
    zstd = (
        f"; zstd with a {st['zstd_dict_size'] // 1024} KB trained dictionary "
        f"{st['zstd_dict_bytes_per_article']:.0f} "
        f"(without one {st['zstd_plain_bytes_per_article']:.0f})"
        if "zstd_dict_bytes_per_article" in st
        else f"; zstd: {st.get('zstd', 'not measured')}"
    )
    return [
        (
            f"import --warc, {im['records']} records into an empty archive (extraction included)",
            "≥ 200 records/s",
            f"{im['records_per_second']:.0f} records/s ({im['seconds']:.1f} s)",
            im["records_per_second"] >= 200,
        ),
        (
            "bytes per article, captures' bodies: raw / stored (zlib)",
            "(reported)",
            f"{st['raw_bytes_per_article']:.0f} / {st['zlib_bytes_per_article']:.0f}{zstd}",
            None,
        ),
    ]


def search_rows(se: dict) -> list[tuple[str, str, str, bool | None]]:
    """p95 of the typical queries; the slowest of all measured queries, the word in every
    article included (each by the median of its runs)."""
    shares, worst = se["matching_share"].values(), se["worst_case"]
    medians = {**se["median_ms"], worst["query"]: worst["median_ms"]}
    slowest = max(medians, key=medians.get)
    measured = f"«{slowest}» {medians[slowest]:.1f} ms"
    if slowest != worst["query"]:
        measured += (
            f" (matches {se['matching_share'][slowest]:.0%}); «{worst['query']}» "
            f"{worst['median_ms']:.1f} ms"
        )
    return [
        (
            f"search p95, {se['articles']} articles, {se['queries']} queries (each the median "
            f"of its {se['runs'] // se['queries']} runs)",
            "< 50 ms",
            f"p50 {se['p50_ms']:.1f} ms, p95 {se['p95_ms']:.1f} ms (each query matches "
            f"{min(shares):.0%}–{max(shares):.0%} of the articles)",
            se["p95_ms"] < 50,
        ),
        (
            f"search, the slowest query: of those {se['queries']} and «{worst['query']}», a word "
            f"in {worst['matching_share']:.0%} of the articles (each the median of its runs)",
            "< 300 ms",
            measured,
            medians[slowest] < 300,
        ),
        (
            f"search, all {se['runs']} runs of the {se['queries']} queries pooled",
            "(reported)",
            f"p50 {se['runs_p50_ms']:.1f} ms, p95 {se['runs_p95_ms']:.1f} ms, "
            f"max {se['max_ms']:.1f} ms",
            None,
        ),
        (
            "archive size per article (raw page included)",
            "(reported)",
            f"{se['bytes_per_article']:.0f} bytes",
            None,
        ),
    ]


# Before issue 20: 1.9 MB of .xml.gz sitemaps took 3.46 GB, file:///dev/zero 1.7 GB.
BOMB_MAX_MB = 512


def bomb_rows(b: dict) -> list[tuple[str, str, str, bool | None]]:
    """Peak memory of a crawl against each input bomb, against the same crawl without."""
    if "none" not in b:
        return []
    plain = b["none"]
    rows = [
        (
            f"peak RSS, crawl of {plain['articles']} articles, no fault",
            "(reported)",
            f"{plain['peak_rss_mb']:.0f} MB, {plain['seconds']:.1f} s, exit {plain['exit_code']}",
            None,
        )
    ]
    for name, m in b.items():
        if name == "none":
            continue
        ratio = m["peak_rss_mb"] / plain["peak_rss_mb"]
        rows.append(
            (
                f"peak RSS, same crawl against {name}",
                f"ends, < {BOMB_MAX_MB} MB",
                f"{m['peak_rss_mb']:.0f} MB = {ratio:.2f}× the plain crawl, "
                f"{m['seconds']:.1f} s, exit {m['exit_code']}, {m['archived']} archived",
                m["peak_rss_mb"] < BOMB_MAX_MB,
            )
        )
    return rows


def devsets_rows(d: dict) -> list[tuple[str, str, str, bool | None]]:
    """Quality on real pages (bench/devsets.py), kantkg beside the libraries."""
    if "aeb" not in d:
        return [
            (
                "real pages (development sets)",
                "F1 ≥ 0.97, days ≥ 0.95",
                d.get("missing", "not measured"),
                None,
            )
        ]
    aeb, days = d["aeb"], d["dates"]
    ours, traf = aeb["kantkg"], aeb["trafilatura"]
    traf_text = (
        f"trafilatura F1 {traf['f1']:.3f} (P {traf['precision']:.3f}, R {traf['recall']:.3f})"
        if isinstance(traf, dict)
        else f"trafilatura {traf}"
    )
    rows = [
        (
            f"Article Extraction Benchmark, {aeb['pages']} real pages: body F1 (its evaluate.py)",
            "≥ 0.97, P and R ≥ 0.95, a body on every page",
            f"kantkg F1 {ours['f1']:.3f} (P {ours['precision']:.3f}, R {ours['recall']:.3f}, "
            f"{ours['without_body']} without body); {traf_text}",
            ours["f1"] >= 0.97
            and ours["precision"] >= 0.95
            and ours["recall"] >= 0.95
            and ours["without_body"] == 0,
        )
    ]
    rows += [
        (
            f"  … pages whose body came from layer «{layer}»",
            "(reported)",
            f"{s['pages']} pages, F1 {s['f1']:.3f}",
            None,
        )
        for layer, s in ours["layers"].items()
    ]
    if isinstance(traf, dict):
        ratio = ours["seconds"] / traf["seconds"]
        rows.append(
            (
                "extraction time on those pages (the generic path) / trafilatura's",
                "≤ 3×",
                f"{ours['seconds']:.1f} s / {traf['seconds']:.1f} s = {ratio:.2f}×",
                ratio <= 3,
            )
        )
    theirs = ", ".join(
        f"{name} {days[name]['accuracy']:.3f}"
        for name in ("htmldate", "trafilatura")
        if isinstance(days.get(name), dict)
    )
    rows.append(
        (
            f"htmldate-news, {days['pages']} real pages: publication day right",
            "≥ 0.95",
            f"kantkg {days['kantkg']['accuracy']:.3f}; {theirs}",
            days["kantkg"]["accuracy"] >= 0.95,
        )
    )
    return rows


def markdown(r: dict) -> str:
    m = r["machine"]
    lines = [
        "# kantkg benchmarks",
        "",
        f"{m['date']} · commit {m.get('commit', '?')} · {m['cpu']} ({m['cpus']} CPUs)"
        f" · {m['memory']} · Python "
        f"{m['python']} · SQLite {m['sqlite']} · {m['platform']}",
        "",
        "| benchmark | target | measured | met |",
        "|---|---|---|---|",
    ]
    for name, target, measured, met in table(r):
        mark = "—" if met is None else ("met" if met else "**missed**")
        lines.append(f"| {name} | {target} | {measured} | {mark} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Small sizes: a smoke run.")
    args = parser.parse_args()
    small, large, archive_size = (500, 2000, 20000) if args.quick else (5000, 50000, 200000)
    result: dict = {"machine": machine(), "quick": args.quick}
    print("extraction ...", file=sys.stderr)
    result["extraction"] = extraction(repeat=5 if args.quick else 25)
    print("development sets (real pages) ...", file=sys.stderr)
    result["devsets"] = devsets.measure()
    print("crawl, incremental ...", file=sys.stderr)
    result["crawl"] = crawl(small)
    print("backfill memory ...", file=sys.stderr)
    result["memory"] = [backfill_memory.backfill(small), backfill_memory.backfill(large)]
    print("hostile servers: peak memory ...", file=sys.stderr)
    result["bombs"] = backfill_memory.bombs()
    print("indexing ...", file=sys.stderr)
    result["indexing"] = {}
    for name, batched, pages in (
        ("batched", True, False),
        ("per_article", False, False),
        ("batched_pages", True, True),
    ):
        with tempfile.TemporaryDirectory() as tmp:
            result["indexing"][name] = search_latency.build(
                Path(tmp) / "index.db", min(20000, large), batched, pages
            )
    print("search ...", file=sys.stderr)
    path, _ = search_latency.synthetic_archive(archive_size)
    result["search"] = search_latency.measure(path, repeat=5)
    print("reparse ...", file=sys.stderr)
    result["reparse"] = reparse_speed.measure(path)
    print("import --warc ...", file=sys.stderr)
    result["import"] = import_speed.measure(500 if args.quick else 2000)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
    (RESULTS / "latest.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
