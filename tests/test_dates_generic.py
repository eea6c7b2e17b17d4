"""Publication dates on pages of other sites: parse forms, URL dates, the UTC rule, the
htmldate layer, and single-content pages that are not listings. Small inline pages only."""

from datetime import UTC, date, datetime

import pytest

from kantkg import extract_article
from kantkg.dates import normalize_dates, parse_date, url_date
from kantkg.extract.classify import looks_like_article_url

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20201123T11:02:35Z", "2020-11-23T11:02:35+00:00"),  # basic ISO
        ("2020-09-25T16:02:50CDT", "2020-09-25T16:02:50-05:00"),  # zone abbreviation
        ("2020-12-05T23:15:0Z", "2020-12-05T23:15:00+00:00"),  # sloppy seconds
        ("13 Jan 2020, 22:11 GMT+10", "2020-01-13T22:11:00+10:00"),  # page's own offset kept
        (
            "Tue Aug 25 2020 00:23:33 GMT+0000 (Coordinated Universal Time)",
            "2020-08-25T00:23:33+00:00",
        ),
        ("Reporter | 2020-03-04 16:52:59", "2020-03-04T16:52:59+06:00"),  # no offset: Bishkek
        ('showDate("2020/04/17 01:43:09")', "2020-04-17T01:43:09+06:00"),
        ("2020.08.19.08.00.Gyenesdiás", "2020-08-19T08:00:00+06:00"),
        ("2020.08.19.", "2020-08-19T00:00:00+06:00"),
    ],
)
def test_parse_date_other_sites(text, expected):
    assert parse_date(text, NOW).value.isoformat() == expected


def test_version_numbers_are_no_dates():
    assert parse_date("v1.2020.3.4", NOW) is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://kant.kg/2021-05-25/slug/", date(2021, 5, 25)),
        ("http://x.cl/Deportes/2020/08/24/670291/a.aspx", date(2020, 8, 24)),
        ("https://x.com/news/20201123/some-story?rss=1", date(2020, 11, 23)),
        ("https://x.com/World/News/story-under-control-20200113", date(2020, 1, 13)),
        ("https://x.com/2020/07/consumers.html", None),  # no day
        ("https://x.com/News/120200622120908039/a", None),  # an id, not a date
        ("https://x.com/2020/13/45/a", None),
    ],
)
def test_url_date_common_forms(url, expected):
    assert url_date(url) == expected


def _item(published, url):
    return {"url": url, "canonical_url": url, "dates_raw": {"published": published}}


def test_utc_stamp_one_day_off_the_url_date_gives_the_url_day():
    item = normalize_dates(
        _item([["jsonld", "2020-02-18T02:18:11Z"]], "https://x.com/2020/02/17/some-story/"), NOW
    )
    assert item["published"][:10] == "2020-02-17"
    assert item["method"]["published"] == "url"
    assert any("UTC" in w for w in item["date_warnings"])


def test_page_offset_is_kept_and_far_utc_disagreement_stays_a_warning():
    item = normalize_dates(
        _item([["jsonld", "2020-07-09T10:04:04Z"]], "https://x.com/a/2020/07/08/story.html"), NOW
    )
    assert item["published"] == "2020-07-09T10:04:04+00:00"  # -10:05 is no real offset
    item = normalize_dates(
        _item([["jsonld", "2020-06-29T00:16:15+03:00"]], "https://x.com/a/1"), NOW
    )
    assert item["published"] == "2020-06-29T00:16:15+03:00"


def test_htmldate_bare_day_gives_way_to_a_timed_date_by_the_headline():
    raw = [["htmldate", "2020-12-08"], ["generic", "13 Oct 2020 18:29"]]
    item = normalize_dates(_item(raw, "https://x.com/news/some-long-story-slug"), NOW)
    assert item["published"] == "2020-10-13T18:29:00+06:00"
    item = normalize_dates(_item(raw, "https://x.com/2020/12/08/some-long-story-slug"), NOW)
    assert item["published"][:10] == "2020-12-08"  # the URL confirms htmldate's day


