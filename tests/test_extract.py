"""kantkg.extract_article on every replica markup, on non-articles, and its small rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kantkg import extract_article
from kantkg.extract import extract_raw, strip_site_name, text_blocks
from kantkg.extract import parse as parse_html
from kantkg.replica import MARKUPS, Corpus
from kantkg.replica.corpus import SEED_PATH
from kantkg.replica.render import SHOWS, article_page, listing_page, not_found_page

BASE = "https://kant.kg"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CORPUS = Corpus(120, seed=11, base_url=BASE)

# Which layer each markup's fields must come from: the layering is part of the contract.
EXPECTED_LAYERS = {
    "wp_yoast": {
        "title": "jsonld",
        "published": "jsonld",
        "paragraphs": "site",
        "section": "jsonld",
    },
    # (the generic body is put to the vote; on the site's own pages, when the vote
    # confirms our generic layer's text, that text is kept as it is: "generic/ours")
    "plain_ru_date": {
        "title": "generic",
        "published": "generic",
        "paragraphs": "generic/ours",
        "section": "generic",
    },
    "legacy_cp1251": {
        "title": "generic",
        "published": "generic",
        "paragraphs": "generic/ours",
        "section": "generic",
    },
    "microdata_divs": {
        "title": "microdata",
        "published": "microdata",
        "paragraphs": "microdata",
        "section": "microdata",
    },
    "td_newspaper": {"title": "meta", "published": "meta", "paragraphs": "site", "section": "meta"},
}


def page_of(truth):
    related = [(p, CORPUS.meta(p)["title"]) for p in CORPUS.paths[:5] if p != truth.path]
    body, _charset = article_page(truth, BASE, related)
    return body


def articles_in(markup: str, count: int = 6):
    found = [a for a in CORPUS.all() if a.markup == markup][:count]
    assert found, markup
    return found


@pytest.mark.parametrize("markup", MARKUPS)
def test_each_markup_gives_what_the_site_published(markup):
    for truth in articles_in(markup):
        item = extract_article(page_of(truth), truth.url, now=NOW)
        assert item is not None, truth.url
        assert item["title"] == truth.title
        assert item["paragraphs"] == list(truth.paragraphs)
        assert item["section"] == truth.section
        assert item["canonical_url"] == truth.url
        precision = 19 if "seconds" in SHOWS[markup] else 16
        want = truth.published_dt.astimezone(UTC).isoformat()[:precision]
        assert item["published_utc"][:precision] == want
        assert item["published_date"] == truth.published[:10]
        if "author" in SHOWS[markup]:
            assert item["author"] == truth.author
        if "tags" in SHOWS[markup]:
            assert sorted(item["tags"]) == sorted(truth.tags)
        if "modified" in SHOWS[markup] and truth.modified:
            assert datetime.fromisoformat(item["modified"]) == truth.modified_dt
        assert item["duplicates_removed"] == len(truth.repeated)
        assert item["boilerplate_removed"] >= bool(truth.source_line)
        for field, layer in EXPECTED_LAYERS[markup].items():
            assert item["method"].get(field) == layer, (field, item["method"])


def test_seed_article():
    seed = CORPUS.get(SEED_PATH)
    item = extract_article(page_of(seed), seed.url, now=NOW)
    assert item["title"] == (
        "Состоялась встреча Президента Садыра Жапарова с Президентом России Владимиром Путиным"
    )
    assert len(item["paragraphs"]) == 12
    assert item["duplicates_removed"] == 2
    assert not any("Ссылка на новость" in p for p in item["paragraphs"])
    assert item["published"] == "2021-05-25T10:41:23+06:00"
    assert item["published_utc"] == "2021-05-25T04:41:23+00:00"


@pytest.mark.parametrize("markup", MARKUPS)
def test_furniture_is_never_text(markup):
    for truth in articles_in(markup, 3):
        text = " ".join(extract_article(page_of(truth), truth.url, now=NOW)["paragraphs"])
        for furniture in (
            "Фото:",
            "Поделиться",
            "Похожие новости",
            "Реклама",
            "Подписывайтесь",
            "Давно пора",
            "Другие новости",
            "Читайте также",
            "Просмотров",
            "Главная",
        ):
            assert furniture not in text, (markup, furniture)


def test_bytes_in_windows_1251_decode_without_http_headers():
    truth = articles_in("legacy_cp1251", 1)[0]
    raw = page_of(truth)
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert extract_article(raw, truth.url, now=NOW)["title"] == truth.title


def listing(entries=8, heading="Новости Кыргызстана"):
    rows = [
        (p, CORPUS.meta(p)["title"], CORPUS.get(p).paragraphs[0]) for p in CORPUS.paths[:entries]
    ]
    return listing_page(BASE, heading, rows, f"{BASE}/page/2/", None)


@pytest.mark.parametrize(
    "url, page",
    [
        (f"{BASE}/", listing()),
        (f"{BASE}/page/2/", listing()),
        (f"{BASE}/category/politika/", listing(heading="Политика")),
        (f"{BASE}/?s=Бишкек", listing(3, heading="Результаты поиска: Бишкек")),
        (f"{BASE}/tag/bishkek/", listing(0, heading="Метка: Бишкек")),
        (f"{BASE}/no-such-page/", not_found_page(BASE)),
        (f"{BASE}/", ""),
        (f"{BASE}/", "<html><body></body></html>"),
        (f"{BASE}/", b"\x00\x01\x02 binary junk \xff\xfe"),
    ],
)
def test_non_articles_give_none(url, page):
    assert extract_article(page, url) is None


def test_title_site_name_is_stripped_either_side():
    assert strip_site_name("Новость дня - Информационное агентство «Кант»") == "Новость дня"
    assert strip_site_name("Кант :: Новость дня") == "Новость дня"
    assert strip_site_name("Новость дня | Kant.kg") == "Новость дня"
    assert strip_site_name("Кант") == "Кант"  # never strip to nothing
    assert strip_site_name("Выставка «Кант и Кыргызстан»") == "Выставка «Кант и Кыргызстан»"


def test_br_br_separates_paragraphs_single_br_does_not():
    root = parse_html(
        "<html><body><td>Первый абзац<br>продолжение.<br><br>"
        "Второй <b>абзац</b>.<br> <br>\n<br>Третий.</td></body></html>"
    )
    assert [t for t, _ in text_blocks(root.find("body"))] == [
        "Первый абзац продолжение.",
        "Второй абзац.",
        "Третий.",
    ]


def test_canonical_pointing_elsewhere_is_ignored():
    truth = articles_in("wp_yoast", 1)[0]
    page = (
        page_of(truth)
        .decode()
        .replace(
            f'<link rel="canonical" href="{truth.url}">', f'<link rel="canonical" href="{BASE}/">'
        )
    )
    page = page.replace(f'<meta property="og:url" content="{truth.url}">', "")
    item = extract_raw(page, truth.url)
    assert item["canonical_url"] == truth.url
    assert item["method"]["canonical_url"] == "url"


def test_article_page_without_body_still_comes_back_for_the_archive_to_drop():
    page = (
        '<html><head><meta property="og:type" content="article">'
        "<title>Заголовок - Kant.kg</title></head><body><h1>Заголовок</h1></body></html>"
    )
    item = extract_raw(page, f"{BASE}/2024-01-02/zagolovok/")
    assert item is not None and item["title"] == "Заголовок" and item["paragraphs"] == []


def _dated_page(meta: str, visible: str, jsonld: str = "") -> bytes:
    ld = (
        (
            '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Заголовок",'
            f' "datePublished": "{jsonld}"}}</script>'
        )
        if jsonld
        else ""
    )
    return (
        f'<html><head><meta property="og:type" content="article">{ld}'
        f'<meta property="article:published_time" content="{meta}"></head><body>'
        f'<h1>Заголовок</h1><div class="date">{visible}</div><div class="entry-content">'
        f"<p>{'Текст статьи про Бишкек и окрестности. ' * 4}</p></div></body></html>"
    ).encode()


def test_a_lone_structured_date_is_cross_checked_against_the_visible_one():
    page = _dated_page("2021-05-25T10:41:00+06:00", "24 мая 2021, 18:00")
    item = extract_article(page, "https://kant.kg/news/slug/", now=NOW)
    assert item["published"] == "2021-05-25T10:41:00+06:00"
    assert item["date_warnings"] == [
        "published 2021-05-25 (meta) disagrees with 2021-05-24 (generic)"
    ]


def test_a_structured_date_confirmed_twice_does_not_read_the_text():
    page = _dated_page(
        "2021-05-25T04:41:00+00:00", "24 мая 2021, 18:00", jsonld="2021-05-25T10:41:00+06:00"
    )
    item = extract_article(page, "https://kant.kg/news/slug/", now=NOW)
    assert item["published"] == "2021-05-25T10:41:00+06:00"
    assert item["date_warnings"] == []
    assert [layer for layer, _ in item["dates_raw"]["published"]] == ["jsonld", "meta"]


def _byline_page(byline: str, encoding: str = "utf-8") -> bytes:
    return (
        f'<html><head><meta charset="{encoding}"><meta property="og:type" content="article">'
        f'</head><body><h1>Заголовок</h1><div class="line">25 мая 2021 | {byline}</div>'
        f'<div class="entry-content"><p>{"Новости про Бишкек и окрестности. " * 5}</p></div>'
        "</body></html>"
    ).encode(encoding, "xmlcharrefreplace")


@pytest.mark.parametrize(
    "byline, encoding",
    [
        ("Автор: Айгуль Осмонова", "utf-8"),
        ("Автор: Айгуль Осмонова", "windows-1251"),
        ("&#1040;&#1074;&#1090;&#1086;&#1088;: Айгуль Осмонова", "utf-8"),  # numeric references
        ("&Acy;&vcy;&tcy;&ocy;&rcy;: Айгуль Осмонова", "utf-8"),  # HTML5 named references
    ],
)
def test_a_labelled_byline_is_found_however_the_page_spells_it(byline, encoding):
    """The label is looked for in the tree only if the page's source may hold it: that
    shortcut must not miss labels spelled as character references or in other charsets."""
    item = extract_raw(_byline_page(byline, encoding), "https://kant.kg/2021-05-25/slug/")
    assert item["author"] == "Айгуль Осмонова"


def _lead_page(before: str, after: str) -> str:
    text = "".join(
        f"<p>{n}-й абзац статьи о строительстве дорог в Чуйской области.</p>" for n in range(1, 9)
    )
    return (
        f'<html><body><div class="story">{before}<h1>Дороги</h1>{after}'
        f'<div class="story-text">{text}</div></div></body></html>'
    )


def test_a_lead_between_headline_and_text_block_is_the_first_paragraph():
    lead = "<p>" + "Правительство выделит деньги на ремонт дорог в Чуйской области. " * 2 + "</p>"
    item = extract_raw(_lead_page("", lead), "https://kant.kg/2021-05-25/dorogi/")
    assert item["paragraphs"][0].startswith("Правительство выделит")
    assert len(item["paragraphs"]) == 9
    before = extract_raw(_lead_page(lead, ""), "https://kant.kg/2021-05-25/dorogi/")
    assert before["paragraphs"][0].startswith("1-й абзац") and len(before["paragraphs"]) == 8


def teaser_list(og_type: str = "", entries: int = 6) -> str:
    """A listing in a theme we never wrote rules for: no WordPress body class, no
    structured data, only teasers (headline link, excerpt, date) in plain <div>s."""
    items = "".join(
        f'<div class="item"><h3><a href="{BASE}{p}">{CORPUS.meta(p)["title"]}</a></h3>'
        f'<div class="lead">{CORPUS.get(p).paragraphs[0]}</div><span>25.05.2021</span></div>'
        for p in CORPUS.paths[:entries]
    )
    meta = f'<meta property="og:type" content="{og_type}">' if og_type else ""
    return (
        f"<html><head><title>Новости - Кант</title>{meta}</head><body>"
        f"<div class=wrap><h1>Новости</h1><div class=list>{items}</div></div>"
        f"</body></html>"
    )


@pytest.mark.parametrize("og_type", ["", "article"])
def test_a_list_of_teasers_at_an_article_url_is_no_article(og_type):
    url = f"{BASE}/2021-05-25/kakaya-to-novost/"
    assert extract_raw(teaser_list(og_type), url) is None


def test_an_article_followed_by_teasers_of_other_articles_is_an_article():
    truth = articles_in("plain_ru_date", 1)[0]
    page = teaser_list()
    body = "".join(f"<p>{p}</p>" for p in truth.paragraphs)
    page = page.replace(
        "<div class=wrap><h1>Новости</h1>",
        f"<div class=wrap><h1>{truth.title}</h1><div class=text>{body}</div><h2>Читайте также</h2>",
    )
    item = extract_article(page, truth.url, now=NOW)
    assert item is not None
    assert item["paragraphs"] == list(truth.paragraphs)


def test_a_body_only_in_json_ld_is_kept_when_the_html_shows_none():
    body = "Первый абзац статьи о встрече в Бишкеке.\nВторой абзац: итоги переговоров."
    page = (
        '<html><head><script type="application/ld+json">{"@type": "NewsArticle", '
        f'"headline": "Заголовок статьи", "articleBody": "{body}"}}</script></head>'
        '<body><h1>Заголовок статьи</h1><nav><a href="/">Меню</a></nav>'
        '<div id="app"></div></body></html>'
    )
    for url in (
        "https://example.com/news/zagolovok-stati-o-vstreche/",
        f"{BASE}/2021-05-25/zagolovok/",
    ):
        item = extract_raw(page, url)
        assert item["paragraphs"] == body.split("\n"), url
        assert item["method"]["paragraphs"] == "jsonld", url


@pytest.mark.parametrize(
    "self_link",
    [
        "http://kant.kg/2021-05-25/vstrecha-v-bishkeke/",
        "https://www.kant.kg/2021-05-25/vstrecha-v-bishkeke/?utm_source=tg",
        "/2021-05-25/vstrecha-v-bishkeke",
        "https://kant.kg/2021-05-25/vstrecha%2Dv%2Dbishkeke/",
    ],
)
def test_an_article_whose_headline_links_to_itself_is_no_listing(self_link):
    """Its headline links to the page in another spelling of its URL: the article is
    not a teaser of another page, however short it is."""
    paragraphs = [
        "Состоялась встреча в Бишкеке, где обсудили сотрудничество двух стран.",
        "Стороны подписали соглашение о строительстве новой дороги.",
    ]
    related = "".join(
        f'<div class=item><h3><a href="{BASE}{p}">{CORPUS.meta(p)["title"]}'
        "</a></h3><p>Краткое описание другой новости.</p></div>"
        for p in CORPUS.paths[:3]
    )
    page = (
        '<html><head><meta property="og:type" content="article"></head><body>'
        f'<div class=wrap><div class=post><h2><a href="{self_link}">Встреча в Бишкеке'
        "</a></h2>"
        + "".join(f"<p>{p}</p>" for p in paragraphs)
        + f"</div><div class=more>{related}</div></div></body></html>"
    )
    item = extract_raw(page, f"{BASE}/2021-05-25/vstrecha-v-bishkeke/")
    assert item is not None and item["paragraphs"][:2] == paragraphs


def test_json_ld_nested_deeply_is_no_crash():
    headline = "[" * 900 + '"Заголовок"' + "]" * 900
    page = (
        '<html><head><script type="application/ld+json">{"@type": "NewsArticle", '
        f'"headline": {headline}, "author": {{"@id": ["x"]}}}}</script></head><body>'
        f"<h1>Заголовок</h1><p>{'Текст статьи о событиях в Бишкеке. ' * 4}</p>"
        "</body></html>"
    )
    item = extract_raw(page, f"{BASE}/2021-05-25/zagolovok/")
    assert item is not None and item["title"] == "Заголовок"


def test_text_blocks_of_a_tree_nested_past_the_recursion_limit():
    root = parse_html(
        "<html><body><div>"
        + "<span>" * 2000
        + "Первый абзац."
        + "</span>" * 2000
        + "<br><br>Второй абзац.</div></body></html>"
    )
    assert text_blocks(root) == [("Первый абзац.", 0.0), ("Второй абзац.", 0.0)]
