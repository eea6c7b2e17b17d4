"""The chain: every field tried layer by layer, best first, recording the layer.

Layers: "jsonld", "microdata", "meta" (kantkg.extract.structured), "site" (kant.kg's
own layout, kantkg.extract.kant), "generic" (kantkg.extract.generic and the body
ensemble). Dates come back as raw candidates (`dates_raw`) for kantkg.dates, paragraphs
raw for kantkg.paragraphs: those modules own their rules.

A page that looks like an article but yields no body still comes back (with no
paragraphs) so that the archive drops it *with a reason* and the crawl's stats show
the extractor failing.
"""

from __future__ import annotations

from urllib.parse import urljoin

from kantkg import bounds, dates, site
from kantkg.extract import ensemble, generic, structured
from kantkg.extract.classify import (
    is_teaser_list,
    looks_like_article_url,
    non_article_reason,
    teaser_texts,
)
from kantkg.extract.encoding import decode_html
from kantkg.extract.kant import LAYOUTS
from kantkg.extract.libraries import htmldate_published
from kantkg.extract.load import Page, parse_bounded
from kantkg.extract.text import remove_noise
from kantkg.extract.title import strip_site_name
from kantkg.items import ArticleItem

MIN_BODY_CHARS = 60  # less text than this is no article body


def load_page(page_html: bytes | str, url: str, encoding: str | None = None) -> Page | None:
    return _load_page(page_html, url, encoding)[0]


def _load_page(
    page_html: bytes | str,
    url: str,
    encoding: str | None = None,
) -> tuple[Page | None, str | None]:
    """-> (the page, or None; the page bound it hit: kantkg.bounds)."""
    root, limit = parse_bounded(page_html, encoding)
    return (structured.load(Page(url=url, root=root)) if root is not None else None), limit


def _site_names(page: Page) -> tuple[str, ...]:
    return tuple(
        n for n in (page.meta_first("og:site_name"), page.meta_first("application-name")) if n
    )


def extract_title(page: Page) -> tuple[str | None, str | None]:
    found, layer = structured.title(page)
    if not found:
        found, layer = _from_layouts("title", page), "site"
    if not found:
        found, layer = generic.title(page), "generic"
    if not found:
        return None, None
    return strip_site_name(found, _site_names(page)) or None, layer


def _from_layouts(field: str, page: Page):
    for layout in LAYOUTS:
        found = getattr(layout, field)(page)
        if found is not None and not (isinstance(found, str | list) and not found):
            return found
    return None


def extract_canonical(page: Page) -> tuple[str, str]:
    """The page's own idea of its URL, if it is a plausible one for this article: a
    canonical pointing at the front page or another site would merge articles."""
    for layer, candidate in structured.canonical_candidates(page):
        absolute = urljoin(page.url, candidate.strip())
        if site.same_site(absolute, page.url) and (
            site.is_article_url(absolute) or not site.is_article_url(page.url)
        ):
            return absolute, layer
    return page.url, "url"


def extract_author(page: Page, title: str | None) -> tuple[str | None, str | None]:
    found, layer = structured.author(page)
    if found:
        return (site.strip_author_label(found) if layer == "microdata" else found), layer
    meta = structured.meta_author(page)
    if meta and not meta.startswith("http") and strip_site_name("x - " + meta) != "x":
        return meta, "meta"
    if found := _from_layouts("author", page):
        return found, "site"
    if found := generic.author(page, title):
        return found, "generic"
    return None, None


def extract_section(page: Page, title: str | None) -> tuple[str | None, str | None]:
    found, layer = structured.section(page)
    if found:
        return found, layer
    if found := _from_layouts("section", page):
        return found, "site"
    if found := generic.section(page, title):
        return found, "generic"
    return None, None


def extract_tags(page: Page) -> tuple[list[str], str | None]:
    found, layer = structured.tags(page)
    if found:
        return found, layer
    if found := _from_layouts("tags", page):
        return found, "site"
    if found := generic.tags(page):
        return found, "generic"
    return [], None


