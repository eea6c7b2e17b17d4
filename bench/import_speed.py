"""`import --warc` throughput, and what a capture costs to store.

    python bench/import_speed.py [--articles 2000] [--json FILE]

The WARC file is built from the replica's pages (every markup, each article's page as
the replica server serves it), written with warcio as Common Crawl writes it: gzip per
record, a request and a response record an article. Timed: `import_warc` of that file
into an empty archive, in process (extraction, dates, paragraphs, the article's upsert
and its capture, one transaction a record); records/s = response records / seconds.

Storage: the captures' bodies as received (raw) against as stored (zlib, the archive's
codec), a byte count an article; beside them zstd with a dictionary trained on 200 of the
site's pages (if the `zstandard` package is installed: measured here only, not used by
the archive), the dictionary's own size spread over the articles.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]

from warcio.statusandheaders import StatusAndHeaders  # noqa: E402
from warcio.warcwriter import WARCWriter  # noqa: E402

from kantkg import archive  # noqa: E402
from kantkg.archive.captures import decode_body  # noqa: E402
from kantkg.crawl.warc_import import import_warc  # noqa: E402
from kantkg.replica.corpus import Corpus  # noqa: E402
from kantkg.replica.server import Site  # noqa: E402

BASE = "http://kant.test"
DICT_SAMPLES = 200
DICT_SIZE = 64 * 1024


def build_warc(path: Path, articles: int) -> int:
    """The replica's article pages as a WARC file; -> response records written."""
    site = Site(Corpus(articles, seed=1, base_url=BASE), BASE)
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=True, warc_version="1.0")
        truths = site.corpus.all()
        for n, truth in enumerate(truths):
            page = site.article(truth)
            date = f"2024-03-01T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z"
            request = StatusAndHeaders(
                f"GET {truth.path} HTTP/1.1", [("Host", "kant.test")], is_http_request=True
            )
            writer.write_record(
                writer.create_warc_record(
                    truth.url,
                    "request",
                    http_headers=request,
                    warc_headers_dict={"WARC-Date": date},
                )
            )
            headers = [("Content-Type", page.content_type), *page.headers.items()]
            writer.write_record(
                writer.create_warc_record(
                    truth.url,
                    "response",
                    payload=io.BytesIO(page.body),
                    length=len(page.body),
                    http_headers=StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1"),
                    warc_headers_dict={"WARC-Date": date},
                )
            )
    return len(truths)


def storage(db) -> dict:
    """Bytes an article: raw, zlib as stored, zstd with a trained dictionary."""
    rows = db.execute(
        "SELECT body, codec FROM captures WHERE body IS NOT NULL ORDER BY id"
    ).fetchall()
    articles = db.execute("SELECT count(*) FROM articles").fetchone()[0]
    raw = [decode_body(blob, codec) for blob, codec in rows]
    result = {
        "articles": articles,
        "raw_bytes_per_article": sum(map(len, raw)) / articles,
        "zlib_bytes_per_article": sum(len(blob) for blob, _ in rows) / articles,
    }
    try:
        import zstandard  # type: ignore[import-not-found]
    except ImportError:
        result["zstd"] = "zstandard not installed"
        return result
    trained = zstandard.train_dictionary(DICT_SIZE, raw[:DICT_SAMPLES])
    packer = zstandard.ZstdCompressor(level=6, dict_data=trained)
    packed = sum(len(packer.compress(body)) for body in raw)
    result["zstd_dict_bytes_per_article"] = (packed + len(trained.as_bytes())) / articles
    result["zstd_dict_size"] = len(trained.as_bytes())
    plain = zstandard.ZstdCompressor(level=6)
    result["zstd_plain_bytes_per_article"] = sum(len(plain.compress(b)) for b in raw) / articles
    return result


def measure(articles: int = 2000) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        warc = Path(tmp) / "replica.warc.gz"
        records = build_warc(warc, articles)
        db = archive.open_archive(Path(tmp) / "import.db")
        start = time.perf_counter()
        counts = import_warc(db, [warc], base_url=BASE)
        seconds = time.perf_counter() - start
        result = {
            "records": records,
            "seconds": seconds,
            "records_per_second": records / seconds,
            "warc_bytes": warc.stat().st_size,
            "outcomes": dict(counts),
            "storage": storage(db),
        }
        db.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = measure(args.articles)
    s = result["storage"]
    print(
        f"import --warc of {result['records']} records: {result['seconds']:.1f} s, "
        f"{result['records_per_second']:.0f} records/s ({result['outcomes']}); a capture "
        f"{s['raw_bytes_per_article']:.0f} bytes raw, {s['zlib_bytes_per_article']:.0f} zlib, "
        f"zstd+dict {s.get('zstd_dict_bytes_per_article', s.get('zstd'))}"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
