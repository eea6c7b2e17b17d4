"""The structured-data layers: JSON-LD, microdata (itemprop) and meta (OpenGraph,
article:*, <link rel=canonical>). What a page states about itself, so tried first.

Each field function returns (value, layer) with layer "jsonld", "microdata" or "meta",
or (None, None) when the page states nothing usable.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator

from lxml import etree

from kantkg.extract.load import Page
from kantkg.extract.text import text
from kantkg.whitespace import squash

ARTICLE_TYPES = frozenset(
    {
        "Article",
        "NewsArticle",
        "ReportageNewsArticle",
        "AnalysisNewsArticle",
        "OpinionNewsArticle",
        "BackgroundNewsArticle",
        "ReviewNewsArticle",
        "BlogPosting",
        "LiveBlogPosting",
        "Report",
        "ScholarlyArticle",
        "TechArticle",
    }
)
LISTING_TYPES = frozenset({"CollectionPage", "SearchResultsPage", "ProfilePage", "ItemList"})
PUBLISHED_META = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "date",
    "dc.date",
    "dc.date.issued",
    "sailthru.date",
    "parsely-pub-date",
)
MODIFIED_META = ("article:modified_time", "og:updated_time", "datemodified")

# ------------------------------------------------------------------- loading


def _types(node: dict) -> set[str]:
    kind = node.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {k.rsplit("/", 1)[-1] for k in kinds if isinstance(k, str)}


def _jsonld_nodes(data) -> Iterator[dict]:
    if isinstance(data, list):
        for entry in data:
            yield from _jsonld_nodes(entry)
    elif isinstance(data, dict):
        yield data
        if "@graph" in data:
            yield from _jsonld_nodes(data["@graph"])


_CDATA_RE = re.compile(r"^\s*(?://\s*)?<!\[CDATA\[|(?://\s*)?\]\]>\s*$")


def load_jsonld(page: Page) -> None:
    """The first Article-typed node of the page's JSON-LD, and every node by @id."""
    for script in page.root.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        try:
            data = json.loads(_CDATA_RE.sub("", (script.text or "").strip()), strict=False)
        except (ValueError, RecursionError):
            continue
        for node in _jsonld_nodes(data):
            if isinstance(node.get("@id"), str):
                page.jsonld_ids.setdefault(node["@id"], node)
            types = _types(node)
            page.jsonld_types |= types
            if not page.jsonld and types & ARTICLE_TYPES:
                page.jsonld = node


def load_meta(page: Page) -> None:
    meta: dict[str, list[str]] = defaultdict(list)
    for el in page.root.iter("meta"):
        content = el.get("content")
        key = el.get("property") or el.get("name") or el.get("itemprop")
        if content is not None and key:
            meta[key.strip().lower()].append(content)
    for el in page.root.iter("link"):
        href = el.get("href")
        for rel in (el.get("rel") or "").lower().split() if href is not None else ():
            meta[f"link:{rel}"].append(href)
    page.meta = meta


def find_microdata(page: Page) -> None:
    for el in page.root.iterfind(".//*[@itemscope][@itemtype]"):
        if {t.rsplit("/", 1)[-1] for t in el.get("itemtype").split()} & ARTICLE_TYPES:
            page.microdata = el
            return


def load(page: Page) -> Page:
    load_jsonld(page)
    load_meta(page)
    find_microdata(page)
    return page


# ------------------------------------------------------------------- values


def ld_value(page: Page, key: str):
    """A JSON-LD property of the Article node, a bare {"@id": ...} reference resolved."""
    value = page.jsonld.get(key)
    if isinstance(value, dict) and isinstance(value.get("@id"), str) and len(value) == 1:
        return page.jsonld_ids.get(value["@id"], value)
    return value


LD_TEXT_MAX_DEPTH = 8  # names nest an object or a list deep, never hundreds