PARAGRAPHS = "".join(
    f"<p>{'Paragraph of the story with enough words to count. ' * 3}</p>" for _ in range(4)
)


def _page(head, body):
    return f"<html><head>{head}</head><body>{body}</body></html>".encode()


def test_htmldate_layer_dates_a_page_without_structured_data():
    html = _page(
        "<title>A story</title>",
        f"<h1>A story</h1><p class='meta'>Published: June 4, 2020</p>{PARAGRAPHS}",
    )
    item = extract_article(html, "https://x.com/world/a-story-about-things-here", now=NOW)
    assert item["published"][:10] == "2020-06-04"


def test_single_content_pages_are_no_listings():
    related = "".join(f"<h3><a href='/r{i}'>Related {i}</a></h3>" for i in range(5))
    html = _page(
        "<title>What? Where'd it go?</title><meta property='og:type' content='website'>",
        f"<h1>What? Where'd it go?</h1>{PARAGRAPHS}{related}",
    )
    assert (
        extract_article(html, "https://forum.x/threads/what-whered-it-go.2675645/", now=NOW)
        is not None
    )
    video = _page(
        "<title>A clip</title><meta property='og:type' content='video.other'>",
        f"<h1>A clip</h1>{PARAGRAPHS}",
    )
    assert extract_article(video, "https://video.x/watch?v=Lfw9H63g0OQ", now=NOW) is not None
    # ... but the same markup on a section or tag URL, or an author profile, is none
    assert extract_article(html, "https://forum.x/category/threads/", now=NOW) is None
    assert extract_article(html, "https://forum.x/", now=NOW) is None
    profile = _page(
        "<title>Jane</title><meta property='og:type' content='profile'>",
        f"<h1>Jane</h1>{PARAGRAPHS}",
    )
    assert (
        extract_article(profile, "https://x.com/people/jane-doe-the-reporter-here", now=NOW) is None
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://x.com/protesters-gather-at-paris-theater/", True),
        ("https://x.com/news/263700449/australian-megablaze", True),
        ("https://x.com/a/b/el-primero-en-hablar-647581", True),
        ("https://x.com/tag/covid-nineteen-vaccine-news/", False),
        ("https://x.com/search?q=one-two-three-four", False),
        ("https://x.com/sport/", False),
        ("https://x.com/", False),
    ],
)
def test_looks_like_article_url(url, expected):
    assert looks_like_article_url(url) is expected


def test_a_utc_time_on_the_sites_own_permalink_is_kept_exact():
    """The site's zone is known: a UTC instant one day off the URL date stays the
    instant (the disagreement is a warning), it does not become the URL's midnight."""
    item = {
        "url": "https://kant.kg/2021-05-24/slug/",
        "canonical_url": "https://kant.kg/2021-05-24/slug/",
        "dates_raw": {"published": [["jsonld", "2021-05-25T03:00:00Z"]]},
    }
    normalize_dates(item, NOW)
    assert item["published_utc"] == "2021-05-25T03:00:00+00:00"
    assert item["method"]["published"] == "jsonld"
    assert any("2021-05-24" in w for w in item["date_warnings"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("25.05.2021 10:41 UTC", "2021-05-25T10:41:00+00:00"),
        ("25 мая 2021, 10:41 MSK", "2021-05-25T10:41:00+03:00"),
        ("2021/5/25 10:41 UTC", "2021-05-25T10:41:00+00:00"),
        ("2021-05-25, 10:41 GMT", "2021-05-25T10:41:00+00:00"),
        ("25 мая 2021, 10:41", "2021-05-25T10:41:00+06:00"),  # no zone: Bishkek
    ],
)
def test_a_zone_after_a_visible_time_is_the_pages(text, expected):
    assert parse_date(text, NOW).value.isoformat() == expected
