"""Date candidates -> instants: the rules a user of the archive relies on."""

from datetime import UTC, datetime

import pytest

from kantkg.dates import normalize_dates, parse_date, settled_without_text

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # 12:00 in Bishkek


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-05-25T10:41:23+06:00", "2021-05-25T10:41:23+06:00"),
        ("2021-05-25T04:41:23Z", "2021-05-25T04:41:23+00:00"),
        ("2021-05-25T10:41:23", "2021-05-25T10:41:23+06:00"),  # naive -> Bishkek
        ("2021-05-25 10:41", "2021-05-25T10:41:00+06:00"),
        ("2021-05-25", "2021-05-25T00:00:00+06:00"),
        ("Tue, 25 May 2021 10:41:23 +0600", "2021-05-25T10:41:23+06:00"),
        ("25 мая 2021, 10:41", "2021-05-25T10:41:00+06:00"),
        ("25 мая 2021 г., 10:41", "2021-05-25T10:41:00+06:00"),
        ("Вторник, 25 мая 2021", "2021-05-25T00:00:00+06:00"),
        ("25.05.2021 10:41", "2021-05-25T10:41:00+06:00"),
        ("25.05.2021", "2021-05-25T00:00:00+06:00"),
        ("Опубликовано: 25 мая 2021, 10:41 | Политика", "2021-05-25T10:41:00+06:00"),
        ("сегодня в 10:41", "2026-11-25T10:41:00+06:00"),
        ("вчера, 23:05", "2026-11-24T23:05:00+06:00"),
        ("2 часа назад", "2026-11-25T10:00:00+06:00"),
    ],
)
def test_parse_date(text, expected):
    parsed = parse_date(text, NOW)
    assert parsed is not None
    assert parsed.value.isoformat() == expected


@pytest.mark.parametrize(
    "junk", ["", "   ", "10", "junk", "Политика", "31.02.2021", "0000-00-00", "x" * 500]
)
def test_junk_is_no_date(junk):
    assert parse_date(junk, NOW) is None


def test_first_parseable_layer_wins_and_is_recorded():
    item = {
        "url": "https://kant.kg/2021-05-25/slug/",
        "dates_raw": {
            "published": [["jsonld", "not a date"], ["site", "25 мая 2021, 10:41"]],
            "modified": [["meta", "2021-05-26T09:00:00+06:00"]],
        },
    }
    normalize_dates(item, NOW)
    assert item["published"] == "2021-05-25T10:41:00+06:00"
    assert item["published_utc"] == "2021-05-25T04:41:00+00:00"
    assert item["published_date"] == "2021-05-25"
    assert item["method"] == {"published": "site", "modified": "meta"}
    assert item["modified_utc"] == "2021-05-26T03:00:00+00:00"
    assert item["date_warnings"] == []


def test_early_morning_keeps_local_date_though_utc_is_previous_day():
    item = {
        "url": "https://kant.kg/2021-05-25/slug/",
        "dates_raw": {"published": [["jsonld", "2021-05-25T03:00:00+06:00"]]},
    }
    normalize_dates(item, NOW)
    assert item["published_utc"].startswith("2021-05-24T21:00")
    assert item["published_date"] == "2021-05-25"


def test_url_date_disagreement_is_recorded_page_date_wins():
    item = {
        "url": "https://kant.kg/2021-05-25/slug/",
        "dates_raw": {"published": [["jsonld", "2021-05-24T10:00:00+06:00"]]},
    }
    normalize_dates(item, NOW)
    assert item["published_date"] == "2021-05-24"
    assert item["date_warnings"] == [
        "published 2021-05-24 (jsonld) disagrees with URL date 2021-05-25"
    ]


def test_url_date_is_last_resort():
    item = {"url": "https://kant.kg/2021-05-25/slug/", "dates_raw": {"published": []}}
    normalize_dates(item, NOW)
    assert item["published"] == "2021-05-25T00:00:00+06:00"
    assert item["method"]["published"] == "url"


def test_no_date_anywhere_gives_none():
    item = {"url": "https://kant.kg/o-nas/", "dates_raw": {}}
    normalize_dates(item, NOW)
    assert item["published"] is None and item["published_utc"] is None
    assert "published" not in item["method"]


def test_date_without_time_gives_way_to_same_day_with_time():
    item = {
        "url": "https://kant.kg/2021-05-25/slug/",
        "dates_raw": {
            "published": [
                ["jsonld", "2021-05-25"],
                ["site", "25.05.2021"],
                ["generic", "25 мая 2021, 10:41"],
            ]
        },
    }
    normalize_dates(item, NOW)
    assert item["published"] == "2021-05-25T10:41:00+06:00"
    assert item["method"]["published"] == "generic"
    assert item["date_warnings"] == []