def ld_text(value, depth: int = 0) -> str | None:
    """A JSON-LD value as text: strings, names of objects, lists joined by ', '."""
    if isinstance(value, str):
        return squash(value) or None
    if depth >= LD_TEXT_MAX_DEPTH:
        return None
    if isinstance(value, dict):
        return ld_text(value.get("name") or value.get("@value"), depth + 1)
    if isinstance(value, list):
        parts = [t for t in (ld_text(v, depth + 1) for v in value) if t]
        return ", ".join(dict.fromkeys(parts)) or None
    return None


def microdata_element(page: Page, prop: str):
    """The first element inside the Article itemscope with itemprop=prop."""
    if page.microdata is None:
        return None
    for el in page.microdata.iterdescendants(etree.Element):
        if prop in (el.get("itemprop") or "").split():
            return el
    return None


def microdata_text(page: Page, prop: str) -> str | None:
    el = microdata_element(page, prop)
    if el is None:
        return None
    if el.get("itemscope") is not None:
        name = el.xpath(".//*[@itemprop='name']")
        if name:
            el = name[0]
    return squash(el.get("content") or el.get("datetime") or text(el)) or None


# ------------------------------------------------------------------- fields

Found = tuple[str | None, str | None]


def title(page: Page) -> Found:
    if found := ld_text(page.jsonld.get("headline")) or ld_text(page.jsonld.get("name")):
        return found, "jsonld"
    if found := microdata_text(page, "headline") or microdata_text(page, "name"):
        return found, "microdata"
    if found := page.meta_first("og:title", "twitter:title"):
        return squash(found), "meta"
    return None, None


def author(page: Page) -> Found:
    """A byline the structured data states (meta author, weaker, is the chain's call)."""
    if found := ld_text(ld_value(page, "author")):
        return found, "jsonld"
    if found := microdata_text(page, "author"):
        return found, "microdata"
    return None, None


def meta_author(page: Page) -> str | None:
    return page.meta_first("article:author", "author")


def section(page: Page) -> Found:
    value = page.jsonld.get("articleSection")
    if found := ld_text(value[0] if isinstance(value, list) and value else value):
        return found, "jsonld"
    if found := microdata_text(page, "articleSection"):
        return found, "microdata"
    if found := page.meta_first("article:section"):
        return found, "meta"
    return None, None


def tags(page: Page) -> tuple[list[str], str | None]:
    keywords = page.jsonld.get("keywords")
    if isinstance(keywords, str):
        keywords = keywords.split(",")
    if isinstance(keywords, list):
        found = [t for t in (ld_text(k) for k in keywords) if t]
        if found:
            return list(dict.fromkeys(found)), "jsonld"
    found = [t.strip() for t in page.meta.get("article:tag", []) if t.strip()]
    if found:
        return list(dict.fromkeys(found)), "meta"
    return [], None


def canonical_candidates(page: Page) -> list[tuple[str, str]]:
    """(layer, URL) the page gives as its own address, best first."""
    return [
        (layer, value)
        for layer, value in (
            ("meta", page.meta_first("link:canonical")),
            ("meta", page.meta_first("og:url")),
            ("jsonld", ld_text(page.jsonld.get("url"))),
        )
        if value
    ]


def date_candidates(page: Page, prop: str, meta_names: tuple[str, ...]) -> list[list[str]]:
    """[layer, text] for one date property, best layer first."""
    found: list[list[str]] = []
    if value := ld_text(page.jsonld.get(prop)):
        found.append(["jsonld", value])
    if value := microdata_text(page, prop):
        found.append(["microdata", value])
    found += [["meta", value] for name in meta_names if (value := page.meta_first(name))]
    return found


def body_element(page: Page):
    """The microdata articleBody element, if the page marks one."""
    return microdata_element(page, "articleBody")


def body_text(page: Page) -> str | None:
    value = page.jsonld.get("articleBody")
    return value if isinstance(value, str) and value.strip() else None


def body_paragraphs(page: Page) -> list[str]:
    """JSON-LD articleBody as paragraphs: one a line."""
    return [p for p in map(squash, re.split(r"\r?\n", body_text(page) or "")) if p]
