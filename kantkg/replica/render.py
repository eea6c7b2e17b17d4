"""HTML and XML of the replica: five article markups, listings, sitemaps, feed, robots.

The markups are deliberately different (structured data or none, UTF-8 or
windows-1251, <p> or <div> or <br><br> paragraphs, dates in ISO, UTC or Russian words)
so that the extractor is tested on several plausible kant.kg themes rather than one.
Every page carries the furniture a real news page has: menus, share buttons, captions,
related posts, ads, comments, subscribe lines.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape

from kantkg.replica.corpus import BISHKEK, SECTIONS, ArticleTruth, translit

SITE_NAME = "Информационное агентство «Кант»"
MONTHS_GENITIVE = (
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
)


def ru_date(dt: datetime, *, year_suffix: str = "") -> str:
    """«25 мая 2021, 10:41» (optionally «25 мая 2021 г., 10:41»)."""
    local = dt.astimezone(BISHKEK)
    return (
        f"{local.day} {MONTHS_GENITIVE[local.month - 1]} {local.year}{year_suffix}, {local:%H:%M}"
    )


def _e(text: str) -> str:
    return escape(text, quote=True)


def _menu(base: str) -> str:
    return "".join(
        f'<li><a href="{base}/category/{slug}/">{_e(name)}</a></li>' for name, slug in SECTIONS
    )


def _links(base: str, related: Sequence[tuple[str, str]], item: str = "li") -> str:
    return "".join(
        f'<{item}><a href="{base}{path}">{_e(title)}</a></{item}>' for path, title in related
    )


def _caption(a: ArticleTruth) -> str:
    return f"Фото: пресс-служба, иллюстративное ({a.section.lower()})"


# ----------------------------------------------------------------- wp + Yoast


def wp_yoast(a: ArticleTruth, base: str, related: Sequence[tuple[str, str]]) -> str:
    """WordPress theme + Yoast SEO: JSON-LD graph, OpenGraph, .entry-content <p>s."""
    article: dict = {
        "@type": "NewsArticle",
        "@id": f"{a.url}#article",
        "isPartOf": {"@id": a.url},
        "headline": a.title,
        "datePublished": a.published,
        "dateModified": a.modified or a.published,
        "mainEntityOfPage": {"@id": a.url},
        "publisher": {"@id": f"{base}/#organization"},
        "keywords": list(a.tags),
        "articleSection": [a.section],
        "inLanguage": "ru-RU",
    }
    graph: list[dict] = [article]
    if a.author:
        article["author"] = {"name": a.author, "@id": f"{base}/#/schema/person/{a.index}"}
        graph.append({"@type": "Person", "@id": article["author"]["@id"], "name": a.author})
    graph += [
        {
            "@type": "WebPage",
            "@id": a.url,
            "url": a.url,
            "name": f"{a.title} - {SITE_NAME}",
            "datePublished": a.published,
            "inLanguage": "ru-RU",
        },
        {
            "@type": "Organization",
            "@id": f"{base}/#organization",
            "name": SITE_NAME,
            "url": f"{base}/",
        },
    ]
    ld = json.dumps({"@context": "https://schema.org", "@graph": graph}, ensure_ascii=False)
    paragraphs = [f"<p>{_e(p)}</p>" for p in a.page_paragraphs]
    paragraphs.insert(
        1,
        (
            '<figure class="wp-block-image size-large"><img src="/wp-content/uploads/photo.jpg" '
            f'alt=""><figcaption>{_e(_caption(a))}</figcaption></figure>'
        ),
    )
    modified_meta = (
        f'<meta property="article:modified_time" content="{a.modified}">' if a.modified else ""
    )
    byline = (
        f'<span class="byline"> Автор: <span class="author vcard"><a class="url fn n" '
        f'href="{base}/author/{translit(a.author)}/">{_e(a.author)}</a></span></span>'
        if a.author
        else ""
    )
    tags = ", ".join(f'<a href="{base}/tag/{translit(t)}/" rel="tag">{_e(t)}</a>' for t in a.tags)
    return f"""<!DOCTYPE html>
