"""Quality on real pages nobody here wrote: the development sets, kantkg beside the
libraries it is measured against, in one run.

    python bench/devsets.py [--json FILE]

- Article Extraction Benchmark (181 news pages, expected article bodies): F1 / precision /
  recall with the benchmark's own `evaluate.py` (loaded from the set at run time), pages
  without a body, seconds; kantkg and trafilatura (`bare_extraction`), plus kantkg's
  scores split by the layer that gave the body.
- htmldate-news (195 news pages, expected publication days): share of pages whose
  `published` day is right; kantkg, htmldate (`find_date`, extensive) and trafilatura.

The sets are read from $KANT_DEVSETS, else ../shared/devsets beside the project; where
neither exists the result says so. They are development sets: no test depends on them
and nothing of them is copied into the project.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import importlib.util
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kantkg import extract_article  # noqa: E402

AEB = "article-extraction-benchmark"
DATES = "htmldate-news"


def devsets_dir() -> Path | None:
    for candidate in (os.environ.get("KANT_DEVSETS"), ROOT.parent / "shared" / "devsets"):
        if candidate and Path(candidate, AEB, "ground-truth.json").is_file():
            return Path(candidate)
    return None


def _gunzip(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes())


def _metric(aeb: Path):
    spec = importlib.util.spec_from_file_location("aeb_evaluate", aeb / "evaluate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _trafilatura_text(html: bytes, url: str) -> str:
    import trafilatura

    doc = trafilatura.bare_extraction(html.decode("utf-8", "replace"), url=url, with_metadata=False)
    return (getattr(doc, "text", None) or "") if doc is not None else ""


def _kantkg_text(html: bytes, url: str) -> tuple[str, str]:
    item = extract_article(html, url)
    if item is None:
        return "", "not an article"
    return "\n".join(item["paragraphs"]), item["method"].get("paragraphs", "none")


def _summary(metric, scores: list) -> dict:
    """F1/P/R of a group of pages (the metric cannot score a group whose predictions
    are all empty: precision is then undefined, recall 0)."""
    try:
        found = metric.metrics_from_tp_fp_fns(scores)
    except Exception:  # noqa: BLE001  statistics.StatisticsError: no page to average
        return {"f1": 0.0, "precision": None, "recall": 0.0}
    return {k: found[k] for k in ("f1", "precision", "recall")}


def aeb_scores(sets: Path) -> dict:
    aeb = sets / AEB
    metric = _metric(aeb)
    truth = json.loads((aeb / "ground-truth.json").read_text())
    pages = [
        (key, _gunzip(aeb / "html" / f"{key}.html.gz"), case["url"], case.get("articleBody", ""))
        for key, case in truth.items()
    ]
    result: dict = {"pages": len(pages)}
    runs = {"kantkg": _kantkg_text, "trafilatura": lambda h, u: (_trafilatura_text(h, u), "")}
    for name, run in runs.items():
        if name == "trafilatura" and importlib.util.find_spec("trafilatura") is None:
            result[name] = "not installed"
            continue
        scores, by_layer, empty = [], defaultdict(list), 0
        start = time.perf_counter()
        for _key, html, url, expected in pages:
            text, layer = run(html, url)
            empty += not text.strip()
            score = metric.string_shingle_matching(true=expected, pred=text)
            scores.append(score)
            by_layer[layer].append(score)
        seconds = time.perf_counter() - start
        summary = metric.metrics_from_tp_fp_fns(scores)
        result[name] = {
            "f1": summary["f1"],
            "precision": summary["precision"],
            "recall": summary["recall"],
            "without_body": empty,
            "seconds": seconds,
        }
        if name == "kantkg":
            result[name]["layers"] = {
                layer: {"pages": len(s), **_summary(metric, s)}
                for layer, s in sorted(by_layer.items())
            }
    return result


def _kantkg_day(html: bytes, url: str) -> str:
    item = extract_article(html, url)
    return (item.get("published") or "")[:10] if item else ""


def _htmldate_day(html: bytes, url: str) -> str:
    from htmldate import find_date

    return (
        find_date(
            html.decode("utf-8", "replace"), url=url, extensive_search=True, original_date=True
        )
        or ""
    )


def _trafilatura_day(html: bytes, url: str) -> str:
    import trafilatura

    doc = trafilatura.bare_extraction(html.decode("utf-8", "replace"), url=url, with_metadata=True)
    return ((getattr(doc, "date", None) or "") if doc is not None else "")[:10]


def date_scores(sets: Path) -> dict:
    cases = json.loads((sets / DATES / "expected.json").read_text())
    pages = [
        (url, _gunzip(sets / DATES / "html" / case["file"]), case["date"])
        for url, case in cases.items()
    ]
    result: dict = {"pages": len(pages)}
    for name, run, module in (
        ("kantkg", _kantkg_day, None),
        ("htmldate", _htmldate_day, "htmldate"),
        ("trafilatura", _trafilatura_day, "trafilatura"),
    ):
        if module and importlib.util.find_spec(module) is None:
            result[name] = "not installed"
            continue
        right, start = 0, time.perf_counter()
        for url, html, expected in pages:
            with contextlib.suppress(Exception):  # a crash is a wrong answer
                right += run(html, url) == expected
        result[name] = {
            "right": right,
            "accuracy": right / len(pages),
            "seconds": time.perf_counter() - start,
        }
    return result


def measure() -> dict:
    sets = devsets_dir()
    if sets is None:
        return {
            "missing": "no development sets: set $KANT_DEVSETS or put them in ../shared/devsets"
        }
    return {"path": str(sets), "aeb": aeb_scores(sets), "dates": date_scores(sets)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = measure()
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