def _unique(candidates: list[list[str]]) -> list[list[str]]:
    seen: set[str] = set()
    unique = []
    for candidate in candidates:
        if candidate[1] not in seen:
            seen.add(candidate[1])
            unique.append(candidate)
    return unique


def published_candidates(
    page: Page, url: str, title: str | None, page_html: bytes | str
) -> list[list[str]]:
    """The dates the page offers for its publication, best layer first; htmldate's
    answer (from `page_html`, the page as fetched) and dates in the visible text only
    when the others leave it unsettled (kantkg.dates decides)."""
    found = structured.date_candidates(page, "datePublished", structured.PUBLISHED_META)
    found += [["site", value] for layout in LAYOUTS for value in layout.published(page)]
    found = _unique(found)
    if dates.settled_without_text(found, url):
        return found
    visible = [["generic", value] for value in generic.published(page, title)]
    if (found or visible) and site.is_article_url(url):
        # The configured site's own pages: our layers know its layouts (as for the
        # body); htmldate, a parse of its own, answers only where they find nothing.
        return _unique(found + visible)
    value = htmldate_published(page_html, url)
    # (htmldate answers the URL's own day, unread, when the URL has one: that is the
    # URL layer's cross-check, not a date of the page)
    if value and not (len(value) == 10 and str(dates.url_date(url)) == value):
        found.append(["htmldate", value])
    return _unique(found + visible)


def modified_candidates(page: Page) -> list[list[str]]:
    found = structured.date_candidates(page, "dateModified", structured.MODIFIED_META)
    found += [["site", value] for layout in LAYOUTS for value in layout.modified(page)]
    return _unique(found)


def extract_body(
    page: Page, title: str | None, page_html: bytes | str, encoding: str | None = None
) -> tuple[list[str], str | None]:
    """-> (raw paragraphs, layer). Marked containers first (microdata articleBody, the
    site's content element); otherwise the generic layer: our densest block (or JSON-LD
    articleBody) put to the vote with trafilatura and readability (kantkg.extract.ensemble).
    On the configured site's own permalinks our generic layer's text is kept whenever it
    finds one: it was built on the site's old layouts (<br> paragraphs, cp1251 pages),
    and on a short page the libraries' menus can outvote it; the vote answers only where
    it finds nothing."""
    for element, layer in (
        (structured.body_element(page), "microdata"),
        (_from_layouts("body", page), "site"),
    ):
        if element is None:
            continue
        remove_noise(element)
        found = generic.paragraphs(element, title)
        if sum(map(len, found)) >= MIN_BODY_CHARS:
            return found, layer
    ours, ours_layer = _own_generic_body(page, title)
    if ours and site.is_article_url(page.url):
        if ours_layer == "jsonld":
            return ours, "jsonld"
        found, how = ours, "ours"
    else:
        html = page_html if isinstance(page_html, str) else decode_html(page_html, encoding)
        found, how = ensemble.generic_body(html, page.url, ours, structured.body_paragraphs(page))
    headline = (title or "").casefold()
    found = [p for p in found if p.casefold() != headline]  # (the libraries keep the <h1>)
    if sum(map(len, found)) >= MIN_BODY_CHARS:
        return found, f"generic/{how}"
    # The page's HTML holds no text (rendered by script) but its JSON-LD does.
    ld_paragraphs = structured.body_paragraphs(page)
    if sum(map(len, ld_paragraphs)) >= MIN_BODY_CHARS:
        return ld_paragraphs, "jsonld"
    return [], None


def _own_generic_body(page: Page, title: str | None) -> tuple[list[str], str]:
    """JSON-LD articleBody when long enough ("jsonld"), else the densest block of <body>
    with a lead standing before it ("generic")."""
    ld_body = structured.body_text(page)
    if ld_body and len(ld_body.strip()) >= MIN_BODY_CHARS:
        return structured.body_paragraphs(page), "jsonld"
    body = page.body
    if body is None:
        return [], "generic"
    remove_noise(body)
    block = generic.container(body)
    if block is None:
        return [], "generic"
    return generic.lead_before(page, block, title) + generic.paragraphs(
        block, title, generic=True
    ), "generic"


