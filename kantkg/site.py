"""Everything kant.kg-specific: URL shapes, site names, boilerplate phrases, selectors.

When kant.kg changes its theme or wording, this is the one module to edit.
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlsplit

DEFAULT_BASE_URL = "https://kant.kg"
TIMEZONE = "Asia/Bishkek"  # UTC+06:00, no DST since 2005

# ---------------------------------------------------------------- URL patterns

# WordPress permalink of a post: /YYYY-MM-DD/<transliterated-slug>/
ARTICLE_PATH_RE = re.compile(r"^/(?P<date>\d{4}-\d{2}-\d{2})/(?P<slug>[a-z0-9][a-z0-9_%-]*)/?$")

# Paths that are never articles even when linked from one.
NON_ARTICLE_PREFIXES = (
    "/category/", "/tag/", "/page/", "/author/", "/feed", "/wp-", "/search", "/amp/",
)


def article_path_match(url: str) -> re.Match[str] | None:
    """Match an article permalink on any host; callers check the host separately."""
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


def same_site(url: str, base_url: str) -> bool:
    """True when url is on the crawled site (host and port), ignoring a leading www."""
    a, b = urlsplit(url), urlsplit(base_url)

    def host(parts) -> str:
        return (parts.hostname or "").lower().removeprefix("www.")

    return host(a) == host(b) and (a.port or None) == (b.port or None)


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
    "следите за новостями",
    "присоединяйтесь к нам",
    "наш telegram",
    "наш телеграм",
    "при использовании материалов",
    "при перепечатке",
    "при копировании",
    "теги:",
    "метки:",
)

# Whole-paragraph boilerplate: short lines that are only a share/subscribe call.
BOILERPLATE_EXACT = frozenset({
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
})