<html lang="ru-RU">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(a.title)} - {_e(SITE_NAME)}</title>
<link rel="canonical" href="{a.url}">
<meta property="og:locale" content="ru_RU">
<meta property="og:type" content="article">
<meta property="og:title" content="{_e(a.title)} - Kant.kg">
<meta property="og:url" content="{a.url}">
<meta property="og:site_name" content="{_e(SITE_NAME)}">
<meta property="article:published_time" content="{a.published}">
{modified_meta}
<script type="application/ld+json" class="yoast-schema-graph">{ld}</script>
<link rel="stylesheet" href="/wp-content/themes/kant/style.css">
</head>
<body class="post-template-default single single-post postid-{a.index}">
<header id="masthead" class="site-header">
<div class="site-branding"><a href="{base}/" rel="home">{_e(SITE_NAME)}</a></div>
<nav id="site-navigation" class="main-navigation"><ul id="primary-menu">{_menu(base)}</ul></nav>
</header>
<div id="content" class="site-content"><div id="primary" class="content-area">
<main id="main" class="site-main">
<article id="post-{a.index}" class="post-{a.index} post type-post status-publish format-standard">
<header class="entry-header">
<div class="cat-links"><a href="{base}/category/{a.section_slug}/" rel="category tag">{_e(a.section)}</a></div>
<h1 class="entry-title">{_e(a.title)}</h1>
<div class="entry-meta"><span class="posted-on"><a href="{a.url}" rel="bookmark"><time class="entry-date published" datetime="{a.published}">{a.published_dt:%d.%m.%Y}</time></a></span>{byline}</div>
</header>
<div class="entry-content">
{"".join(paragraphs)}
<div class="sharedaddy sd-sharing-enabled"><h3 class="sd-title">Поделиться:</h3><ul><li><a class="share-facebook" href="#">Facebook</a></li><li><a class="share-telegram" href="#">Telegram</a></li><li><a class="share-print" href="#">Печать</a></li></ul></div>
<div id="jp-relatedposts" class="jp-relatedposts"><h3 class="jp-relatedposts-headline">Похожие новости</h3>{_links(base, related, "p")}</div>
</div>
<footer class="entry-footer"><span class="tags-links">Метки: {tags}</span></footer>
</article>
<div id="comments" class="comments-area"><h2 class="comments-title">Комментарии</h2>
<ol class="comment-list"><li class="comment"><article class="comment-body"><div class="comment-content"><p>Давно пора было этим заняться, посмотрим, что получится на деле.</p></div></article></li></ol>
<div id="respond" class="comment-respond"><h3>Оставить комментарий</h3><form><textarea name="comment"></textarea></form></div></div>
</main></div>
<aside id="secondary" class="widget-area"><section class="widget widget_recent_entries"><h2 class="widget-title">Последние новости</h2><ul>{_links(base, related)}</ul></section></aside>
</div>
<footer id="colophon" class="site-footer"><p>© 2008–2026 {_e(SITE_NAME)}. При использовании материалов ссылка на kant.kg обязательна.</p></footer>
</body>
</html>
"""


# ------------------------------------------------------- custom theme, no data


def plain_ru_date(a: ArticleTruth, base: str, related: Sequence[tuple[str, str]]) -> str:
    """A hand-made theme: no structured data, a visible Russian date, breadcrumbs."""
    blocks = [f"<p>{_e(p)}</p>" for p in a.page_paragraphs]
    if related:
        path, title = related[0]
        blocks.insert(
            min(2, len(blocks)),
            (f'<p><strong>Читайте также:</strong> <a href="{base}{path}">{_e(title)}</a></p>'),
        )
    blocks.insert(
        1,
        (
            '<div class="banner banner-inline"><a href="/reklama/">'
            '<img src="/banners/728x90.gif" alt="Реклама"></a></div>'
        ),
    )
    author = f'<div class="news-author">Автор: {_e(a.author)}</div>' if a.author else ""
    description = _e(a.paragraphs[0][:150])
    return f"""<!DOCTYPE html>
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>{_e(a.title)} | Кант</title>
<meta name="description" content="{description}">
<link rel="stylesheet" href="/css/main.css">
</head>
<body>
<div class="wrapper">
<div class="header"><a href="{base}/" class="logo">Кант</a>
<ul class="menu">{_menu(base)}</ul>
<form class="search" action="{base}/"><input name="s" placeholder="Поиск по сайту"></form></div>
<div class="breadcrumbs"><a href="{base}/">Главная</a> » <a href="{base}/category/{a.section_slug}/">{_e(a.section)}</a> » <span>{_e(a.title)}</span></div>
<div class="content">
<div class="news-detail">
<h1>{_e(a.title)}</h1>
<div class="news-info"><span class="news-date">{ru_date(a.published_dt)}</span> <span class="news-views">Просмотров: {1000 + a.index % 9000}</span></div>
<div class="news-text">
{"".join(blocks)}
</div>
{author}
<div class="share"><span>Поделиться:</span> <a href="#">ВКонтакте</a> <a href="#">Facebook</a> <a href="#">Telegram</a></div>
</div>
<div class="other-news"><h3>Другие новости</h3><ul>{_links(base, related)}</ul></div>
</div>
<div class="sidebar"><div class="block"><div class="block-title">Популярное</div><ul>{_links(base, related[::-1])}</ul></div>
<div class="subscribe">Подписывайтесь на наш Telegram-канал, чтобы первыми узнавать новости</div></div>
<div class="footer">© Информационное агентство «Кант». Все права защищены.</div>
</div>
</body>
</html>
"""


# ------------------------------------------------------ legacy windows-1251


def legacy_cp1251(a: ArticleTruth, base: str, related: Sequence[tuple[str, str]]) -> str:
    """A 2000s table layout: windows-1251, <br><br> between paragraphs, no <p> at all."""
    local = a.published_dt.astimezone(BISHKEK)
    text = "<br><br>\n".join(_e(p) for p in a.page_paragraphs)
    menu = "<br>".join(
        f'<a href="{base}/category/{slug}/">{_e(name)}</a>' for name, slug in SECTIONS
    )
    others = "<br>".join(f'<a href="{base}{p}">{_e(t)}</a>' for p, t in related)
    return f"""<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">