def test_layers_that_disagree_are_recorded_best_layer_wins():
    item = {
        "url": "https://kant.kg/2021-05-25/slug/",
        "dates_raw": {
            "published": [
                ["jsonld", "2021-05-25T10:41:23+06:00"],
                ["meta", "2021-05-25T04:41:23+00:00"],
                ["generic", "24 мая 2021, 18:00"],
            ]
        },
    }
    normalize_dates(item, NOW)
    assert item["published"] == "2021-05-25T10:41:23+06:00"
    assert item["date_warnings"] == [
        "published 2021-05-25 (jsonld) disagrees with 2021-05-24 (generic)"
    ]


def test_relative_dates_resolve_against_the_fetch_time():
    item = {
        "url": "https://kant.kg/2026-11-24/slug/",
        "dates_raw": {"published": [["generic", "вчера в 23:05"]]},
    }
    normalize_dates(item, datetime(2026, 11, 25, 6, 0, tzinfo=UTC))
    assert item["published"] == "2026-11-24T23:05:00+06:00"
    assert item["date_warnings"] == []


@pytest.mark.parametrize(
    ("candidates", "url", "settled"),
    [
        # two layers agree on the day, the first with a time: the text cannot change it
        (
            [["jsonld", "2021-05-25T10:41:00+06:00"], ["meta", "2021-05-25T04:41:00Z"]],
            "https://kant.kg/slug/",
            True,
        ),
        # one layer, confirmed by the URL date
        ([["meta", "2021-05-25T10:41:00+06:00"]], "https://kant.kg/2021-05-25/slug/", True),
        # one layer and nothing to confirm it: read the text as a cross-check
        ([["meta", "2021-05-25T10:41:00+06:00"]], "https://kant.kg/slug/", False),
        # no time of day: a visible «25 мая 2021, 10:41» could still add it
        (
            [["jsonld", "2021-05-25"], ["meta", "2021-05-25"]],
            "https://kant.kg/2021-05-25/s/",
            False,
        ),
        # two layers disagree: a third opinion is wanted
        (
            [["jsonld", "2021-05-25T10:41:00+06:00"], ["meta", "2021-05-24T10:41:00+06:00"]],
            "https://kant.kg/2021-05-25/slug/",
            False,
        ),
        ([["site", "не дата"]], "https://kant.kg/2021-05-25/slug/", False),
        ([], "https://kant.kg/2021-05-25/slug/", False),
    ],
)
def test_when_the_date_is_settled_without_the_visible_text(candidates, url, settled):
    assert settled_without_text(candidates, url) is settled


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("2026-11-26T11:59:00+06:00", True),  # within a day after the fetch (12:00 there)
        ("2026-11-26T12:01:00+06:00", False),  # past it
        ("2099-05-25T10:41:00+06:00", False),
        ("1990-01-01T00:00:00+06:00", True),
        ("1989-12-31T23:59:00+06:00", False),
        ("0001-01-01T00:00:00+14:00", False),  # (Bishkek's time of it is before year 1)
        ("9999-12-31T23:00:00-10:00", False),  # (and this one after 9999)
    ],
)
def test_page_dates_outside_1990_to_a_day_after_the_fetch_are_warned_of(text, kept):
    item = {
        "url": "https://kant.kg/slug/",
        "dates_raw": {
            "published": [["jsonld", text], ["meta", "2021-05-25T10:41:00+06:00"]],
            "modified": [["meta", text]],
        },
    }
    normalize_dates(item, NOW)
    if kept:
        assert item["published"] == text and item["modified"] == text
    else:
        assert item["published"] == "2021-05-25T10:41:00+06:00"
        assert item["method"]["published"] == "meta" and item["modified"] is None
        day = text[:10]
        assert item["date_warnings"] == [
            f"published {day} (jsonld) is outside 1990-01-01..2026-11-26: ignored",
            f"modified {day} (meta) is outside 1990-01-01..2026-11-26: ignored",
        ]


def test_a_url_date_after_the_fetch_is_no_publication_date():
    item = {"url": "https://kant.kg/2026-11-27/slug/", "dates_raw": {"published": []}}
    normalize_dates(item, NOW)
    assert item["published"] is None
    assert item["date_warnings"] == [
        "URL date 2026-11-27 is outside 1990-01-01..2026-11-26: ignored"
    ]
