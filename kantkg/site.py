"""Everything kant.kg-specific: URL shapes, site names, boilerplate phrases, selectors.

When kant.kg changes its theme or wording, this is the one module to edit.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from urllib.parse import urlsplit

DEFAULT_BASE_URL = "https://kant.kg"
TIMEZONE = "Asia/Bishkek"  # UTC+06:00, no DST since 2005

# ---------------------------------------------------------------- URL patterns

# WordPress permalink of a post: /YYYY-MM-DD/<transliterated-slug>/
ARTICLE_PATH_RE = re.compile(r"^/(?P<date>\d{4}-\d{2}-\d{2})/(?P<slug>[a-z0-9][a-z0-9_%-]*)/?$")

# Sub-sitemaps that list no posts (Yoast and WordPress core names): not worth a request.
NON_POST_SITEMAP_HINTS = (
    "page-sitemap",
    "category-sitemap",
    "post_tag-sitemap",
    "tag-sitemap",
    "author-sitemap",
    "wp-sitemap-taxonomies",
    "wp-sitemap-users",
    "wp-sitemap-posts-page",
)


def is_post_sitemap(url: str) -> bool:
    return not any(hint in url for hint in NON_POST_SITEMAP_HINTS)


# Paths that are never articles even when linked from one.
NON_ARTICLE_PREFIXES = (
    "/category/",
    "/tag/",
    "/page/",
    "/author/",
    "/feed",
    "/wp-",
    "/search",
    "/amp/",
)


@lru_cache(maxsize=1024)
def article_path_match(url: str) -> re.Match[str] | None:
    """Match an article permalink on any host; callers check the host separately.
    (Cached: a page's URL is asked about several times.)"""
    return ARTICLE_PATH_RE.match(urlsplit(url).path or "/")


def is_article_url(url: str) -> bool:
    return article_path_match(url) is not None


def url_date(url: str) -> date | None:
    """The date in the permalink: a cross-check and last resort for the publication date."""
    m = article_path_match(url)
    if not m:
        return None
    try:
        return date.fromisoformat(m.group("date"))
    except ValueError:
        return None


@lru_cache(maxsize=1024)
def same_site(url: str, base_url: str) -> bool:
    """True when url is on the crawled site (host and port), ignoring a leading www.
    A URL that cannot be split (`http://[::1`, a port that is no number) is not."""
    try:
        a, b = urlsplit(url), urlsplit(base_url)
        ports = explicit_port(a), explicit_port(b)
    except ValueError:
        return False

    def host(parts) -> str:
        return (parts.hostname or "").lower().removeprefix("www.")

    return host(a) == host(b) and ports[0] == ports[1]


_DEFAULT_PORTS = {"http": 80, "https": 443}


def explicit_port(parts) -> int | None:
    """The port, None when it is the scheme's default (`:443` on https is no other site)."""
    port = parts.port
    return None if port == _DEFAULT_PORTS.get(parts.scheme.lower()) else port


# ------------------------------------------------------------------ site names

# Suffixes/prefixes the site puts into <title> and og:title ("... - Kant.kg").
SITE_NAMES = (
    "Информационное агентство «Кант»",
    "Информационное агентство Кант",
    "ИА «Кант»",
    "ИА Кант",
    "Kant.kg",
    "kant.kg",
    "KANT.KG",
    "Кант",
    "КАНТ",
)
TITLE_SEPARATORS = (" - ", " – ", " — ", " | ", " :: ", " « ", " » ", " / ")

# ------------------------------------------------------------- boilerplate text

# A short paragraph (see BOILERPLATE_MAX_CHARS) starting with one of these is not article
# text (matched after normalization, case-insensitively). The source-link line ends every
# kant.kg article and is dropped whatever its length.
SOURCE_LINK_PREFIX = "ссылка на новость"
BOILERPLATE_MAX_CHARS = 200
BOILERPLATE_PREFIXES = (
    "ссылка на новость:",
    "ссылка на новость",
    "читайте также",
    "читать также",
    "смотрите также",
    "подписывайтесь на",
    "подпишитесь на",
    "поделиться:",
    "поделиться в",
    "поделитесь",
    "источник фото:",
    "фото:",
    "фото -",
    "фото —",
    "видео:",
    "фото и видео:",
    "другие новости",
    "похожие новости",
    "новости по теме",
    "следите за новостями",
    "присоединяйтесь к нам",
    "наш telegram",
    "наш телеграм",
    "при использовании материалов",
    "автор:",
    "беседовал",  # «Беседовала Айгуль Токтосунова»: the interviewer's byline
    "интервью записал",
    "при перепечатке",
    "при копировании",
    "теги:",
    "метки:",
)

# Whole-paragraph boilerplate: short lines that are only a share/subscribe call.
BOILERPLATE_EXACT = frozenset(
    {
        "поделиться",
        "share",
        "tweet",
        "telegram",
        "whatsapp",
        "facebook",
        "vk",
        "вконтакте",
        "одноклассники",
        "печать",
        "распечатать",
        "комментарии",
        "комментарии 0",
        "оставить комментарий",
        "похожие новости",
        "последние новости",
        "другие новости",
        "новости по теме",
        "популярное",
        "реклама",
    }
)

# -------------------------------------------------------------------- markup
# The selectors of kant.kg's own layout live with its parser, one class per layout
# version: kantkg/extract/kant.py. What follows is page furniture and page kinds.

# Never article text, wherever they sit in a page: removed before body extraction.
NOISE_TAGS = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "iframe",
        "form",
        "button",
        "select",
        "svg",
        "canvas",
        "nav",
        "aside",
        "figure",
        "figcaption",
        "object",
        "embed",
    }
)
NOISE_CLASSES = frozenset(
    {
        "wp-caption-text",
        "wp-block-embed",
        "sharedaddy",
        "jp-relatedposts",
        "td-a-rec",
        "td-post-sharing",
        "td-post-sharing-top",
        "td_block_related_posts",
        "jeg_share_top_container",
        "jeg_ad",
        "code-block",
        "adsbygoogle",
        "twitter-tweet",
        "instagram-media",
        "tiktok-embed",
        "fb-post",
        "comments-area",
        "comment-respond",
        "post-navigation",
        "navigation",
        "yarpp-related",
        "crp_related",
    }
)
NOISE_IDS = frozenset({"comments"})
# Class-name fragments marking furniture (share bars, ads, captions, related posts...),
# matched as whole words of a class attribute split on non-letters.
NOISE_CLASS_WORDS = frozenset(
    {
        "share",
        "sharing",
        "social",
        "related",
        "banner",
        "adv",
        "advert",
        "advertising",
        "reklama",
        "ads",
        "promo",
        "caption",
        "subscribe",
        "subscription",
        "comments",
        "comment",
        "breadcrumbs",
        "breadcrumb",
        "crumbs",
        "tags",
        "sidebar",
        "widget",
        "views",
        "rating",
        "print",
        "author",
        "meta",
        "byline",
        "rubric",
        "photo",
        "gallery",
        "date",
        "time",
        "timestamp",
        "posted",
        "img",
        "image",
        "thumb",
        "thumbnail",
        "picture",
    }
)
# Classes of <body> on WordPress pages that are not single posts.
NON_ARTICLE_BODY_CLASSES = frozenset(
    {
        "archive",
        "blog",
        "home",
        "search",
        "search-results",
        "error404",
        "category",
        "tag",
        "author",
        "date",
        "page-template",
    }
)
# Path parts of section (rubric) links, for the generic section layer.
CATEGORY_PATH_PARTS = ("/category/", "/rubric/", "/rubrika/", "/section/")
NOT_FOUND_TITLES = ("страница не найдена", "page not found", "ошибка 404", "404")
AUTHOR_LABELS = ("автор:", "автор", "текст:", "by")
_NAME_RE = re.compile(r"^[A-ZА-ЯЁ][\w.’'-]+(?:\s+[A-ZА-ЯЁ][\w.’'-]+){0,3}$")
_CATEGORY_HREF_RE = re.compile("|".join(map(re.escape, CATEGORY_PATH_PARTS)))


def strip_author_label(text: str) -> str:
    """«Автор: Имя Фамилия» -> «Имя Фамилия»."""
    folded = text.casefold()
    for label in AUTHOR_LABELS:
        if folded.startswith(label + " ") or (label.endswith(":") and folded.startswith(label)):
            return text[len(label) :].strip(" :")
    return text


def looks_like_name(text: str) -> bool:
    """One to four capitalised words: a byline, not a login («admin») nor a sentence."""
    return bool(_NAME_RE.match(text))


def is_category_href(href: str | None) -> bool:
    """A link to a section (rubric) page."""
    return bool(href and _CATEGORY_HREF_RE.search(href))