def explain_raw(
    page_html: bytes | str, url: str, encoding: str | None = None
) -> tuple[ArticleItem | None, str | None]:
    """Raw article fields of one page, or (None, why it is not an article).

    `encoding` is the charset an HTTP header declared, if any. A page beyond a page
    bound of kantkg.bounds comes back with the bound under bounds.LIMIT_KEY, for
    bounds.junk_reason (or, where nothing says it is an article, as the reason).
    """
    page, limit = _load_page(page_html, url, encoding)
    if limit == bounds.TOO_MANY_ELEMENTS:
        return _unread(url, limit)
    if page is None:
        return None, "empty or unparseable page"
    item, reason = _explain_page(page, url, page_html, encoding)
    if limit and item is not None:
        item["extract_limit"] = limit
    elif limit:
        reason = f"{reason} ({limit}: read to a depth of {bounds.PARSER_MAX_DEPTH} only)"
    return item, reason


def _unread(url: str, limit: str) -> tuple[ArticleItem | None, str | None]:
    """A page not read, being beyond a bound: at an article's URL, an item without text
    that names the bound (the archive records it as failed, with that reason, rather
    than missing); elsewhere nothing says it is an article."""
    if not (site.is_article_url(url) or looks_like_article_url(url)):
        return None, f"{limit}: more than {bounds.MAX_ELEMENTS:,} elements, not read"
    return ArticleItem(
        url=url,
        canonical_url=url,
        title=None,
        author=None,
        section=None,
        tags=[],
        paragraphs=[],
        dates_raw={},
        method={},
        extract_limit=limit,
    ), None


def _explain_page(
    page: Page, url: str, page_html: bytes | str, encoding: str | None
) -> tuple[ArticleItem | None, str | None]:
    """explain_raw for a parsed page."""
    title, title_layer = extract_title(page)
    if reason := non_article_reason(page, title):
        return None, reason
    canonical, canonical_layer = extract_canonical(page)
    author, author_layer = extract_author(page, title)
    section, section_layer = extract_section(page, title)
    tags, tags_layer = extract_tags(page)
    dates_raw = {
        "published": published_candidates(page, canonical, title, page_html),
        "modified": modified_candidates(page),
    }
    # (structured data saying "one article" outweighs teasers around it)
    teasers = [] if page.strong_article_signal else teaser_texts(page)
    # Body last: it removes furniture from the tree the other fields read.
    paragraphs, body_layer = extract_body(page, title, page_html, encoding)
    if is_teaser_list(paragraphs, teasers):
        return None, "listing page (its text is teasers of other pages)"
    if not paragraphs and not title:
        return None, "no title and no text"
    # Without structured data or a permalink saying "article", it takes both to be one.
    # With them, a page missing either still comes back, for the archive to drop and count.
    if not (title and paragraphs) and not (
        page.article_signal or site.is_article_url(url) or looks_like_article_url(url)
    ):
        return None, "no title or no text, and nothing saying it is an article"
    method = {
        name: layer
        for name, layer in (
            ("title", title_layer),
            ("canonical_url", canonical_layer),
            ("author", author_layer),
            ("section", section_layer),
            ("tags", tags_layer),
            ("paragraphs", body_layer),
        )
        if layer
    }
    return ArticleItem(
        url=url,
        canonical_url=canonical,
        title=title,
        author=author,
        section=section,
        tags=tags,
        paragraphs=paragraphs,
        dates_raw=dates_raw,
        method=method,
    ), None


def extract_raw(
    page_html: bytes | str, url: str, encoding: str | None = None
) -> ArticleItem | None:
    return explain_raw(page_html, url, encoding)[0]