<title>Кант :: {_e(a.title)}</title>
</head>
<body bgcolor="#ffffff" topmargin="0" leftmargin="0">
<table width="100%" border="0" cellpadding="0" cellspacing="0">
<tr><td colspan="3" class="logo"><a href="{base}/"><img src="/img/logo.gif" border="0" alt="Кант"></a></td></tr>
<tr>
<td width="180" valign="top" class="menu">{menu}</td>
<td valign="top" class="main">
<font size="1" class="date">{local:%d.%m.%Y %H:%M}</font> | <a href="{base}/category/{a.section_slug}/">{_e(a.section)}</a><br>
<h2 class="title">{_e(a.title)}</h2>
{text}
<br><br>
</td>
<td width="200" valign="top" class="right"><b>Другие новости:</b><br>{others}</td>
</tr>
</table>
<div class="copy">© ИА «Кант». При перепечатке ссылка обязательна.</div>
</body>
</html>
"""


# ------------------------------------------------------------- microdata


def microdata_divs(a: ArticleTruth, base: str, related: Sequence[tuple[str, str]]) -> str:
    """schema.org microdata, paragraphs as <div>s, the lead in <strong>."""
    first, *rest = a.page_paragraphs
    blocks = [f'<div class="article__lead"><strong>{_e(first)}</strong></div>']
    blocks += [f"<div>{_e(p)}</div>" for p in rest]
    blocks.insert(
        2,
        (
            '<div class="article__photo"><img src="/upload/photo.jpg" alt="">'
            f'<div class="article__photo-caption">{_e(_caption(a))}</div></div>'
        ),
    )
    blocks.append('<div class="article__subscribe">Подписывайтесь на наш канал в Telegram</div>')
    modified = f'<meta itemprop="dateModified" content="{a.modified}">' if a.modified else ""
    author = (
        f'<div class="article__author" itemprop="author" itemscope '
        f'itemtype="https://schema.org/Person"><span itemprop="name">{_e(a.author)}'
        f"</span></div>"
        if a.author
        else ""
    )
    tags = " ".join(f'<a href="{base}/tag/{translit(t)}/">#{_e(t)}</a>' for t in a.tags)
    return f"""<!doctype html>
