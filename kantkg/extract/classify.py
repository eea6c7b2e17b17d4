"""Article or not: a listing, category, tag, search, author or error page is no article,
whatever its URL looks like."""

from __future__ import annotations

from kantkg import site
from kantkg.extract.load import Page
from kantkg.extract.structured import LISTING_TYPES

LISTING_MIN_HEADLINE_LINKS = 3


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
    if og_type and og_type != "article" and not site.is_article_url(page.url):
        return f"og:type {og_type}"
    if title and title.casefold().strip(" .!") in site.NOT_FOUND_TITLES:
        return "error page"
    headline_links = {href for heading in page.root.iter("h2", "h3", "h4")
                      for a in heading.iter("a") if (href := a.get("href")) is not None}
    if len(headline_links) >= LISTING_MIN_HEADLINE_LINKS and not site.is_article_url(page.url):
        return "listing page (headline links)"
    return None
