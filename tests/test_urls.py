"""URL identity and which URLs a crawl may fetch (kantkg.urls)."""

from __future__ import annotations

import pytest

from kantkg.urls import article_url, is_fetchable, without_credentials

BASE = "http://127.0.0.1:8000"
ONE = "http://127.0.0.1:8000/2021-05-25/vstrecha/"


@pytest.mark.parametrize(
    "variant",
    [
        ONE,
        ONE + "?utm_campaign=z",
        ONE + "?a=1",
        ONE + "?a=2",
        ONE[:-1],
        ONE + "#comments",
        "HTTP://127.0.0.1:8000/2021-05-25/vstrecha/",
        "http://www.127.0.0.1:8000/2021-05-25/vstrecha",
        "http://user:secret@127.0.0.1:8000/2021-05-25/vstrecha/",
    ],
)
def test_every_spelling_of_an_article_url_is_one(variant):
    assert article_url(variant, BASE) == ONE


def test_the_base_urls_scheme_and_host_are_the_spelling():
    base = "https://kant.kg"
    assert article_url("http://www.kant.kg/2021-05-25/x", base) == "https://kant.kg/2021-05-25/x/"
    assert (
        article_url("https://kant.kg:443/2021-05-25/%D0%BF/")
        == "https://kant.kg/2021-05-25/%d0%bf/"
    )


def test_text_that_is_no_url_names_no_article_and_raises_nothing():
    assert article_url(" http://[::1 ", BASE) == "http://[::1"


def test_other_sites_and_pages_keep_their_own_form():
    assert article_url("https://Other.example/a?b=1") == "https://other.example/a"
    assert article_url("https://kant.kg/about", "https://kant.kg") == "https://kant.kg/about"


@pytest.mark.parametrize(
    "url, ok",
    [
        (ONE, True),
        ("http://www.127.0.0.1:8000/sitemap.xml", True),
        ("http://127.0.0.1:8001/2021-05-25/vstrecha/", False),  # same host, other port
        ("https://127.0.0.1:8000/x", True),
        ("file:///dev/zero", False),
        ("ftp://127.0.0.1:8000/sitemap.xml", False),
        ("data:text/xml,<urlset/>", False),
        ("http://[::1", False),
        ("http://127.0.0.1:port/", False),
        ("http://evil.example/", False),
    ],
)
def test_only_http_of_the_crawled_host_and_port_is_fetchable(url, ok):
    assert is_fetchable(url, BASE) is ok


def test_credentials_are_removed():
    assert without_credentials("https://u:p@kant.kg/x?q=1") == "https://kant.kg/x?q=1"
    assert without_credentials("https://kant.kg/x") == "https://kant.kg/x"


def test_basic_auth_from_the_urls_credentials():
    from kantkg.urls import basic_auth

    assert basic_auth("https://kant.kg/") is None
    assert basic_auth("https://us%40er:p%3Aw@kant.kg/") == "Basic dXNAZXI6cDp3"  # us@er:p:w


def test_credentials_are_redacted_from_any_log_message():
    import logging

    from kantkg.urls import redact_credentials, redact_credentials_in_logs

    assert (
        redact_credentials("GET http://u:pw@h:1/x and ftp://a@b/")
        == "GET http://***@h:1/x and ftp://***@b/"
    )
    redact_credentials_in_logs()
    record = logging.getLogger("any").makeRecord(
        "any", logging.INFO, __file__, 1, "settings %s", ({"URL": "https://u:pw@kant.kg"},), None
    )
    assert "pw" not in record.getMessage() and "***@kant.kg" in record.getMessage()


def test_a_password_goes_to_the_base_urls_own_origin_only():
    from kantkg.urls import same_origin

    base = "https://u:pw@kant.kg"
    assert same_origin("https://kant.kg/2021-05-25/x/", base)
    assert same_origin("https://KANT.kg:443/x", base)
    assert not same_origin("http://kant.kg/x", base)
    assert not same_origin("https://www.kant.kg/x", base)
    assert not same_origin("https://kant.kg:8443/x", base)