<html lang="ru">
<head>
<meta charset="utf-8">
<title>{_e(a.title)} — ИА «Кант»</title>
<meta property="og:title" content="{_e(a.title)}">
<meta property="og:type" content="article">
</head>
<body>
<div class="page">
<div class="top-menu"><ul>{_menu(base)}</ul></div>
<div class="article" itemscope itemtype="https://schema.org/NewsArticle">
<meta itemprop="datePublished" content="{a.published}">
{modified}
<div class="article__rubric"><a href="{base}/category/{a.section_slug}/" itemprop="articleSection">{_e(a.section)}</a></div>
<h1 class="article__title" itemprop="headline">{_e(a.title)}</h1>
<div class="article__date">{ru_date(a.published_dt, year_suffix=" г.")}</div>
{author}
<div class="article__body" itemprop="articleBody">
{"".join(blocks)}
</div>
<div class="article__tags">{tags}</div>
</div>
<div class="related"><div class="related__title">Читайте также</div>{_links(base, related, "div")}</div>
</div>
</body>
</html>
"""


# -------------------------------------------------------- tagDiv Newspaper


def td_newspaper(a: ArticleTruth, base: str, related: Sequence[tuple[str, str]]) -> str:
    """tagDiv Newspaper-like theme: OpenGraph times in UTC, .td-post-content."""
    utc = a.published_dt.astimezone(UTC).isoformat(timespec="seconds")
    blocks = [f"<p>{_e(p)}</p>" for p in a.page_paragraphs]
    blocks.insert(
        min(3, len(blocks)),
        (
            '<div class="td-a-rec td-a-rec-id-content_inline"><span class="td-adspot-title">'
            '- Реклама -</span><div class="adv"><img src="/ad.png" alt=""></div></div>'
        ),
    )
    tag_meta = "".join(f'<meta property="article:tag" content="{_e(t)}">' for t in a.tags)
    author = (
        f'<div class="td-post-author-name"><div class="td-author-by">Автор</div> '
        f'<a href="{base}/author/{translit(a.author)}/">{_e(a.author)}</a></div>'
        if a.author
        else ""
    )
    tags = "".join(f'<li><a href="{base}/tag/{translit(t)}/">{_e(t)}</a></li>' for t in a.tags)
    related_html = "".join(
        f'<div class="td_module_related_posts"><h3 class="entry-title td-module-title">'
        f'<a href="{base}{p}" rel="bookmark">{_e(t)}</a></h3></div>'
        for p, t in related
    )
    return f"""<!doctype html>
