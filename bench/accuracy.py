"""Field accuracy of kantkg's extractor on the fixture corpus, per field and per layer.

    python bench/accuracy.py [--pages tests/fixtures/pages] [--json FILE]

For every field: pages where it is right / pages, and the same split by the layer that
produced the value (jsonld, microdata, meta, site, generic, url), so a weak layer shows.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kantkg import extract_article  # noqa: E402
from kantkg.extract.evaluate import FIELDS, FIXTURE_NOW, load_fixtures, score  # noqa: E402


def accuracy(pages: Path) -> dict:
    per_field: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_layer: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    failures = []
    for fixture in load_fixtures(pages):
        item = extract_article(fixture.html, fixture.fetched_url, now=FIXTURE_NOW)
        scores = score(item, fixture.expected)
        method = (item or {}).get("method", {})
        for name, ok in scores.items():
            per_field[name][0] += ok
            per_field[name][1] += 1
            if name in FIELDS:
                layer = method.get(name, "none")
                per_layer[(name, layer)][0] += ok
                per_layer[(name, layer)][1] += 1
            if not ok:
                failures.append((fixture.name, name))
    return {
        "fields": {k: {"right": r, "pages": n} for k, (r, n) in per_field.items()},
        "layers": [
            {"field": f, "layer": layer, "right": r, "pages": n}
            for (f, layer), (r, n) in sorted(per_layer.items())
        ],
        "failures": failures,
    }


def table(result: dict) -> str:
    lines = ["| field | layer | right | pages | accuracy |", "|---|---|---:|---:|---:|"]
    for name, counts in result["fields"].items():
        r, n = counts["right"], counts["pages"]
        lines.append(f"| **{name}** | all | {r} | {n} | {100 * r / n:.0f}% |")
        for row in result["layers"]:
            if row["field"] == name:
                lines.append(
                    f"| {name} | {row['layer']} | {row['right']} | {row['pages']} | "
                    f"{100 * row['right'] / row['pages']:.0f}% |"
                )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=Path, default=ROOT / "tests" / "fixtures" / "pages")
    parser.add_argument("--json", type=Path, help="Also write the result as JSON here.")
    args = parser.parse_args()
    result = accuracy(args.pages)
    print(table(result))
    if result["failures"]:
        print("\nwrong:", ", ".join(f"{page}:{name}" for page, name in result["failures"]))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
