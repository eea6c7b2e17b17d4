"""The kant.kg layer: the site's own markup, read with CSS selectors.

kant.kg is a WordPress site, so the selectors are the classes WordPress themes use
(default, Yoast, tagDiv Newspaper, Jannah, JNews, ...). One class per layout version,
Fundus-style: selectors as class attributes, one method per field. When the site changes
its theme, add a subclass with the new selectors and put it first in LAYOUTS; the old
one keeps reading archived pages (`kantkg reparse`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from kantkg import site
from kantkg.extract.load import Page
from kantkg.extract.text import is_hidden, text
from kantkg.whitespace import squash


class KantWordPress2021:
    """kant.kg as a WordPress theme (the markup of the 2021 seed article's era)."""

    name: ClassVar[str] = "wordpress-2021"
    title_selectors: ClassVar[tuple[str, ...]] = (
        "h1.entry-title",
        "h1.post-title",
        "h1.jeg_post_title",
        "h1.td-post-title",
        ".td-post-title h1",
        "h1.single-post-title",
        "h1.article-title",
        "article h1",
    )
    body_selectors: ClassVar[tuple[str, ...]] = (
        ".entry-content",
        ".td-post-content",
        ".jeg_post_content .content-inner",
        ".post-content",
        ".single-post-content",
        ".article-content",
        ".post-entry",
        ".entry-body",
        ".post-body",
        "article .content",
    )
    # (selector, attribute, or "" for the element's text)
    published_selectors: ClassVar[tuple[tuple[str, str], ...]] = (
        ("time.entry-date.published", "datetime"),
        ("time.published", "datetime"),
        ("time.entry-date", "datetime"),
        (".td-post-date time", "datetime"),
        (".jeg_meta_date", ""),
        ("article time", "datetime"),
        (".entry-date", ""),
        (".post-date", ""),
        (".posted-on", ""),
    )
    modified_selectors: ClassVar[tuple[tuple[str, str], ...]] = (
        ("time.updated:not(.published)", "datetime"),
        ("time.entry-modified", "datetime"),
    )
    author_selectors: ClassVar[tuple[str, ...]] = (
        ".author.vcard .fn",
        ".author.vcard a",
        ".td-post-author-name a",
        ".jeg_meta_author a",
        "a[rel~=author]",
        ".byline .author",
        ".entry-author-name",
    )
    section_selectors: ClassVar[tuple[str, ...]] = (
        ".cat-links a",
        ".td-category a",
        ".entry-category a",
        ".jeg_meta_category a",
        "a[rel~=category]",
        ".post-categories a",
    )
    tag_selectors: ClassVar[tuple[str, ...]] = (
        ".tags-links a",
        ".td-tags a",
        ".jeg_post_tags a",
        ".post-tags a",
        "a[rel='tag']",
    )

    def _first_text(self, page: Page, selectors: tuple[str, ...]) -> str | None:
        for selector in selectors:
            for el in page.select(selector):
                if found := text(el):
                    return found
        return None

    def _values(self, page: Page, selectors: tuple[tuple[str, str], ...]) -> Iterator[str]:
        for selector, attr in selectors:
            for el in page.select(selector):
                value = el.get(attr) if attr else text(el)
                if value and value.strip():
                    yield squash(value)

    def title(self, page: Page) -> str | None:
        return self._first_text(page, self.title_selectors)

    def body(self, page: Page):
        """The one element holding the article text (a selector matching several
        elements is a listing's, not this article's)."""
        for selector in self.body_selectors:
            found = page.select(selector)
            if len(found) == 1:
                return found[0]
        return None

    def published(self, page: Page) -> list[str]:
        return list(self._values(page, self.published_selectors))

    def modified(self, page: Page) -> list[str]:
        return list(self._values(page, self.modified_selectors))

    def author(self, page: Page) -> str | None:
        """A visible byline that is a name (WordPress logins such as «admin» are not)."""
        for selector in self.author_selectors:
            for el in page.select(selector):
                name = site.strip_author_label(text(el))
                if not is_hidden(el) and site.looks_like_name(name):
                    return name
        return None

    def section(self, page: Page) -> str | None:
        return self._first_text(page, self.section_selectors)

    def tags(self, page: Page) -> list[str]:
        for selector in self.tag_selectors:
            found = [t for el in page.select(selector) if (t := text(el))]
            if found:
                return list(dict.fromkeys(found))
        return []


# Newest layout first: the chain asks each in turn.
LAYOUTS = (KantWordPress2021(),)