<html lang="ru-RU">
<head>
<meta charset="UTF-8">
<title>{_e(a.title)} | Kant.kg</title>
<meta property="og:type" content="article">
<meta property="og:title" content="{_e(a.title)}">
<meta property="og:url" content="{a.url}">
<meta property="og:site_name" content="Kant.kg">
<meta property="article:published_time" content="{utc}">
<meta property="article:section" content="{_e(a.section)}">
{tag_meta}
</head>
<body class="post-template-default single single-post td-standard-pack">
<div class="td-header-wrap"><div class="td-header-menu-wrap"><ul class="sf-menu">{_menu(base)}</ul></div></div>
<div class="td-main-content-wrap td-container-wrap"><div class="td-container">
<div class="td-crumb-container"><div class="entry-crumbs"><span><a class="entry-crumb" href="{base}/">Главная</a></span> <i class="td-icon-right td-bread-sep"></i> <span><a class="entry-crumb" href="{base}/category/{a.section_slug}/">{_e(a.section)}</a></span></div></div>
<div class="td-pb-row"><div class="td-pb-span8 td-main-content">
<article class="post type-post status-publish">
<div class="td-post-header">
<ul class="td-category"><li class="entry-category"><a href="{base}/category/{a.section_slug}/">{_e(a.section)}</a></li></ul>
<header class="td-post-title"><h1 class="entry-title">{_e(a.title)}</h1>
<div class="td-module-meta-info">{author}<span class="td-post-date"><time class="entry-date updated td-module-date" datetime="{a.published}">{a.published_dt:%d.%m.%Y}</time></span>
<div class="td-post-views"><span class="td-nr-views-{a.index}">{500 + a.index % 5000}</span></div></div>
</header></div>
<div class="td-post-sharing-top"><div class="td-post-sharing"><a class="td-social-sharing-button" href="#"><span class="td-social-but-text">Facebook</span></a><a class="td-social-sharing-button" href="#"><span class="td-social-but-text">Telegram</span></a></div></div>
<div class="td-post-content tagdiv-type">
{"".join(blocks)}
</div>
<footer><div class="td-post-source-tags"><ul class="td-tags td-post-small-box clearfix"><li><span>Теги</span></li>{tags}</ul></div>
<div class="td_block_wrap td_block_related_posts"><h4 class="td-related-title"><a class="td-related-left td-cur-simple-item" href="#">Похожие новости</a></h4>{related_html}</div>
</footer>
</article>
</div>
<div class="td-pb-span4 td-main-sidebar"><aside class="td_block_template_1 widget"><h4 class="block-title">Последние новости</h4><ul>{_links(base, related)}</ul></aside></div>
</div></div></div>
<div class="td-footer-wrapper">© Kant.kg</div>
</body>
</html>
"""


RENDERERS: dict[str, Callable[[ArticleTruth, str, Sequence[tuple[str, str]]], str]] = {
    "wp_yoast": wp_yoast,
    "plain_ru_date": plain_ru_date,
    "legacy_cp1251": legacy_cp1251,
    "microdata_divs": microdata_divs,
    "td_newspaper": td_newspaper,
}
ENCODINGS = {"legacy_cp1251": "windows-1251"}
# What each markup shows beyond title, text, section and a date to the minute: the
# fields an extractor can be held to for a page in that markup.
SHOWS: dict[str, frozenset[str]] = {
    "wp_yoast": frozenset({"seconds", "author", "tags", "modified"}),
    "plain_ru_date": frozenset({"author"}),
    "legacy_cp1251": frozenset(),
    "microdata_divs": frozenset({"seconds", "author", "tags", "modified"}),
    "td_newspaper": frozenset({"seconds", "author", "tags"}),
}


def article_page(
    a: ArticleTruth, base: str, related: Sequence[tuple[str, str]]
) -> tuple[bytes, str]:
    """-> (body, charset) of an article page in its markup."""
    charset = ENCODINGS.get(a.markup, "utf-8")
    html = RENDERERS[a.markup](a, base, related)
    return html.encode(charset, errors="xmlcharrefreplace"), charset


# -------------------------------------------------------------- listings


def listing_page(
    base: str,
    heading: str,
    entries: Sequence[tuple[str, str, str]],
    next_url: str | None,
    prev_url: str | None,
) -> str:
    """A WordPress archive page: front page, /page/N/, category, tag, search results.

    entries: (path, title, excerpt)
    """
    posts = "".join(
        f'<article class="post type-post"><header class="entry-header">'
        f'<h2 class="entry-title"><a href="{base}{path}" rel="bookmark">{_e(title)}</a></h2>'
        f'</header><div class="entry-summary"><p>{_e(excerpt)}</p></div>'
        f'<a class="more-link" href="{base}{path}">Читать далее</a></article>'
        for path, title, excerpt in entries
    )
    if not entries:
        posts = '<section class="no-results"><p>Ничего не найдено.</p></section>'
    nav = ""
    if prev_url:
        nav += f'<a class="prev page-numbers" href="{prev_url}">« Назад</a>'
    if next_url:
        nav += f'<a class="next page-numbers" href="{next_url}">Далее »</a>'
    rel_next = f'<link rel="next" href="{next_url}">' if next_url else ""
    return f"""<!DOCTYPE html>
