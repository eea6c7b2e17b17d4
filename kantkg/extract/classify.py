"""Article or not: a listing, category, tag, search, author or error page is no article,
whatever its URL looks like."""

from __future__ import annotations

import re
from urllib.parse import unquote, urljoin, urlsplit

from kantkg import dates, site
from kantkg.extract.load import Page
from kantkg.extract.structured import LISTING_TYPES, canonical_candidates
from kantkg.extract.text import text

LISTING_MIN_HEADLINE_LINKS = 3
# Path parts of pages that list content: category, tag, author, archive, search, paging.
_LISTING_PATH_RE = re.compile(
    r"/(?:category|categories|tag|tags|topic|topics|author|authors|archive|archives|"
    r"search|rubric|rubrika|section|sections|page|label|feed)(?:/|$)|[?&](?:s|q|page)=",
    re.IGNORECASE,
)
_ID_RE = re.compile(r"\d{5,}")
_SLUG_WORD_RE = re.compile(r"[^\W\d_]{2,}")
SLUG_MIN_WORDS = 4
# What a page name ends with (WordPress, Blogger, Drupal views, ASP.NET, JSP, ...).
_PAGE_SUFFIX_RE = re.compile(r"\.(?:html?|shtml|php|aspx?|cms|jsp)$", re.IGNORECASE)
# og:type values of pages that are no single piece of content. Other values (article,
# video.*, music.*, book, and junk such as "text/html") decide nothing by themselves.
_LISTING_OG_TYPES = frozenset({"website", "profile", "blog"})


def looks_like_article_url(url: str) -> bool:
    """Whether the URL has the shape of one piece of content on any site: no listing
    path part, and a last path segment that is a slug of several words
    («/protesters-gather-at-paris-theater/») or carries a numeric id («/news/263700449/»,
    «/threads/what-whered-it-go.2675645/»), or a date in the path («/2020/08/24/...»).
    (kant.kg's own permalink shape is kantkg.site.is_article_url.)"""
    parts = urlsplit(url)
    path = parts.path or "/"
    if _LISTING_PATH_RE.search(path + ("?" + parts.query if parts.query else "")):
        return False
    segments = [seg for seg in path.split("/") if seg]
    if not segments:
        return False
    last = _PAGE_SUFFIX_RE.sub("", segments[-1])
    if len(_SLUG_WORD_RE.findall(last.replace("-", " ").replace("_", " "))) >= SLUG_MIN_WORDS:
        return True
    if any(_ID_RE.search(seg) for seg in segments[-2:]):
        return True
    return dates.url_date(url) is not None and len(segments) > 3


def non_article_reason(page: Page, title: str | None) -> str | None:
    """Why the page is not a single article, or None when it may be one."""
    if page.strong_article_signal:
        return None
    body = page.body
    classes = set((body.get("class") or "").split()) if body is not None else set()
    if classes & site.NON_ARTICLE_BODY_CLASSES and not classes & {"single", "single-post"}:
        return "listing page (body class)"
    if page.article_signal:
        return None
    if page.jsonld_types & LISTING_TYPES:
        return "listing page (structured data)"
    og_type = (page.meta_first("og:type") or "").lower()
    content_url = site.is_article_url(page.url) or looks_like_article_url(page.url)
    if og_type == "profile" or og_type in _LISTING_OG_TYPES and not content_url:
        return f"og:type {og_type}"
    if title and title.casefold().strip(" .!") in site.NOT_FOUND_TITLES:
        return "error page"
    headline_links = {
        href
        for heading in page.root.iter("h2", "h3", "h4")
        for a in heading.iter("a")
        if (href := a.get("href")) is not None
    }
    if len(headline_links) >= LISTING_MIN_HEADLINE_LINKS and not content_url:
        return "listing page (headline links)"
    return None


TEASER_LIST_MIN_ITEMS = 3
TEASER_SHARE = 0.5  # of the body's text inside teasers: a list, not an article
TEASER_MAX_CHARS = 1000  # a headline, an excerpt, a date: longer is an article's text


def teaser_texts(page: Page) -> list[str]:
    """The texts of the page's teasers: each headline link (an <a> in an <h2>-<h4>, or
    around one) with what surrounds it up to the largest element holding no other
    headline link (its excerpt, date, "read more"). Read before furniture is removed."""
    if page.body is None:
        return []
    own = {
        _identity(page.url, page.url),
        *(_identity(page.url, c) for _layer, c in canonical_candidates(page)),
    }
    headline_links = []
    for heading in page.body.iter("h2", "h3", "h4"):
        headline_links += heading.iter("a")
        headline_links += heading.iterancestors("a")
    links = [
        a
        for a in dict.fromkeys(headline_links)
        if (a.get("href") or "#")[:1] != "#" and _identity(page.url, a.get("href")) not in own
    ]
    per_element: dict = {}
    for a in links:
        for el in a.iterancestors():
            per_element.setdefault(el, set()).add(a.get("href"))
    items = []
    for a in links:
        item = a
        for el in a.iterancestors():
            if el is page.body or len(per_element[el]) > 1:
                break
            item = el
        items.append(item)
    return [
        t for t in (text(item) for item in dict.fromkeys(items)) if t and len(t) <= TEASER_MAX_CHARS
    ]


def _identity(base: str, href: str) -> str:
    """What a link points at, for "is it this page": host without www, path decoded,
    without scheme, query (shortlinks, tracking) and fragment."""
    try:
        parts = urlsplit(urljoin(base, href.strip()))
    except ValueError:  # ("http://[object Object]": a template's leftover)
        return href
    host = (parts.hostname or "").removeprefix("www.")
    return f"{host}{unquote(parts.path).rstrip('/')}"


def is_teaser_list(paragraphs: list[str], teasers: list[str]) -> bool:
    """The body found is mostly teasers' text (headlines and excerpts of other pages):
    a listing at any URL, whatever its markup says. Related-post teasers beside an
    article are not part of its body, so they do not count."""
    if len(teasers) < TEASER_LIST_MIN_ITEMS or not paragraphs:
        return False
    inside = sum(len(p) for p in paragraphs if any(p in teaser for teaser in teasers))
    return inside >= TEASER_SHARE * sum(map(len, paragraphs))