<html lang="ru-RU">
<head>
<meta charset="UTF-8">
<title>{_e(heading)} - {_e(SITE_NAME)}</title>
<meta property="og:type" content="website">
{rel_next}
</head>
<body class="archive blog">
<header id="masthead" class="site-header"><nav class="main-navigation"><ul>{_menu(base)}</ul></nav></header>
<main id="main" class="site-main">
<header class="page-header"><h1 class="page-title">{_e(heading)}</h1></header>
{posts}
<nav class="navigation pagination"><div class="nav-links">{nav}</div></nav>
</main>
<footer id="colophon" class="site-footer"><p>© 2008–2026 {_e(SITE_NAME)}</p></footer>
</body>
</html>
"""


def not_found_page(base: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="ru-RU"><head><meta charset="UTF-8">
<title>Страница не найдена - {_e(SITE_NAME)}</title></head>
<body class="error404"><header class="site-header"><nav><ul>{_menu(base)}</ul></nav></header>
<main id="main"><section class="error-404 not-found"><h1 class="page-title">Страница не найдена</h1>
<p>Похоже, здесь ничего нет. Попробуйте воспользоваться поиском.</p>
<form action="{base}/"><input name="s"></form></section></main></body></html>
"""


# --------------------------------------------------------- machine pages


def robots_txt(base: str, sitemaps: bool = True, disallow: tuple[str, ...] = ()) -> str:
    rules = "User-agent: *\nDisallow: /wp-admin/\nAllow: /wp-admin/admin-ajax.php\n"
    rules += "".join(f"Disallow: {path}\n" for path in disallow)
    return rules + (f"\nSitemap: {base}/sitemap_index.xml\n" if sitemaps else "")


def _w3c(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


def _sitemap(root: str, entry: str, base: str, rows: Sequence[tuple[str, datetime | None]]) -> str:
    body = "".join(
        f"<{entry}><loc>{base}{path}</loc>"
        + (f"<lastmod>{_w3c(lastmod)}</lastmod>" if lastmod else "")
        + f"</{entry}>\n"
        for path, lastmod in rows
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<{root} xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"{body}</{root}>\n"
    )


def sitemap_index(base: str, sitemaps: Sequence[tuple[str, datetime | None]]) -> str:
    return _sitemap("sitemapindex", "sitemap", base, sitemaps)


def urlset(base: str, urls: Sequence[tuple[str, datetime | None]]) -> str:
    return _sitemap("urlset", "url", base, urls)


def rss_feed(base: str, articles: Sequence[ArticleTruth]) -> str:
    items = "".join(
        f"<item><title>{_e(a.title)}</title><link>{a.url}</link>"
        f"<pubDate>{format_datetime(a.published_dt.astimezone(UTC), usegmt=True)}</pubDate>"
        f"<category><![CDATA[{a.section}]]></category>"
        f'<guid isPermaLink="false">{base}/?p={a.index}</guid>'
        f"<description><![CDATA[{a.paragraphs[0][:200]}]]></description></item>\n"
        for a in articles
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0">\n<channel>\n'
        f"<title>{_e(SITE_NAME)}</title><link>{base}</link>"
        "<description>Новости Кыргызстана</description><language>ru-RU</language>\n"
        f"{items}</channel>\n</rss>\n"
    )
